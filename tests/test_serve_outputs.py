"""Results of any size: outputs too large for one reply reach the client as resources, read part by part."""

from __future__ import annotations

import errno
import json
from collections.abc import Iterable
from typing import Any

import mcp_types
import pytest
import trio
import trio.testing
from mcp import Client, MCPError

from dagexec import LocalTools
from dagexec.serve import Gateway
from dagexec.serve._outputs import OutputFile, OutputStore
from dagexec.serve._results import LINKS_SHOWN, LISTED

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


async def test_a_reply_of_many_outputs_links_the_first_and_lists_every_part() -> None:
    plan = {"tasks": [{"id": f"t{i}", "tool": "t:text", "arguments": {"n": 5000}} for i in range(150)]}
    async with Client(_gateway().server) as client:
        result = await client.call_tool("run_workflow", plan)
        assert result.structured_content is not None
        tasks = result.structured_content["results"]
        assert [len(task["output_parts"]) for task in tasks] == [1] * 150
        links = [block for block in result.content if isinstance(block, mcp_types.ResourceLink)]
        assert [link.uri for link in links] == [task["output_parts"][0] for task in tasks[:LINKS_SHOWN]]
        assert "150 parts, each task's output_parts; the first 100 are linked here" in result.content[0].text
        assert json.loads(await _read(client, tasks[-1]["output_parts"])) == {"text": "x" * 5000}


async def test_outputs_that_cannot_be_kept_leave_the_statuses_and_say_why(monkeypatch: pytest.MonkeyPatch) -> None:
    add = OutputFile.add

    def full_after_the_first(self: OutputFile, pieces: Iterable[str]) -> int:
        if len(self.starts) > 1:  # the disk fills after the first output is written
            raise OSError(errno.ENOSPC, "No space left on device")
        return add(self, pieces)

    monkeypatch.setattr(OutputFile, "add", full_after_the_first)
    plan = {"tasks": [{"id": f"big{i}", "tool": "t:text", "arguments": {"n": LARGE}} for i in range(2)]}
    async with Client(_gateway().server) as client:
        result = await client.call_tool("run_workflow", plan)
    assert result.structured_content is not None
    tasks = result.structured_content["results"]
    assert [(t["status"], t["output"], "output_parts" in t) for t in tasks] == [("success", None, False)] * 2
    summary = result.content[0]
    assert isinstance(summary, mcp_types.TextContent)
    assert "the outputs could not be kept: [Errno 28]" in summary.text
    plan = {"tasks": [{"id": f"t{i}", "tool": "t:text", "arguments": {"n": 3}} for i in range(3000)]}
    async with Client(_gateway().server) as client:
        result = await client.call_tool("run_workflow", plan)  # even the statuses are too many for a reply
    assert result.structured_content is not None
    assert (result.structured_content["tasks"], result.structured_content["counts"]["success"]) == (3000, 3000)
    assert "run_parts" not in result.structured_content
    summary = result.content[0]
    assert isinstance(summary, mcp_types.TextContent)
    assert "the run's data could not be kept: [Errno 28]" in summary.text


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


async def _put(store: OutputStore, outputs: list[Any]) -> list[list[str]]:
    """Keep each output's JSON (None: none) as ``store`` does a reply's; the URIs of each one's parts."""

    def write(file: OutputFile) -> list[list[str]]:
        return [file.uris(n, file.add([] if out is None else [json.dumps(out)])) for n, out in enumerate(outputs)]

    return await store.put(write)


