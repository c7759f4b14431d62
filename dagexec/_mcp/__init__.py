"""The MCP client code behind :mod:`dagexec.mcp`, one job per module.

- ``failures``: the one translation of the SDK's failures into dagexec errors, by type
- ``tool_server``: :class:`~dagexec.mcp.MCPToolServer`, a connected server as a tool server
- ``processes``: a stdio server's process tree, stopped whole (psutil)
- ``transports``: stdio, streamable HTTP and SSE, as streams for the SDK's ``Client``
- ``lifecycle``: starting a server, holding its session, and what its end means
"""

from __future__ import annotations

try:
    import anyio  # noqa: F401
    import httpx2  # noqa: F401
    import mcp  # noqa: F401
    import mcp_types  # noqa: F401
    import psutil  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("dagexec.mcp needs the mcp extra: pip install 'dagexec[mcp]'") from exc
