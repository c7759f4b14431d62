"""Tracing: a run and its tasks as OpenTelemetry spans, down to the MCP SDK's own span of each call.

Spans are read back from the OpenTelemetry SDK's in-memory exporter (in virtual
time, where timing matters), from a real MCP server, and, for ``--otel``, from an
OTLP/HTTP endpoint the test starts.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import trio
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NoOpTracerProvider, SpanKind, StatusCode
from opentelemetry.util._once import Once

from dagexec import EagerExecutor, LayeredExecutor, LocalTools, Task, TaskStatus
from dagexec._tracing import tracer_for
from dagexec.servers import open_servers

from .helpers import ENV, EXAMPLES, SIM, sleep, t, toolbox, wf, write

Spans = InMemorySpanExporter


@pytest.fixture
def exporter() -> Spans:
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter: Spans) -> TracerProvider:
    """A tracer provider of the test's own, passed to the executor."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


class _Switched(SpanExporter):
    """Hands spans to ``target`` only while ``on``: the global provider outlives its test."""

    def __init__(self) -> None:
        self.target = InMemorySpanExporter()
        self.on = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self.target.export(spans) if self.on else SpanExportResult.SUCCESS


_GLOBAL: tuple[TracerProvider, _Switched] | None = None


def _reset_global_provider() -> None:
    # As OpenTelemetry's own test utilities do: the API lets a process set its provider once.
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace._TRACER_PROVIDER = None


@pytest.fixture
def global_exporter() -> Iterator[Spans]:
    """The SDK as the global tracer provider, as an application sets it up, for this test only.

    One provider serves every test that asks: the ``mcp`` SDK's tracer keeps the
    first global provider it finds.
    """
    global _GLOBAL
    if _GLOBAL is None:
        provider, switched = TracerProvider(), _Switched()
        provider.add_span_processor(SimpleSpanProcessor(switched))
        _GLOBAL = provider, switched
    provider, switched = _GLOBAL
    _reset_global_provider()
    trace.set_tracer_provider(provider)
    switched.target.clear()
    switched.on = True
    try:
        yield switched.target
    finally:
        switched.on = False
        _reset_global_provider()


def by_task(spans: Sequence[ReadableSpan]) -> tuple[ReadableSpan, dict[str, ReadableSpan]]:
    """The run's span, and each task's span by task id; checks there is one of each."""
    runs = [s for s in spans if s.name == "dagexec run"]
    assert len(runs) == 1, [s.name for s in spans]
    tasks = {
        str(s.attributes["gen_ai.tool.call.id"]): s
        for s in spans
        if s.attributes and "gen_ai.tool.call.id" in s.attributes
    }
    assert len(tasks) == len(spans) - 1, [s.name for s in spans]
    return runs[0], tasks


def at(span: ReadableSpan, run: ReadableSpan) -> tuple[float, float]:
    """A span's start and end, in seconds since the run's span started."""
    assert span.start_time is not None and span.end_time is not None and run.start_time is not None
    return round((span.start_time - run.start_time) / 1e9, 6), round((span.end_time - run.start_time) / 1e9, 6)


def events(span: ReadableSpan, run: ReadableSpan) -> list[tuple[str, float, dict[str, Any]]]:
    """A span's events: name, seconds since the run's span started, attributes."""
    assert run.start_time is not None
    return [(e.name, round((e.timestamp - run.start_time) / 1e9, 6), dict(e.attributes or {})) for e in span.events]


def parent_id(span: ReadableSpan) -> int | None:
    return None if span.parent is None else span.parent.span_id


def span_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return span.context.span_id


def trace_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return span.context.trace_id


# -- the span tree ----------------------------------------------------------------------------

# a, then b and c (which fails), then d (skipped); e beside them all.
TREE = wf(
    t("a", 1.0),
    t("b", 2.0, "a"),
    t("c", 1.0, "a", arguments={"fail": True}),
    t("d", 1.0, "c"),
    t("e", 2.5),
)