def test_the_oldest_outputs_make_room_once_the_bytes_kept_would_pass_the_bound() -> None:
    async def main() -> None:
        store = OutputStore(max_kept=250)
        a, b, c = ("a" * 98, "b" * 98, "c" * 98)  # 100 bytes of JSON each
        [first], [second] = await _put(store, [a]), await _put(store, [b])
        [third] = await _put(store, [c])  # 300 bytes would pass 250: the first goes
        with pytest.raises(MCPError) as caught:
            store.read(first[0])
        assert caught.value.code == -32002
        assert [_text_of(store, uri) for uri in (*second, *third)] == [json.dumps(b), json.dumps(c)]
        [huge] = await _put(store, ["d" * 998])  # larger than the bound alone: every other output goes, it stays
        assert _text_of(store, huge[0]) == json.dumps("d" * 998)
        for uri in (*second, *third):
            with pytest.raises(MCPError):
                store.read(uri)
        store.close()

    trio.run(main)


def test_each_output_of_a_reply_is_read_in_parts_from_one_file() -> None:
    async def main() -> None:
        store = OutputStore()
        outputs = [{"text": "é" * 100_000}, None, "small", ["x" * 300_000]]
        parts = await _put(store, outputs)
        assert [len(uris) for uris in parts] == [5, 0, 1, 3]  # é is written \u00e9: 6 characters
        assert [json.loads("".join(_text_of(store, uri) for uri in uris)) for uris in parts if uris] == [
            outputs[0],
            outputs[2],
            outputs[3],
        ]
        assert all(len(_text_of(store, uri)) <= 128 * 1024 for uris in parts for uri in uris)
        reply = parts[0][0].rsplit("/", 2)[0]
        for missing in (f"{reply}/1/1", f"{reply}/0/6", f"{reply}/4/1", f"{reply}/0/0", f"{reply}/00/1"):
            with pytest.raises(MCPError):
                store.read(missing)
        store.close()
        with pytest.raises(MCPError):
            store.read(parts[0][0])

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
        early = [(await _put(store, ["x"]))[0][0] for i in range(200)]
        await trio.sleep(5)
        later = [(await _put(store, ["y"]))[0][0] for i in range(200)]
        await trio.sleep(6)  # 11 s after the early ones, 6 s after the later ones
        await _put(store, ["z"])
        for uri in (early[0], early[-1]):
            with pytest.raises(MCPError):
                store.read(uri)
        assert [_text_of(store, uri) for uri in (later[0], later[-1])] == ['"y"', '"y"']
        store.close()

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))


async def test_a_run_whose_statuses_alone_are_too_many_for_a_reply_is_kept_whole_as_resources() -> None:
    async def fail() -> None:
        raise RuntimeError("no luck " + "x" * 1000)

    tasks: list[dict[str, Any]] = [{"id": f"t{i}", "tool": "t:text", "arguments": {"n": 3}} for i in range(3000)]
    tasks += [{"id": f"f{i}", "tool": "t:fail"} for i in range(30)]
    gateway = Gateway({"t": LocalTools({"text": text, "fail": fail})})
    async with Client(gateway.server) as client:
        result = await client.call_tool("run_workflow", {"tasks": tasks})
        data = result.structured_content
        assert data is not None
        counts = data["counts"]
        assert (data["tasks"], data["ok"], counts["success"], counts["error"]) == (3030, False, 3000, 30)
        assert [task["task_id"] for task in data["not_succeeded"]] == [f"f{i}" for i in range(LISTED)]
        assert data["not_succeeded"][0]["error"]["message"].endswith("more characters⟩")
        links = [block for block in result.content if isinstance(block, mcp_types.ResourceLink)]
        assert [link.uri for link in links] == data["run_parts"][:LINKS_SHOWN]
        summary = result.content[0]
        assert isinstance(summary, mcp_types.TextContent)
        assert f"and {30 - LISTED} more tasks that did not succeed" in summary.text
        assert len(summary.text) < 20_000
        run = json.loads(await _read(client, data["run_parts"]))  # the whole run's data, as a small reply has it
        assert [task["task_id"] for task in run["results"]] == [task["id"] for task in tasks]
        assert run["counts"] == data["counts"] and run["errors"] == [f"f{i}" for i in range(30)]
        assert {task["output"] for task in run["results"]} == {None}
        last = run["results"][2999]
        assert json.loads(await _read(client, last["output_parts"])) == {"text": "xxx"}
        assert "output_parts" not in run["results"][3000]
        assert run["results"][3000]["error"]["message"] == "RuntimeError: no luck " + "x" * 1000


