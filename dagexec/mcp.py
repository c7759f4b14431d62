"""Real MCP servers as dagexec tool servers, through the official ``mcp`` SDK.

Install with the ``mcp`` extra (``pip install 'dagexec[mcp]'``). The SDK runs on
trio through anyio, so its sessions live in the same event loop as the run.

:func:`~dagexec.servers.open_servers` starts the ``command`` and ``url`` entries
of a servers config here, each as an :class:`MCPToolServer`. The config, its
loading and ``open_servers`` live in :mod:`dagexec.servers` (this module still
re-exports the config classes and their errors under their former names), and
this module imports nothing from it. The code behind it lives in ``dagexec._mcp``,
one job per module: the transports, the server's lifecycle and processes, and
the one translation of the SDK's failures into dagexec errors.

Example::

    from dagexec.servers import open_servers

    async with open_servers("servers.json") as servers:
        result = await EagerExecutor(servers).execute(workflow)
"""

from __future__ import annotations

from ._config import DaskServerConfig as DaskServerConfig
from ._config import HttpServerConfig as HttpServerConfig
from ._config import LocalClusterConfig as LocalClusterConfig
from ._config import ServerConfig as ServerConfig
from ._config import StdioServerConfig as StdioServerConfig
from ._errors import ServerConfigError as ServerConfigError
from ._errors import ServerStartError as ServerStartError
from ._mcp.tool_server import MCPToolServer as MCPToolServer

__all__ = [
    "DaskServerConfig",
    "HttpServerConfig",
    "LocalClusterConfig",
    "MCPToolServer",
    "ServerConfigError",
    "ServerStartError",
    "StdioServerConfig",
]