# Each task's span (start, end) in seconds from the run's start, per strategy.
TREE_TIMES = {
    "eager": {"a": (0, 1), "b": (1, 3), "c": (1, 2), "d": (2, 2), "e": (0, 2.5), "run": (0, 3)},
    "layered": {"a": (0, 1), "b": (2.5, 4.5), "c": (2.5, 3.5), "d": (3.5, 3.5), "e": (0, 2.5), "run": (0, 4.5)},
}


@pytest.mark.parametrize("executor", [EagerExecutor, LayeredExecutor])
async def test_the_span_tree_mirrors_the_run(
    executor: type[EagerExecutor], provider: TracerProvider, exporter: Spans, autojump_clock: trio.testing.MockClock
) -> None:
    result = await executor(SIM, tracer_provider=provider).execute(TREE)
    run, tasks = by_task(exporter.get_finished_spans())
    strategy = result.strategy
    times = TREE_TIMES[strategy]
    # One trace; every task's parent is the run, not the task that made it ready.
    assert parent_id(run) is None
    assert {tid: parent_id(s) for tid, s in tasks.items()} == dict.fromkeys("abcde", span_id(run))
    assert {trace_id(s) for s in tasks.values()} == {trace_id(run)}
    assert {tid: at(s, run) for tid, s in tasks.items()} == {tid: times[tid] for tid in "abcde"}
    assert at(run, run) == times["run"]
    # A task's span begins when it may start: never before its dependencies' spans end.
    assert at(tasks["b"], run)[0] >= at(tasks["a"], run)[1]
    assert at(tasks["d"], run)[0] >= at(tasks["c"], run)[1]
    assert tasks["a"].name == "execute_tool sleep" and tasks["a"].kind is SpanKind.INTERNAL
    assert dict(tasks["a"].attributes or {}) == {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "sleep",
        "gen_ai.tool.call.id": "a",
        "dagexec.server": "sim",
        "dagexec.status": "success",
        "dagexec.attempts": 1,
    }
    assert tasks["a"].status.status_code is StatusCode.UNSET
    assert dict(tasks["c"].attributes or {}) == {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "sleep",
        "gen_ai.tool.call.id": "c",
        "dagexec.server": "sim",
        "dagexec.status": "error",
        "dagexec.attempts": 1,
        "error.type": "tool_error",
    }
    assert (tasks["c"].status.status_code, tasks["c"].status.description) == (
        StatusCode.ERROR,
        "RuntimeError: failed after 1.0",
    )
    # The task that never began: a span of no length, without the execute_tool operation.
    assert tasks["d"].name == "not_run sleep"
    assert dict(tasks["d"].attributes or {}) == {
        "gen_ai.tool.name": "sleep",
        "gen_ai.tool.call.id": "d",
        "dagexec.cause": "c",
        "dagexec.status": "skipped",
        "dagexec.attempts": 0,
        "error.type": "dependency_failed",
        "dagexec.error.message": "depends on 'c', which ended error (tool_error)",
    }
    assert tasks["d"].status.status_code is StatusCode.UNSET
    assert {tid: [name for name, _, _ in events(s, run)] for tid, s in tasks.items()} == {
        **{tid: ["dagexec.call"] for tid in "abce"},
        "d": [],
    }
    assert dict(run.attributes or {}) == {
        "dagexec.strategy": strategy,
        "dagexec.run.name": "default",
        "dagexec.tasks": 5,
        "dagexec.wall_time": pytest.approx(times["run"][1]),
        "dagexec.tasks.success": 3,
        "dagexec.tasks.error": 1,
        "dagexec.tasks.skipped": 1,
        "dagexec.tasks.cancelled": 0,
        "dagexec.critical_path": ("a", "b"),
        "dagexec.critical_path.tasks": 2,
        "dagexec.critical_path.time": pytest.approx(3.0),
        "dagexec.failed": ("c",),
    }
    assert (run.status.status_code, run.status.description) == (StatusCode.ERROR, "1 of 5 tasks failed")
    assert result["c"].status is TaskStatus.ERROR


