"""A small MCP server for ``dagexec bench``: a tool that sleeps, and two typed tools, over stdio.

Run as ``python -m dagexec.bench.server``; it needs the ``mcp`` extra. The typed
tools (``forecast`` and ``report``) declare input and output schemas, nested
``$defs`` among them: the schema check's part measures its cost on them.
"""

from __future__ import annotations

from typing import Annotated, Literal

import anyio
from mcp.server.mcpserver import MCPServer
from pydantic import BaseModel, Field

server = MCPServer("dagexec-bench", log_level="WARNING")


@server.tool()
async def sleep(seconds: float) -> dict[str, float]:
    """Sleep ``seconds``, then answer with them: a stand-in for an I/O-bound tool."""
    await anyio.sleep(seconds)
    return {"slept": seconds}


class Day(BaseModel):
    date: str
    high: float
    low: float


class Forecast(BaseModel):
    city: str
    unit: Literal["c", "f"]
    days: list[Day]


@server.tool()
def forecast(city: str, days: int = 1, unit: Literal["c", "f"] = "c") -> Forecast:
    """A made-up forecast of ``days`` days for ``city``."""
    return Forecast(city=city, unit=unit, days=[Day(date=f"day {i}", high=20.0, low=10.0) for i in range(days)])


@server.tool()
def report(city: str, high: float, unit: Literal["c", "f"], note: str = "") -> str:
    """A line of a weather report."""
    return f"{city}: {high:g} {unit} {note}".strip()


@server.tool()
def match(text: Annotated[str, Field(pattern=r"^(a+)+$")]) -> str:
    """Echo ``text``: its schema's pattern backtracks exponentially in Python's ``re`` (the hostile part)."""
    return text


if __name__ == "__main__":
    server.run()