# The SDK's streamable HTTP client leaves its SSE readers to the garbage collector when it closes, and trio's
# finalizer reports each as unraisable: the client's, not the gateway's (as in test_serve's HTTP test).
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_large_answers_reach_the_sdk_http_client_whose_events_are_limited_to_1_mib() -> None:
    """Over streamable HTTP, the SDK's client refuses an event over 1 MiB: a plan's answer must fit, whatever its size.

    20 outputs of 100,000 characters (the answer whole would be 4 MB): the outputs kept; 3,000 tasks (their
    statuses alone some 800 KB): the run kept. Both arrive, and read back whole.
    """
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    from .test_serve_sessions import HOST, PORT, lifespan

    app = _gateway().http_app(HOST, PORT)
    async with (
        lifespan(app),
        httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url=f"http://{HOST}:{PORT}") as http,
        Client(streamable_http_client(f"http://{HOST}:{PORT}/mcp", http_client=http), mode="legacy") as client,
    ):
        big = {"tasks": [{"id": f"b{i}", "tool": "t:text", "arguments": {"n": 100_000}} for i in range(20)]}
        outputs = await client.call_tool("run_workflow", big)
        assert outputs.structured_content is not None
        for task in outputs.structured_content["results"]:
            assert json.loads(await _read(client, task["output_parts"])) == {"text": "x" * 100_000}
        many = {"tasks": [{"id": f"t{i}", "tool": "t:text", "arguments": {"n": 3}} for i in range(3000)]}
        run = await client.call_tool("run_workflow", many)
        assert run.structured_content is not None and run.structured_content["tasks"] == 3000
        data = json.loads(await _read(client, run.structured_content["run_parts"]))
        assert [task["status"] for task in data["results"]] == ["success"] * 3000


async def test_tools_list_comes_in_pages_that_each_fit_a_message_and_descriptions_are_bounded() -> None:
    """1,000 downstream tools of 10 KB descriptions and 2 KB schemas: some 12 MB listed whole, which no client reads."""
    from dagexec.mcp import MCPToolServer
    from dagexec.serve._outputs import REPLY_LIMIT
    from dagexec.serve._surface import DESCRIPTION_LIMIT, TOOL_LIST_LIMIT

    schema = {"type": "object", "properties": {f"p{i}": {"type": "string"} for i in range(80)}}
    tools = [
        mcp_types.Tool(name=f"tool{i}", description=f"tool {i} " + "d" * 10_000, input_schema=schema)
        for i in range(1000)
    ]
    gateway = Gateway({"s": MCPToolServer("s", None, tools)})  # type: ignore[arg-type]  # never called
    async with Client(gateway.server) as client:
        pages, cursor = [], None
        while True:
            page = await client.list_tools(cursor=cursor)
            pages.append(page)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        with pytest.raises(MCPError) as caught:
            await client.list_tools(cursor="not a page")
    assert caught.value.code == -32602
    assert len(pages) > 10
    assert all(len(page.model_dump_json(by_alias=True, exclude_none=True)) <= REPLY_LIMIT + 100 for page in pages)
    listed = [tool for page in pages for tool in page.tools]
    assert [tool.name for tool in listed] == ["run_workflow", *(f"s__tool{i}" for i in range(1000))]
    proxied = listed[1]
    assert proxied.description is not None and proxied.input_schema == schema
    assert proxied.description.startswith("s:tool0 through dagexec: tool 0 ddd")
    assert proxied.description.endswith(f"…⟨{10_007 - DESCRIPTION_LIMIT:,} more characters⟩")
    about = listed[0].description
    assert about is not None and len(about) < TOOL_LIST_LIMIT + 2_000
    assert about.endswith("more tools, each offered directly too")