async def test_every_skipped_task_of_a_1000_task_plan_is_in_the_trace(
    provider: TracerProvider, exporter: Spans, autojump_clock: trio.testing.MockClock
) -> None:
    plan = wf(t("t0", 1.0, arguments={"fail": True}), *(t(f"t{i}", 1.0, f"t{i - 1}") for i in range(1, 1000)))
    result = await EagerExecutor(SIM, tracer_provider=provider).execute(plan)
    run, tasks = by_task(exporter.get_finished_spans())
    assert len(tasks) == 1000
    assert {parent_id(s) for s in tasks.values()} == {span_id(run)}
    assert tasks["t0"].status.status_code is StatusCode.ERROR
    skipped = [s for tid, s in tasks.items() if tid != "t0"]
    assert {(s.name, s.attributes["dagexec.status"], s.attributes["dagexec.cause"]) for s in skipped} == {  # type: ignore[index]
        ("not_run sleep", "skipped", "t0")
    }
    assert {at(s, run) for s in skipped} == {(1.0, 1.0)}
    attributes = run.attributes or {}
    assert (attributes["dagexec.tasks.skipped"], attributes["dagexec.failed"]) == (999, ("t0",))
    assert [r.status for r in result.results].count(TaskStatus.SKIPPED) == 999


# -- waits, retries and approval ----------------------------------------------------------------


async def test_waits_for_a_slot_retries_and_approval_are_events_of_the_task_span(
    provider: TracerProvider, exporter: Spans, autojump_clock: trio.testing.MockClock
) -> None:
    failed: set[str] = set()

    async def flaky(key: str) -> str:
        await trio.sleep(1)
        if key not in failed:  # the first call fails, the second succeeds
            failed.add(key)
            raise RuntimeError("once")
        return key

    async def approve(task: Task, arguments: dict[str, Any]) -> bool | str:
        await trio.sleep(1.5)
        return True if task.id == "y" else "not today"

    servers = {"sim": LocalTools({"sleep": sleep, "flaky": flaky})}
    executor = EagerExecutor(
        servers,
        max_concurrency=1,
        retries=1,
        retry_delay=1.0,
        retry_jitter=0,
        approve=approve,
        tracer_provider=provider,
    )
    result = await executor.execute(
        wf(
            {"id": "x", "tool": "sim:flaky", "arguments": {"key": "x"}},
            t("y", 1.0, approval=True),
            t("z", 1.0, approval=True),
        )
    )
    run, tasks = by_task(exporter.get_finished_spans())
    assert {tid: events(s, run) for tid, s in tasks.items()} == {
        "x": [
            ("dagexec.slot_wait", 0.0, {}),
            ("dagexec.call", 0.0, {"dagexec.attempt": 1}),
            (
                "dagexec.retry",
                1.0,
                {
                    "dagexec.attempt": 1,
                    "error.type": "tool_error",
                    "dagexec.error.message": "RuntimeError: once",
                    "dagexec.retry.delay": 1.0,
                },
            ),
            ("dagexec.slot_wait", 2.0, {}),  # y took the slot at 1.5
            ("dagexec.call", 2.5, {"dagexec.attempt": 2}),
        ],
        "y": [
            ("dagexec.approval_requested", 0.0, {}),
            ("dagexec.approval_answered", 1.5, {"dagexec.approved": True}),
            ("dagexec.slot_wait", 1.5, {}),
            ("dagexec.call", 1.5, {"dagexec.attempt": 1}),
        ],
        "z": [
            ("dagexec.approval_requested", 0.0, {}),
            ("dagexec.approval_answered", 1.5, {"dagexec.approved": False}),
        ],
    }
    assert {tid: at(s, run) for tid, s in tasks.items()} == {"x": (0, 3.5), "y": (0, 2.5), "z": (0, 1.5)}
    assert [tasks[tid].name for tid in "xyz"] == ["execute_tool flaky", "execute_tool sleep", "execute_tool sleep"]
    assert {k: tasks["x"].attributes[k] for k in ("dagexec.status", "dagexec.attempts")} == {  # type: ignore[index]
        "dagexec.status": "success",
        "dagexec.attempts": 2,
    }
    z = dict(tasks["z"].attributes or {})
    assert (z["dagexec.status"], z["error.type"], z["dagexec.error.message"]) == ("skipped", "rejected", "not today")
    assert tasks["z"].status.status_code is StatusCode.UNSET
    assert result["x"].attempts == 2


