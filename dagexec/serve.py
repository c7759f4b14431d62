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
"""

from __future__ import annotations

import contextvars
import functools
import hashlib
import hmac
import ipaddress
import json
import logging
import math
import os
import re
import secrets
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager, suppress
from typing import Any

import trio

from . import (
    Approver,
    DagexecError,
    EagerExecutor,
    Event,
    ExecutionResult,
    ListsTools,
    PlanError,
    Run,
    ServerError,
    Task,
    TaskFinished,
    TaskSkipped,
    ToolServer,
    Workflow,
)
from . import __version__ as _version
from . import workflow_schema as _workflow_schema
from ._lines import LineReader
from ._schemas import ToolSchemas

try:
    import anyio
    import mcp_types
    from mcp.server.context import ServerRequestContext
    from mcp.server.lowlevel import Server
    from mcp.shared.message import SessionMessage

    from .mcp import MCPToolServer
    from .servers import StdioServerConfig, _serve, load_config, open_servers
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("dagexec.serve needs the mcp extra: pip install 'dagexec[mcp]'") from exc

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

#: The name of the gateway's tool that runs a plan.
RUN_WORKFLOW = "run_workflow"

#: Plans of at most this many tasks are checked on the gateway's loop (a few milliseconds);
#: larger ones in a worker thread, while the loop goes on answering.
CHECK_IN_LOOP = 200

Progress = Callable[[float, float | None, str | None], Awaitable[None]]
"""What ``progress`` of :meth:`Gateway.run_workflow` takes: ``(tasks ended, tasks in the plan, message)``."""

#: Why a run whose request the client cancelled was stopped.
_CANCELLED = "the client cancelled the request"

_ABOUT = (
    "Run a plan of calls to the tools listed below as one workflow: a DAG of tasks, each task starting the "
    "moment the tasks it depends on are done, so the whole plan takes the time of its longest chain. A task "
    'is {"id": ..., "tool": "server:tool", "arguments": {...}, "depends_on": [...]}. An argument '
    "string may use an earlier task's output: \"$OUTPUT[t1]\" is task t1's whole output, "
    '"$OUTPUT[t1].key.0" a part of it, and text may hold references ("Summarise: $OUTPUT[t1].text"); a '
    "reference makes the task depend on t1. A failed task skips only the tasks that need it. Returns every "
    "task's status, output or error, and timing. An invalid plan is refused with every problem named, and "
    "nothing runs."
)


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0].strip() if (text or "").strip() else ""


def _argument_names(schema: Mapping[str, Any]) -> str:
    """A tool's argument names, the optional ones marked with ``?``: ``(path, depth?)``."""
    properties = schema.get("properties")
    if not isinstance(properties, Mapping):
        return "()"
    required = schema.get("required")
    needed = set(required) if isinstance(required, list) else set()
    return "(" + ", ".join(name if name in needed else f"{name}?" for name in properties) + ")"


def describe_tools(servers: Mapping[str, ToolServer]) -> list[str]:
    """One line per downstream tool: ``- server:tool (arguments): its description's first line``.

    An MCP server gives each tool's description and argument names; a server
    that lists only names gives those; any other server gives one line saying
    that its tools are not listed.
    """
    lines = []
    for name, server in servers.items():
        if isinstance(server, MCPToolServer | RestartingServer):
            for tool in server.tools.values():
                about = _first_line(tool.description)
                lines.append(
                    f"- {name}:{tool.name} {_argument_names(tool.input_schema)}" + (f": {about}" if about else "")
                )
        elif isinstance(server, ListsTools):
            lines += [f"- {name}:{tool}" for tool in sorted(server.tool_names)]
        else:
            lines.append(f"- {name}:<tool> (this server does not list its tools)")
    return lines


#: What MCP clients accept as a tool's name.
_TOOL_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")


