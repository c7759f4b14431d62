"""An MCP server written for the tests with the SDK, whose tools declare nested schemas.

Its input and output schemas hold ``$defs`` (a ``Box`` of two ``Point``), an
enum, and one tool without an output schema. Run over stdio: ``python typed.py``.
"""

from __future__ import annotations

import json
from typing import Literal

from mcp.server.mcpserver import MCPServer
from pydantic import BaseModel

server = MCPServer("typed", log_level="WARNING")


class Point(BaseModel):
    x: float
    y: float


class Box(BaseModel):
    corner: Point
    size: Point
    label: str = ""


class Area(BaseModel):
    area: float
    unit: Literal["m2", "cm2"]


@server.tool()
def box(label: str, width: float = 2.0, height: float = 3.0) -> Box:
    """A box at the origin."""
    return Box(corner=Point(x=0, y=0), size=Point(x=width, y=height), label=label)


@server.tool()
def area(box: Box, unit: Literal["m2", "cm2"] = "m2") -> Area:
    """The area of a box, in square metres or square centimetres."""
    value = box.size.x * box.size.y
    return Area(area=value * 10_000 if unit == "cm2" else value, unit=unit)


@server.tool()
def scale(box: Box, factor: float) -> Box:
    """The box, its size times ``factor``."""
    return Box(corner=box.corner, size=Point(x=box.size.x * factor, y=box.size.y * factor), label=box.label)


@server.tool()
def untyped(value: str):  # type: ignore[no-untyped-def]  # no return annotation: no output schema
    """Answer ``{"value": value}`` as JSON text: nothing says what it holds."""
    return json.dumps({"value": value})


@server.tool()
def mark(path: str, size: float) -> str:
    """Create the file ``path``: proof that the call happened."""
    with open(path, "w") as marker:
        marker.write(str(size))
    return path


if __name__ == "__main__":
    server.run()