# -- the current span ---------------------------------------------------------------------------


async def whoami() -> dict[str, str]:
    """A local tool that answers with the span current in its call."""
    context = trace.get_current_span().get_span_context()
    return {"trace_id": format(context.trace_id, "032x"), "span_id": format(context.span_id, "016x")}


def whoami_in_a_thread() -> dict[str, str]:
    """The same, as a plain function: LocalTools calls it in a worker thread."""
    context = trace.get_current_span().get_span_context()
    return {"trace_id": format(context.trace_id, "032x"), "span_id": format(context.span_id, "016x")}


async def test_a_call_runs_with_its_task_span_current_and_a_run_nests_in_the_callers_span(
    provider: TracerProvider, exporter: Spans
) -> None:
    tools = LocalTools({"whoami": whoami, "whoami_in_a_thread": whoami_in_a_thread})
    executor = EagerExecutor({"me": tools}, tracer_provider=provider)
    tracer = provider.get_tracer("the caller")
    with tracer.start_as_current_span("caller") as caller:
        result = await executor.execute(
            wf({"id": "a", "tool": "me:whoami"}, {"id": "b", "tool": "me:whoami_in_a_thread", "depends_on": ["a"]})
        )
    spans = exporter.get_finished_spans()
    run, tasks = by_task([s for s in spans if s.name != "caller"])
    assert parent_id(run) == caller.get_span_context().span_id
    assert {tid: result[tid].output for tid in "ab"} == {
        tid: {"trace_id": format(trace_id(s), "032x"), "span_id": format(span_id(s), "016x")}
        for tid, s in tasks.items()
    }
    assert trace.get_current_span() is trace.INVALID_SPAN  # nothing stays current after the run


def test_a_tracer_provider_of_the_wrong_kind_is_refused() -> None:
    with pytest.raises(TypeError, match=r"^tracer_provider must be an OpenTelemetry TracerProvider, not Tracer$"):
        EagerExecutor(SIM, tracer_provider=TracerProvider().get_tracer("x"))  # type: ignore[arg-type]


def test_without_a_tracer_provider_there_is_no_tracer() -> None:
    assert trace.get_tracer_provider().__class__ is trace.ProxyTracerProvider  # no provider set in this process
    assert tracer_for(None) is None
    assert tracer_for(trace.get_tracer_provider()) is None
    assert tracer_for(NoOpTracerProvider()) is None
    assert tracer_for(TracerProvider()) is not None


# -- the end of every span, however the run ends --------------------------------------------------


async def test_spans_end_when_on_event_raises(
    provider: TracerProvider, exporter: Spans, autojump_clock: trio.testing.MockClock
) -> None:
    def on_event(event: object) -> None:
        if getattr(event, "task_id", None) == "a" and type(event).__name__ == "TaskFinished":
            raise ValueError("enough")

    plan = wf(t("a", 1.0), t("b", 1.0, "a"), t("c", 5.0), t("d", 1.0, "b"))
    with pytest.raises(ValueError, match=r"^enough$"):
        await EagerExecutor(SIM, tracer_provider=provider).execute(plan, on_event=on_event)
    run, tasks = by_task(exporter.get_finished_spans())
    assert {tid: (s.name, s.attributes["dagexec.status"], at(s, run)) for tid, s in tasks.items()} == {  # type: ignore[index]
        "a": ("execute_tool sleep", "success", (0, 1)),
        "b": ("execute_tool sleep", "cancelled", (1, 1)),
        "c": ("execute_tool sleep", "cancelled", (0, 1)),
        "d": ("not_run sleep", "cancelled", (1, 1)),
    }
    assert (run.attributes or {})["dagexec.stop_reason"] == "on_event raised ValueError: enough"