def proxy_names(tools: Iterable[tuple[str, str]]) -> dict[str, tuple[str, str]]:
    """The name each downstream tool is offered under: ``{server}__{tool}``, shortened where it must be.

    A name longer than 64 characters, with characters other than letters,
    digits, ``_`` and ``-``, or that two tools would share, becomes its first
    55 characters (others replaced by ``_``), ``_`` and 8 hex digits of the
    SHA-256 of ``server:tool``: the same tool always gets the same name.

    Args:
        tools: Each tool's ``(server, tool)``.

    Returns:
        Each offered name, mapped to its ``(server, tool)``.
    """
    wanted = [(f"{server}__{tool}", (server, tool)) for server, tool in tools]
    counts = Counter(name for name, _ in wanted)
    names = {}
    for name, (server, tool) in wanted:
        if counts[name] > 1 or name == RUN_WORKFLOW or not _TOOL_NAME.fullmatch(name):
            digest = hashlib.sha256(f"{server}:{tool}".encode()).hexdigest()[:8]
            name = re.sub(r"[^a-zA-Z0-9_-]", "_", name)[:55] + "_" + digest
        names[name] = (server, tool)
    return names


def _escaped(value: Any) -> Any:
    """Arguments of a direct call, with every ``$OUTPUT[`` kept as text (written ``$$OUTPUT[``)."""
    if isinstance(value, str):
        return value.replace("$OUTPUT[", "$$OUTPUT[")
    if isinstance(value, Mapping):
        return {key: _escaped(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_escaped(item) for item in value]
    return value


def _text(text: str) -> mcp_types.TextContent:
    return mcp_types.TextContent(type="text", text=text)


def _plain(data: Any) -> Any:
    """JSON-ready data, as ``dagexec run --json`` writes it (values JSON cannot hold become their repr)."""
    return json.loads(json.dumps(data, default=repr))


def summary(result: ExecutionResult) -> str:
    """A short text summary of a run: its counts, wall time and critical path, and each task that did not succeed."""
    lines = [
        f"{len(result.results)} tasks: "
        + ", ".join(f"{n} {s.value}" for s, n in result.counts.items() if n)
        + f"; {result.wall_time:.3f}s wall, critical path {' -> '.join(result.critical_path)} "
        f"({result.critical_path_time:.3f}s)"
    ]
    for r in result.results:
        if r.error is not None:
            lines.append(f"task {r.task_id!r} {r.status.value}: {r.error.code.value}: {r.error.message}")
    return "\n".join(lines)


def refusal(exc: DagexecError) -> mcp_types.CallToolResult:
    """The tool result of a plan that cannot run: ``isError``, the problems as text and as data.

    A plan's problems are the report every check writes (``invalid plan (N
    problems):`` and a line each), as :class:`~dagexec.PlanError` has it.
    """
    if isinstance(exc, PlanError):
        problems = [str(problem) for problem in exc.problems]
        text = str(exc)
    else:  # the journal
        problems = [str(exc)]
        text = f"the plan cannot run now, nothing ran: {exc}"
    return mcp_types.CallToolResult(
        content=[_text(text)], structured_content={"ok": False, "problems": problems}, is_error=True
    )


#: Why a task that needs approval cannot run through a client that cannot ask.
_CANNOT_ASK = "the client cannot ask the person (it offers no elicitation on this connection)"


#: The request's ``ask`` (see :meth:`Gateway.call`), seen by the run's tasks, which inherit it.
_ASK: contextvars.ContextVar[Approver | None] = contextvars.ContextVar("dagexec_serve_ask", default=None)


def _can_elicit(ctx: ServerRequestContext[Any]) -> bool:
    """Whether the client can be asked: it offers elicitation, and the connection can carry a request to it.

    On the 2026-07-28 protocol a server may not send requests, so such a
    client cannot be asked.
    """
    capabilities = ctx.session.client_capabilities
    return capabilities is not None and capabilities.elicitation is not None and ctx.session.can_send_request


def _elicitor(ctx: ServerRequestContext[Any]) -> Approver:
    """Ask the person through the client's elicitation whether a task's call may go ahead."""

    async def ask(task: Task, arguments: dict[str, Any]) -> bool | str:
        shown = json.dumps(arguments, default=repr)
        shown = shown if len(shown) <= 2000 else shown[:1997] + "..."
        answer = await ctx.session.elicit_form(
            f"dagexec: may task {task.id!r} call {task.tool} with {shown}?",
            {"type": "object", "properties": {}},
            related_request_id=ctx.request_id,
        )
        if answer.action == "accept":
            return True
        if answer.action == "decline":
            return "declined by the person"
        return "the person cancelled the question"

    return ask


class Gateway:
    """An MCP server whose ``run_workflow`` tool runs plans of calls to the tools of ``servers``.

    It also offers every tool of every server that lists its tools directly,
    as ``{server}__{tool}`` (see :func:`proxy_names`) with the tool's own
    input schema and description.

    One executor serves every request: the servers are shared by every run,
    and so are the executor's limits (its slots). Each request is a run of its
    own.

    Args:
        servers: The downstream tool servers, keyed by name (as
            :func:`~dagexec.servers.open_servers` yields them).
        timeout: A deadline for each run, in seconds, as ``timeout`` of
            :meth:`~dagexec.EagerExecutor.execute`.
        options: Options of :class:`~dagexec.EagerExecutor`. With a
            ``journal``, each plan is recorded under a run name of its own,
            ``plan-`` and a hash of the plan: a plan sent again reuses every
            task of it that succeeded. Each direct call is recorded under a
            name of its own, and never reused.

    Attributes:
        executor: The executor every run goes through.
        server: The SDK's low-level MCP server: serve it over any transport.
    """

    def __init__(self, servers: Mapping[str, ToolServer], *, timeout: float | None = None, **options: Any) -> None:
        self.executor = EagerExecutor(servers, approve=self._approve, **options)
        if timeout is not None and not timeout > 0:
            raise ValueError("timeout must be > 0")
        self._timeout = timeout
        self._journaled = self.executor.options.journal is not None
        self._tools = [
            mcp_types.Tool(
                name=RUN_WORKFLOW,
                description=_ABOUT
                + "\n\nTools (server:tool (arguments, ? = optional): what it does):\n"
                + "\n".join(describe_tools(servers)),
                input_schema=_workflow_schema(),
            )
        ]
        listed: dict[tuple[str, str], mcp_types.Tool | None] = {}
        for name, server in servers.items():
            if isinstance(server, MCPToolServer | RestartingServer):
                listed.update(((name, tool.name), tool) for tool in server.tools.values())
            elif isinstance(server, ListsTools):
                listed.update(((name, tool), None) for tool in sorted(server.tool_names))
        #: Each proxied tool's name, mapped to its (server, tool).
        self._proxied = proxy_names(listed)
        for proxy, (name, tool) in self._proxied.items():
            known = listed[name, tool]
            about = f"{name}:{tool} through dagexec" + (f": {known.description}" if known and known.description else "")
            schema = known.input_schema if known is not None else {"type": "object"}
            self._tools.append(mcp_types.Tool(name=proxy, description=about, input_schema=schema))
        self.server: Server[Any] = Server(
            "dagexec",
            version=_version,
            instructions="Run a whole plan of tool calls with run_workflow, rather than one call at a time.",
            on_list_tools=self._list_tools,
            on_call_tool=self._call_tool,
        )

    @property
    def tools(self) -> list[mcp_types.Tool]:
        """The tools the gateway offers."""
        return list(self._tools)

    async def _list_tools(
        self, ctx: ServerRequestContext[Any], params: mcp_types.PaginatedRequestParams | None
    ) -> mcp_types.ListToolsResult:
        return mcp_types.ListToolsResult(tools=self.tools)

    async def _call_tool(
        self, ctx: ServerRequestContext[Any], params: mcp_types.CallToolRequestParams
    ) -> mcp_types.CallToolResult:
        wants_progress = ctx.meta is not None and ctx.meta.get("progress_token") is not None
        return await self.call(
            params.name,
            params.arguments or {},
            progress=ctx.session.report_progress if wants_progress else None,
            ask=_elicitor(ctx) if _can_elicit(ctx) else None,
        )

    async def call(
        self, name: str, arguments: Any, *, progress: Progress | None = None, ask: Approver | None = None
    ) -> mcp_types.CallToolResult:
        """Answer a call of one of the gateway's tools, as :meth:`run_workflow` and :meth:`call_proxied` do.

        Args:
            name: The tool's name.
            arguments: Its arguments.
            progress: For ``run_workflow``, as for :meth:`run_workflow`.
            ask: Asks the person behind the call whether a task's call may go
                ahead, as ``approve`` of :class:`~dagexec.EagerExecutor`
                does; over MCP, through the client's elicitation. None: no
                one can be asked, and a plan that needs approval is refused.
        """
        token = _ASK.set(ask)
        try:
            if name == RUN_WORKFLOW:
                return await self.run_workflow(arguments, progress=progress)
            if name in self._proxied:
                return await self.call_proxied(name, arguments)
            return mcp_types.CallToolResult(content=[_text(f"unknown tool {name!r}")], is_error=True)
        finally:
            _ASK.reset(token)

    async def _approve(self, task: Task, arguments: dict[str, Any]) -> bool | str:
        """The executor's approver: it asks whoever the request's ``ask`` is."""
        ask = _ASK.get()
        if ask is None:  # refused up front (see _check): only a task added later could get here
            return "no one can be asked"
        return await ask(task, arguments)

    async def _check(self, plan: Any) -> Workflow:
        """Read a plan and check it against the executor, and that someone can approve it if it needs approval.

        A plan of more than :data:`CHECK_IN_LOOP` tasks is checked in a worker
        thread, so that the gateway goes on answering other clients meanwhile
        (the check's ``check_budget`` bounds it; a cancelled caller abandons it).

        Raises:
            PlanError: Every problem of the plan in one report (see
                :meth:`EagerExecutor.check_plan <dagexec.EagerExecutor.check_plan>`),
                a task that needs approval no one can give among them.
        """
        no_approver = _CANNOT_ASK if _ASK.get() is None else None
        check = functools.partial(self.executor.check_plan, plan, no_approver=no_approver)
        tasks = plan.get("tasks") if isinstance(plan, Mapping) else None
        if isinstance(tasks, list) and len(tasks) > CHECK_IN_LOOP:
            return await trio.to_thread.run_sync(check, abandon_on_cancel=True)
        return check()

    async def call_proxied(self, name: str, arguments: Any) -> mcp_types.CallToolResult:
        """Call a downstream tool directly, as a plan of one task: under the same limits and approvals.

        Its arguments are passed as they are (a ``$OUTPUT[`` in them is text).
        Cancelling the caller stops the call, as for :meth:`run_workflow`.

        Args:
            name: The proxied tool's name (see :func:`proxy_names`).
            arguments: The tool's arguments.

        Returns:
            The tool result, with the output as structured content when it
            is an object, and as text (a string as it is, else its JSON); or
            ``isError`` with the task's error code and message.

        Raises:
            KeyError: No proxied tool has that name.
        """
        server, tool = self._proxied[name]
        try:
            workflow = await self._check(
                {"tasks": [{"id": name, "tool": f"{server}:{tool}", "arguments": _escaped(arguments)}]}
            )
        except DagexecError as exc:
            return refusal(exc)
        try:
            done = await self._execute(workflow, None, f"call-{secrets.token_hex(8)}")
        except DagexecError as exc:  # the journal: it cannot be written, or is in use
            return refusal(exc)
        result = done.results[0]
        if result.error is not None:
            return mcp_types.CallToolResult(
                content=[_text(f"{result.error.code.value}: {result.error.message}")], is_error=True
            )
        output = _plain(result.output)
        text = output if isinstance(output, str) else json.dumps(output)
        return mcp_types.CallToolResult(
            content=[_text(text)], structured_content=output if isinstance(output, dict) else None
        )

    async def run_workflow(self, plan: Any, *, progress: Progress | None = None) -> mcp_types.CallToolResult:
        """Check a plan, run it, and answer as the ``run_workflow`` tool does.

        Cancelling the caller stops the run with :meth:`Run.stop
        <dagexec.Run.stop>`: every call in flight is cancelled, every task ends
        with its final status, and the cancellation then goes on.

        Args:
            plan: The workflow's data (``{"tasks": [...]}``).
            progress: Called after each task ends, in order, with the number of
                tasks ended, the number in the plan, and ``"<task id>:
                <status>"``; the result comes after the last call.

        Returns:
            The tool result, with the run's JSON (as ``dagexec run --json``
            writes it, less the plan) as structured content, and as text after a short
            summary; for a plan that cannot run, ``isError`` with every
            problem, nothing run.
        """
        try:
            workflow = await self._check(plan)
        except DagexecError as exc:
            return refusal(exc)
        plan_hash = hashlib.sha256(json.dumps(workflow.to_dict(), sort_keys=True, default=repr).encode()).hexdigest()
        try:
            result = await self._execute(workflow, progress, f"plan-{plan_hash[:16]}")
        except DagexecError as exc:  # the journal: it cannot be written, or is in use
            return refusal(exc)
        data = _plain(result.to_dict(workflow=False))  # the client sent the plan: not sent back
        return mcp_types.CallToolResult(
            content=[_text(summary(result)), _text(json.dumps(data))], structured_content=data
        )

    async def _execute(self, workflow: Workflow, progress: Progress | None, run_name: str) -> ExecutionResult:
        """Run ``workflow``, reporting each task's end; the caller's cancellation stops it with ``Run.stop``.

        The run itself is shielded from the caller's cancellation, so that
        it is stopped the way a run is stopped from outside (every task
        ending with its final status, the journal written), not torn down.
        """
        # Each task's end, with how many tasks had ended with it, as the run's core counts them.
        ended, ends = trio.open_memory_channel[tuple[int, str]](math.inf)
        total = len(workflow.tasks)

        def on_event(event: Event) -> None:
            if isinstance(event, TaskFinished | TaskSkipped):
                ended.send_nowait((event.ended, f"{event.result.task_id}: {event.result.status.value}"))

        async def report() -> None:
            assert progress is not None
            async for count, message in ends:
                await progress(count, total, message)

        run: Run | None = None
        failure: DagexecError | None = None
        async with trio.open_nursery() as outside:  # reached by the caller's cancellation, unlike the run
            with trio.CancelScope(shield=True):
                async with trio.open_nursery() as reporting:
                    if progress is not None:
                        reporting.start_soon(report)
                    with ended:
                        named = {"run_name": run_name} if self._journaled else {}
                        try:
                            async with self.executor.open_run(
                                workflow, timeout=self._timeout, on_event=on_event, **named
                            ) as run:
                                outside.start_soon(run.stop_when_cancelled, _CANCELLED)
                        except DagexecError as exc:  # before the run: raised below, not in a group
                            failure = exc
            outside.cancel_scope.cancel()
        if failure is not None:
            raise failure
        assert run is not None
        return run.result

    async def serve_stdio(self, *, stdin: int = 0, stdout: int = 1) -> None:
        """Serve MCP over standard input and output until the client closes its end.

        While serving, descriptors ``stdin`` and ``stdout`` point at the null
        device and at standard error, so that a stray print cannot break the
        messages; both are restored on return. Cancel the caller to stop
        serving at once.
        """
        wire_in, wire_out = os.dup(stdin), os.dup(stdout)
        kept_in, kept_out = os.dup(stdin), os.dup(stdout)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, stdin)
        os.dup2(2, stdout)
        os.close(null)
        try:
            await self._serve_fds(wire_in, wire_out)
        finally:
            os.dup2(kept_in, stdin)
            os.dup2(kept_out, stdout)
            for fd in (wire_in, wire_out, kept_in, kept_out):
                os.close(fd)

    async def serve_http(
        self,
        host: str,
        port: int,
        *,
        token: str | None = None,
        allowed_hosts: Iterable[str] = (),
        allowed_origins: Iterable[str] = (),
        task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Serve MCP over streamable HTTP at ``http://host:port/mcp`` until cancelled (hypercorn's trio worker).

        A gateway can call every tool of every downstream server, so who may
        call it is checked on every request, on loopback too: with a
        ``token``, a request without ``Authorization: Bearer <token>`` is
        answered 401; its ``Host`` must be the bound address (and its
        ``localhost`` forms, on loopback) or one of ``allowed_hosts`` (421
        otherwise); a request with an ``Origin`` must have one of
        ``allowed_origins`` (403 otherwise), so that a web page in a browser
        cannot drive a local gateway.

        Args:
            host: The address to listen on.
            port: The port (0: any free port; ``task_status`` tells which).
            token: The bearer token every request must carry; None: none.
            allowed_hosts: More ``Host`` values to accept (``name:port``,
                or ``name:*`` for any port).
            allowed_origins: ``Origin`` values to accept (``https://app.example``).
            task_status: Told the bound addresses (``http://127.0.0.1:8000``)
                once the gateway listens.

        Raises:
            ValueError: ``host`` is not a loopback address and there is no ``token``.
            ImportError: hypercorn is missing (the ``serve`` extra).
        """
        try:
            from hypercorn.config import Config
            from hypercorn.trio import serve
            from mcp.server.transport_security import TransportSecuritySettings
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("serving over HTTP needs the serve extra: pip install 'dagexec[serve]'") from exc
        if token is None and not is_loopback(host):
            raise ValueError(f"serving on {host!r}, not a loopback address, needs a token")
        shown = f"[{host}]" if ":" in host else host
        names = {shown, "localhost", "127.0.0.1", "[::1]"} if is_loopback(host) else {shown}
        # A port of 0 is only known once bound: then any port of these names is the gateway's own.
        hosts = [f"{name}:{port if port else '*'}" for name in sorted(names)] + list(allowed_hosts)
        security = TransportSecuritySettings(
            enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=list(allowed_origins)
        )
        app: Any = self.server.streamable_http_app(streamable_http_path="/mcp", transport_security=security, host=host)
        if token is not None:
            app = _BearerToken(app, token)
        config = Config()
        config.bind = [f"{shown}:{port}"]
        config.accesslog = None
        await serve(app, config, shutdown_trigger=trio.sleep_forever, task_status=task_status)

    async def _serve_fds(self, wire_in: int, wire_out: int) -> None:
        incoming_send, incoming = anyio.create_memory_object_stream[SessionMessage | Exception](0)
        outgoing, outgoing_receive = anyio.create_memory_object_stream[SessionMessage](0)

        async def read() -> None:
            async with incoming_send:
                async for line in LineReader(wire_in):
                    if not line.strip():
                        continue
                    try:
                        message = mcp_types.jsonrpc_message_adapter.validate_json(line, by_name=False)
                    except ValueError as exc:
                        await incoming_send.send(exc)
                        continue
                    await incoming_send.send(SessionMessage(message))

        async def write() -> None:
            async with outgoing_receive:
                async for message in outgoing_receive:
                    text = message.message.model_dump_json(by_alias=True, exclude_unset=True)
                    await _write_all(wire_out, (text + "\n").encode())

        reading = trio.CancelScope()

        async def read_until_cancelled() -> None:
            with reading:
                await read()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(read_until_cancelled)
            nursery.start_soon(write)  # ends once every reply is written
            async with outgoing:
                await self.server.run(incoming, outgoing, self.server.create_initialization_options())
            reading.cancel()


async def _write_all(fd: int, data: bytes) -> None:
    """Write every byte, in a worker thread: a client slow to read never blocks the gateway's loop."""
    view = memoryview(data)
    while view:
        with suppress(InterruptedError):
            written = await trio.to_thread.run_sync(os.write, fd, view, abandon_on_cancel=True)
            view = view[written:]


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address, or ``localhost``) is only reachable from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class _BearerToken:
    """An ASGI middleware: every HTTP request must carry ``Authorization: Bearer <token>``, else 401."""

    def __init__(self, app: Any, token: str) -> None:
        self._app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            given = dict(scope["headers"]).get(b"authorization", b"")
            if not hmac.compare_digest(given, self._expected):
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [(b"content-type", b"text/plain"), (b"www-authenticate", b"Bearer")],
                    }
                )
                await send(
                    {"type": "http.response.body", "body": b"unauthorized: send Authorization: Bearer <token>\n"}
                )
                return
        await self._app(scope, receive, send)


