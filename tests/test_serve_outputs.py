"""Results of any size: outputs too large for one reply reach the client as resources, read part by part."""

from __future__ import annotations

import json
from typing import Any

import mcp_types
import pytest
import trio
import trio.testing
from mcp import Client, MCPError

from dagexec import LocalTools
from dagexec.serve import Gateway
from dagexec.serve._outputs import OutputStore

SMALL = 1000
LARGE = 600_000  # a reply over its limit (512 KiB); parts of at most 128 Ki characters: five of them


async def text(n: int) -> dict[str, Any]:
    return {"text": "x" * n}


async def _read(client: Client, uris: list[str]) -> str:
    texts = []
    for uri in uris:
        contents = (await client.read_resource(uri)).contents
        assert len(contents) == 1 and isinstance(contents[0], mcp_types.TextResourceContents)
        texts.append(contents[0].text)
    return "".join(texts)


def _gateway() -> Gateway:
    return Gateway({"t": LocalTools({"text": text})})


async def test_a_small_reply_carries_every_output_as_before() -> None:
    plan = {"tasks": [{"id": "a", "tool": "t:text", "arguments": {"n": SMALL}}]}
    async with Client(_gateway().server) as client:
        result = await client.call_tool("run_workflow", plan)
    assert result.structured_content is not None
    assert result.structured_content["results"][0]["output"] == {"text": "x" * SMALL}
    assert [block.type for block in result.content] == ["text", "text"]


async def test_a_large_reply_carries_statuses_and_links_and_each_output_is_read_in_parts() -> None:
    plan = {
        "tasks": [
            {"id": "big", "tool": "t:text", "arguments": {"n": LARGE}},
            {"id": "small", "tool": "t:text", "arguments": {"n": SMALL}},
        ]
    }
    async with Client(_gateway().server) as client:
        result = await client.call_tool("run_workflow", plan)
        assert result.structured_content is not None
        tasks = {task["task_id"]: task for task in result.structured_content["results"]}
        assert [tasks[t]["status"] for t in ("big", "small")] == ["success", "success"]
        assert tasks["big"]["output"] is None and len(tasks["big"]["output_parts"]) == 5
        assert len(tasks["small"]["output_parts"]) == 1
        links = [block for block in result.content if isinstance(block, mcp_types.ResourceLink)]
        assert [link.uri for link in links] == tasks["big"]["output_parts"] + tasks["small"]["output_parts"]
        assert [link.name for link in links][:2] == [
            "the output of task 'big' (part 1 of 5)",
            "the output of task 'big' (part 2 of 5)",
        ]
        assert json.loads(await _read(client, tasks["big"]["output_parts"])) == {"text": "x" * LARGE}
        assert json.loads(await _read(client, tasks["small"]["output_parts"])) == {"text": "x" * SMALL}
        with pytest.raises(MCPError) as caught:
            await client.read_resource("dagexec://outputs/nope/1")
        assert caught.value.code == -32002


async def test_outputs_are_dropped_after_an_hour(autojump_clock: trio.testing.MockClock) -> None:
    plan = {"tasks": [{"id": "big", "tool": "t:text", "arguments": {"n": LARGE}}]}
    async with Client(_gateway().server) as client:
        result = await client.call_tool("run_workflow", plan)
        assert result.structured_content is not None
        parts = result.structured_content["results"][0]["output_parts"]
        await trio.sleep(3599)
        assert json.loads(await _read(client, parts)) == {"text": "x" * LARGE}
        await trio.sleep(2)
        with pytest.raises(MCPError, match=r"^no output 'dagexec://outputs/.*/1' \(outputs are kept 3600 s\)$"):
            await client.read_resource(parts[0])


def _text_of(store: OutputStore, uri: str) -> str:
    content = store.read(uri).contents[0]
    assert isinstance(content, mcp_types.TextResourceContents)
    return content.text


def test_the_oldest_outputs_make_room_once_the_bytes_kept_would_pass_the_bound() -> None:
    async def main() -> None:
        store = OutputStore(max_kept=250)
        first, second = store.put("a" * 100, "first"), store.put("b" * 100, "second")
        third = store.put("c" * 100, "third")  # 300 bytes would pass 250: the first goes
        with pytest.raises(MCPError) as caught:
            store.read(first[0].uri)
        assert caught.value.code == -32002
        assert [_text_of(store, link.uri) for link in (*second, *third)] == ["b" * 100, "c" * 100]
        huge = store.put("d" * 1000, "huge")  # larger than the bound alone: every other output goes, it stays
        assert _text_of(store, huge[0].uri) == "d" * 1000
        for link in (*second, *third):
            with pytest.raises(MCPError):
                store.read(link.uri)
        store.close()

    trio.run(main)


class ListedTools(LocalTools):
    def __init__(self, tools: dict[str, Any]) -> None:
        super().__init__(tools)
        self.tool_names = frozenset(tools)


async def test_a_direct_call_with_a_large_output_links_its_parts() -> None:
    gateway = Gateway({"t": ListedTools({"text": text})})
    async with Client(gateway.server) as client:
        result = await client.call_tool("t__text", {"n": LARGE})
        links = [block for block in result.content if isinstance(block, mcp_types.ResourceLink)]
        assert len(links) == 5 and result.structured_content is None
        assert json.loads(await _read(client, [link.uri for link in links])) == {"text": "x" * LARGE}


async def test_a_tool_whose_schema_is_too_large_to_list_is_listed_without_it_and_stays_callable(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from dagexec.mcp import MCPToolServer

    huge = {"type": "object", "properties": {f"p{i}": {"type": "string"} for i in range(5000)}}
    small = {"type": "object", "properties": {"n": {"type": "integer"}}}
    tools = [mcp_types.Tool(name="wide", input_schema=huge), mcp_types.Tool(name="narrow", input_schema=small)]
    size = len(json.dumps(huge))
    with caplog.at_level("WARNING", logger="dagexec.serve"):
        gateway = Gateway({"s": MCPToolServer("s", None, tools)})  # type: ignore[arg-type]  # never called
    listed = {tool.name: tool for tool in gateway.tools}
    assert listed["s__wide"].input_schema == {"type": "object"}
    assert listed["s__wide"].description == (
        f"s:wide through dagexec (its input schema, {size} bytes, is too large to list; calls go through as before)"
    )
    assert listed["s__narrow"].input_schema == small
    assert caplog.messages == [
        f"tool s:wide is listed without its input schema ({size} bytes, over 65536): it stays callable"
    ]


def test_old_outputs_go_from_the_oldest_and_the_newer_stay() -> None:
    async def main() -> None:
        store = OutputStore(keep=10.0)
        early = [store.put("x", f"early {i}") for i in range(1_000)]
        await trio.sleep(5)
        later = [store.put("y", f"later {i}") for i in range(1_000)]
        await trio.sleep(6)  # 11 s after the early ones, 6 s after the later ones
        store.put("z", "now")
        for links in (early[0], early[-1]):
            with pytest.raises(MCPError):
                store.read(links[0].uri)
        assert [_text_of(store, links[0].uri) for links in (later[0], later[-1])] == ["y", "y"]
        store.close()

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