async def test_spans_end_when_the_caller_cancels_the_run(
    provider: TracerProvider, exporter: Spans, autojump_clock: trio.testing.MockClock
) -> None:
    with trio.move_on_after(1.5):
        await EagerExecutor(SIM, tracer_provider=provider).execute(wf(t("a", 1.0), t("b", 1.0, "a"), t("c", 1.0, "b")))
    run, tasks = by_task(exporter.get_finished_spans())
    assert {tid: (s.attributes["dagexec.status"], at(s, run)) for tid, s in tasks.items()} == {  # type: ignore[index]
        "a": ("success", (0, 1)),
        "b": ("cancelled", (1, 1.5)),
        "c": ("cancelled", (1.5, 1.5)),
    }
    assert at(run, run) == (0, 1.5)
    assert (run.attributes or {})["dagexec.stop_reason"] == "the run was cancelled"


# -- a real MCP server --------------------------------------------------------------------------


async def test_the_mcp_sdk_span_of_a_call_is_a_child_of_the_task_span(global_exporter: Spans) -> None:
    plan = wf(
        {"id": "a", "tool": "box:trace_context"},
        {"id": "b", "tool": "box:echo", "arguments": {"text": "$OUTPUT[a].trace_id"}},
    )
    with trio.fail_after(60):
        async with open_servers({"mcpServers": {"box": toolbox()}}) as servers:
            result = await EagerExecutor(servers).execute(plan)  # the global provider
    spans = global_exporter.get_finished_spans()
    run, tasks = by_task([s for s in spans if not s.name.startswith("MCP send")])
    calls = {s.name: s for s in spans if s.name.startswith("MCP send tools/call")}
    assert sorted(calls) == ["MCP send tools/call echo", "MCP send tools/call trace_context"]
    assert {name: parent_id(s) for name, s in calls.items()} == {
        "MCP send tools/call trace_context": span_id(tasks["a"]),
        "MCP send tools/call echo": span_id(tasks["b"]),
    }
    assert {s.kind for s in calls.values()} == {SpanKind.CLIENT}
    assert {trace_id(s) for s in calls.values()} == {trace_id(run)}
    # The server got the trace context with the request: its span of the call is the SDK's child.
    assert result["a"].output == {
        "trace_id": format(trace_id(run), "032x"),
        "span_id": format(span_id(calls["MCP send tools/call trace_context"]), "016x"),
    }
    assert result["b"].output == {"result": format(trace_id(run), "032x")}


# -- the command line ---------------------------------------------------------------------------