# -- a long life: downstream servers started again ------------------------------------------

_log = logging.getLogger("dagexec.serve")

#: Seconds before a dead server is started again: the first time at once, then
#: doubling from the first of these after each death that follows a failed start,
#: up to the second.
_BACKOFF = (0.5, 30.0)


class RestartingServer(ToolServer):
    """A downstream stdio server that is started again when it dies, for the calls that come later.

    The calls in flight when it dies fail (``server_error``), as in any run.
    The next call starts it again and waits for it; if it does not start, that
    call fails too, and the one after tries again, later: at once after a
    death, then after 0.5 s, 1 s, 2 s... (30 s at most) while starts keep
    failing.

    Args:
        name: The server's name in the config.
        entry: Its entry, to start it again with.
        server: The running server, as first started.
        nursery: Where the servers started again live.
        start_timeout: Seconds a start may take.

    Attributes:
        tools: The tools it listed when it first started, by name.
    """

    def __init__(
        self,
        name: str,
        entry: StdioServerConfig,
        server: MCPToolServer,
        nursery: trio.Nursery,
        start_timeout: float = 30.0,
    ) -> None:
        self.name = name
        self.tools = server.tools
        self._schemas = server.tool_schemas
        self._entry = entry
        self._server = server
        self._nursery = nursery
        self._start_timeout = start_timeout
        self._held: trio.CancelScope | None = None  # the context of the server started last
        self._starting: trio.Event | None = None
        self._failed_starts = 0
        self._not_before = 0.0

    @property
    def tool_names(self) -> frozenset[str]:
        """The names of the tools it listed when it first started."""
        return frozenset(self.tools)

    @property
    def tool_schemas(self) -> dict[str, ToolSchemas]:
        """Each tool's input and output schema, as it listed them when it first started."""
        return self._schemas

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> Any:
        """Call tool ``name``, starting the server again first if it died.

        Raises:
            ServerError: The server died during the call, or could not be
                started again.
        """
        if self._server.gone is not None:
            await self._start_again()
        server = self._server
        try:
            return await server.call_tool(name, arguments)
        except ServerError:
            if server.gone is not None and server is self._server:
                _log.warning(
                    "server %r failed (%s): its calls under way failed; it starts again for the next call",
                    self.name,
                    server.gone,
                )
            raise

    async def _start_again(self) -> None:
        """Start the server again (one start at a time; callers that come meanwhile wait for it)."""
        if self._starting is not None:
            await self._starting.wait()
        else:
            self._starting = trio.Event()
            try:
                await trio.sleep_until(self._not_before)
                scope = trio.CancelScope()
                try:
                    server = await self._nursery.start(self._hold, scope)
                except DagexecError as exc:
                    self._failed_starts += 1
                    delay = min(_BACKOFF[0] * 2 ** (self._failed_starts - 1), _BACKOFF[1])
                    self._not_before = trio.current_time() + delay
                    _log.warning(
                        "server %r did not start again: %s; next try in %g s at the earliest", self.name, exc, delay
                    )
                else:
                    if self._held is not None:
                        self._held.cancel()  # the dead one before it: its context is closed
                    self._held = scope
                    assert isinstance(server, MCPToolServer)  # a stdio entry: an MCP server
                    self._server = server
                    self._failed_starts = 0
                    _log.warning("server %r started again", self.name)
            finally:
                self._starting.set()
                self._starting = None
        if self._server.gone is not None:
            raise ServerError(f"server {self.name!r} is gone: {self._server.gone}; it did not start again")

    async def _hold(self, scope: trio.CancelScope, *, task_status: trio.TaskStatus[ToolServer]) -> None:
        """Start the server and hold it, until the gateway closes or ``scope`` is cancelled (it started again)."""
        with scope:
            await _serve(self.name, self._entry, None, self._start_timeout, task_status=task_status)


@asynccontextmanager
async def open_gateway(
    config: str | os.PathLike[str] | Mapping[str, Any],
    *,
    start_timeout: float = 30.0,
    **options: Any,
) -> AsyncIterator[Gateway]:
    """Start every server of a config, and yield a :class:`Gateway` in front of them.

    Each stdio server is a :class:`RestartingServer`: when it dies, it is
    started again for the calls that come later. On exit, every server is
    closed, those started again included.

    Args:
        config: The servers config, as for :func:`~dagexec.servers.open_servers`.
        start_timeout: Seconds each server has to start.
        options: Options of :class:`Gateway`.

    Raises:
        ServerConfigError: The config is invalid; nothing was started.
        ServerStartError: A server did not start; the others were stopped.
    """
    entries = load_config(config)
    async with open_servers(config, start_timeout=start_timeout) as servers, trio.open_nursery() as nursery:
        served: dict[str, ToolServer] = {}
        for name, server in servers.items():
            entry = entries[name]
            if isinstance(server, MCPToolServer) and isinstance(entry, StdioServerConfig):
                served[name] = RestartingServer(name, entry, server, nursery, start_timeout)
            else:
                served[name] = server
        yield Gateway(served, **options)
        nursery.cancel_scope.cancel()
