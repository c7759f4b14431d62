"""dagexec as an MCP server: a gateway that runs whole plans of calls to the tools of other servers.

An MCP client (Claude Desktop, Claude Code, the MCP Inspector) sees one server
whose tool ``run_workflow`` takes a plan of calls to the downstream servers'
tools, and gives every result back in the time of the plan's critical path,
instead of a model round trip per call. Each downstream tool is offered
directly too, as ``{server}__{tool}``. ``dagexec serve`` (the
command line) starts the downstream servers of an ``mcpServers`` config and
serves a :class:`Gateway` over stdio. Install with the ``mcp`` extra.

Example::

    async with open_gateway("servers.json", server_limits={"files": 2}) as gateway:
        await gateway.serve_stdio()

The package's modules, one job each: ``_surface`` (the tools offered and their
names), ``_gateway`` (the :class:`Gateway`: plans, direct calls, approvals),
``_results`` (what the tools answer), ``_stdio`` and ``_http`` (the
transports, HTTP with who may call), ``_supervise`` (the downstream servers,
started again when they die).
"""

from __future__ import annotations

try:
    import anyio  # noqa: F401
    import mcp  # noqa: F401
    import mcp_types  # noqa: F401

    from .. import mcp as _mcp  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("dagexec.serve needs the mcp extra: pip install 'dagexec[mcp]'") from exc

from ._gateway import CHECK_IN_LOOP as CHECK_IN_LOOP
from ._gateway import Gateway as Gateway
from ._gateway import Progress as Progress
from ._gateway import open_gateway as open_gateway
from ._http import is_loopback as is_loopback
from ._supervise import RestartingServer as RestartingServer
from ._surface import RUN_WORKFLOW as RUN_WORKFLOW
from ._surface import describe_tools as describe_tools
from ._surface import proxy_names as proxy_names

__all__ = [
    "RUN_WORKFLOW",
    "Gateway",
    "Progress",
    "RestartingServer",
    "describe_tools",
    "is_loopback",
    "open_gateway",
    "proxy_names",
]