class _Collector(BaseHTTPRequestHandler):
    """An OTLP/HTTP endpoint that keeps what it is sent."""

    received: list[tuple[str, str, bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, self.headers["Content-Type"], body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[tuple[str, list[tuple[str, str, bytes]]]]:
    received: list[tuple[str, str, bytes]] = []
    handler = type("Handler", (_Collector,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)  # port 0: any free port
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def run_cli(*args: str, env: dict[str, str], cwd: Path = EXAMPLES) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in ENV.items() if not k.startswith("OTEL_")}
    return subprocess.run(
        [sys.executable, "-m", "dagexec", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**clean, **env},
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_run_otel_exports_to_an_otlp_http_endpoint(
    tmp_path: Path, collector: tuple[str, list[tuple[str, str, bytes]]]
) -> None:
    endpoint, received = collector
    plan = write(
        tmp_path / "plan.json",
        {
            "tasks": [
                {"id": "a", "tool": "box:echo", "arguments": {"text": "hello"}},
                {"id": "b", "tool": "box:echo", "arguments": {"text": "$OUTPUT[a].result"}},
            ]
        },
    )
    servers = write(tmp_path / "servers.json", {"mcpServers": {"box": toolbox()}})
    done = run_cli("run", plan, "--servers", servers, "--otel", env={"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint})
    assert done.returncode == 0, done.stderr
    assert {(path, kind) for path, kind, _ in received} == {("/v1/traces", "application/x-protobuf")}
    spans: dict[str, Any] = {}
    resources = set()
    for _, _, body in received:
        request = ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            resources.add(
                tuple(
                    (a.key, a.value.string_value) for a in resource_spans.resource.attributes if a.key == "service.name"
                )
            )
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    spans.setdefault(span.name, []).append(span)
    assert resources == {(("service.name", "dagexec"),)}
    (run,) = spans["dagexec run"]
    tasks = {
        next(a.value.string_value for a in s.attributes if a.key == "gen_ai.tool.call.id"): s
        for s in spans["execute_tool echo"]
    }
    assert sorted(tasks) == ["a", "b"]
    assert {s.parent_span_id for s in tasks.values()} == {run.span_id}
    calls = spans["MCP send tools/call echo"]
    assert sorted(c.parent_span_id for c in calls) == sorted(s.span_id for s in tasks.values())
    assert {s.trace_id for s in [*tasks.values(), *calls]} == {run.trace_id}


def _spans_by_name(received: list[tuple[str, str, bytes]]) -> dict[str, list[Any]]:
    spans: dict[str, list[Any]] = {}
    for _, _, body in received:
        for resource_spans in ExportTraceServiceRequest.FromString(body).resource_spans:
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    spans.setdefault(span.name, []).append(span)
    return spans


async def test_serve_otel_exports_each_plan_as_a_run(
    tmp_path: Path, collector: tuple[str, list[tuple[str, str, bytes]]]
) -> None:
    from mcp import Client, StdioServerParameters

    endpoint, received = collector
    servers = write(tmp_path / "servers.json", {"mcpServers": {"box": toolbox()}})
    clean = {k: v for k, v in ENV.items() if not k.startswith("OTEL_")}
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "dagexec", "serve", "--servers", servers, "--otel"],
        env={**clean, "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint},
        cwd=EXAMPLES,
    )
    plan = {"tasks": [{"id": "a", "tool": "box:echo", "arguments": {"text": "hi"}}]}
    with trio.fail_after(120):
        async with Client(params, mode="legacy") as client:
            for _ in range(2):
                answer = await client.call_tool("run_workflow", plan)
                assert answer.is_error is False
        # The gateway exports its spans in batches, the last as it ends (the client closed its end).
        while len(_spans_by_name(received).get("dagexec run", [])) < 2:
            await trio.sleep(0.05)
    spans = _spans_by_name(received)
    runs = spans["dagexec run"]
    assert len(runs) == 2
    tasks = spans["execute_tool echo"]
    assert sorted(s.parent_span_id for s in tasks) == sorted(r.span_id for r in runs)


def test_compare_otel_prints_both_runs_to_the_console(tmp_path: Path) -> None:
    plan = write(tmp_path / "plan.json", {"tasks": [{"id": "a", "tool": "box:echo", "arguments": {"text": "hi"}}]})
    servers = write(tmp_path / "servers.json", {"mcpServers": {"box": toolbox()}})
    done = run_cli("compare", plan, "--servers", servers, "--otel", env={"OTEL_TRACES_EXPORTER": "console"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.count('"name": "dagexec run"') == 2
    assert done.stdout.count('"dagexec.strategy": "layered"') == 1
    assert done.stdout.count('"dagexec.strategy": "eager"') == 1


def test_otel_refuses_an_unknown_exporter(tmp_path: Path) -> None:
    plan = write(tmp_path / "plan.json", {"tasks": [{"id": "a", "tool": "box:echo", "arguments": {"text": "hi"}}]})
    servers = write(tmp_path / "servers.json", {"mcpServers": {"box": toolbox()}})
    done = run_cli("run", plan, "--servers", servers, "--otel", env={"OTEL_TRACES_EXPORTER": "zipkin"})
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "error: OTEL_TRACES_EXPORTER: unknown exporter 'zipkin' (otlp, console or none)\n"


def test_otel_without_the_extra_says_what_to_install(tmp_path: Path) -> None:
    # An OpenTelemetry without its SDK: a package of that name that cannot be imported comes first.
    shim = tmp_path / "shim" / "opentelemetry" / "sdk"
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'opentelemetry.sdk'\", name='opentelemetry.sdk')\n"
    )
    plan = write(tmp_path / "plan.json", {"tasks": [{"id": "a", "tool": "box:echo", "arguments": {"text": "hi"}}]})
    servers = write(tmp_path / "servers.json", {"mcpServers": {"box": toolbox()}})
    done = run_cli("run", plan, "--servers", servers, "--otel", env={"PYTHONPATH": str(tmp_path / "shim")})
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "error: --otel needs the otel extra: pip install 'dagexec[otel]' (opentelemetry.sdk is missing)\n"
    )


@pytest.fixture
def silent_collector() -> Iterator[tuple[str, socket.socket]]:
    """An endpoint that takes connections and never answers: the collector that holds an exporter longest."""
    with socket.create_server(("127.0.0.1", 0), backlog=64) as listener:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", listener


def _was_called(listener: socket.socket) -> bool:
    listener.settimeout(10)
    with listener.accept()[0]:  # a connection waits in the backlog: the exporter came
        return True


def test_a_silent_collector_holds_the_end_of_run_for_at_most_the_otel_timeout(
    tmp_path: Path, silent_collector: tuple[str, socket.socket]
) -> None:
    """The exporter's own timeout, at 60 s, would hold the end 30 s (the SDK's shutdown): --otel-timeout ends it."""
    endpoint, listener = silent_collector
    plan = write(tmp_path / "plan.json", {"tasks": []})
    servers = write(tmp_path / "servers.json", {"mcpServers": {}})
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_EXPORTER_OTLP_TIMEOUT": "60"}
    started = time.monotonic()
    done = run_cli("run", plan, "--servers", servers, "--otel", "--otel-timeout", "0.5", env=env)
    took = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert took < 20  # wide: the process's start and the run are in it too
    assert _was_called(listener)
    assert done.stderr == (
        "warning: dagexec.otel: the spans left to export were not sent within 0.5 s (--otel-timeout); they are dropped\n"
    )


def test_otel_timeout_is_each_otlp_exports_timeout(silent_collector: tuple[str, socket.socket]) -> None:
    """An export to a silent collector gives up after --otel-timeout (the exporter's default is 10 s)."""
    from dagexec.cli._otel import shut_down, tracer_provider

    endpoint, listener = silent_collector
    with pytest.MonkeyPatch.context() as patch:
        for name in [name for name in ENV if name.startswith("OTEL_")]:
            patch.delenv(name, raising=False)
        patch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        provider = tracer_provider(timeout=0.5)
    provider.get_tracer("test").start_span("a span").end()
    started = time.monotonic()
    provider.force_flush()  # the export, in this thread, for the exporter's timeout at most
    took = time.monotonic() - started
    shut_down(provider, 5)
    assert _was_called(listener)
    assert took < 5


def test_the_console_exporter_needs_no_otlp_package(tmp_path: Path) -> None:
    # The SDK without the OTLP exporter: a package of that name that cannot be imported comes first.
    shim = tmp_path / "shim" / "opentelemetry" / "exporter" / "otlp" / "proto" / "http"
    shim.mkdir(parents=True)
    missing = "opentelemetry.exporter.otlp.proto.http"
    (shim / "__init__.py").write_text(f"raise ModuleNotFoundError(\"No module named {missing!r}\", name={missing!r})\n")
    plan = write(tmp_path / "plan.json", {"tasks": []})
    servers = write(tmp_path / "servers.json", {"mcpServers": {}})
    shimmed = {"PYTHONPATH": str(tmp_path / "shim")}
    done = run_cli("run", plan, "--servers", servers, "--otel", env={**shimmed, "OTEL_TRACES_EXPORTER": "console"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.count('"name": "dagexec run"') == 1
    done = run_cli("run", plan, "--servers", servers, "--otel", env=shimmed)  # OTLP, the default
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"error: --otel needs the otel extra: pip install 'dagexec[otel]' ({missing} is missing)\n"


# -- the documentation's example ------------------------------------------------------------------


def test_the_tracing_example_prints_the_span_tree_of_its_run() -> None:
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / "tracing.py")], capture_output=True, text=True, timeout=120, env=ENV
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "dagexec run",
        "  not_run sleep report skipped dependency_failed",
        "  execute_tool sleep search_papers success",
        "    MCP send tools/call sleep",
        "  execute_tool sleep search_web success",
        "    MCP send tools/call sleep",
        "  execute_tool sleep slow_source error timeout",
        "    MCP send tools/call sleep",
        "  execute_tool sleep summarize success",
        "    MCP send tools/call sleep",
    ]
