"""The gateway: an MCP server whose tools run plans, and direct calls, on the downstream servers."""

from __future__ import annotations

import contextvars
import functools
import hashlib
import json
import math
import os
import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import mcp_types
import trio
from mcp import MCPError
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server

from .. import (
    Approver,
    DagexecError,
    EagerExecutor,
    Event,
    ExecutionResult,
    JournalFailedError,
    Run,
    Task,
    TaskFinished,
    TaskSkipped,
    ToolServer,
    Workflow,
    shown_arguments,
)
from .. import __version__ as _version
from .._approval import shortened
from ._http import MAX_SESSIONS, SESSION_IDLE, http_app, serve_http
from ._memory import TRIM_AFTER, give_back_memory
from ._outputs import OutputFile, OutputStore
from ._results import (
    call_reply,
    kept_call_reply,
    kept_run_reply,
    refusal_result,
    reply_fits,
    run_data,
    run_kept_reply,
    run_reply,
    summary_text,
    text_block,
    write_outputs,
    write_run,
)
from ._stdio import MAX_MESSAGE, serve_stdio
from ._supervise import open_supervised
from ._surface import RUN_WORKFLOW, escaped, gateway_tools, tool_pages

#: Plans of at most this many tasks are checked on the gateway's loop (a few milliseconds);
#: larger ones in a worker thread, while the loop goes on answering.
CHECK_IN_LOOP = 200

T = TypeVar("T")

Progress = Callable[[float, float | None, str | None], Awaitable[None]]
"""What ``progress`` of :meth:`Gateway.run_workflow` takes: ``(tasks ended, tasks in the plan, message)``."""

#: A ``tools/list`` cursor: a page's number.
_PAGE = re.compile(r"0|[1-9][0-9]{0,5}")

#: Why a run whose request the client cancelled was stopped.
_CANCELLED = "the client cancelled the request"

#: Why a task that needs approval cannot run through a client that cannot ask.
_CANNOT_ASK = "the client cannot ask the person (it offers no elicitation on this connection)"


def _plan_hash(workflow: Workflow) -> str:
    """The first 16 hex digits of a hash of the plan: the name a journal records its run under."""
    text = json.dumps(workflow.to_dict(), sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


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
        shown = ", ".join(f"{name}: {value}" for name, value in shown_arguments(arguments))
        answer = await ctx.session.elicit_form(
            f"dagexec: may task {task.id!r} call {task.tool} with {{{shown}}}?",
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
        typed_plans: Offer ``run_workflow``'s input schema limited to the
            downstream tools (one branch per tool, its arguments checked by
            the tool's input schema; see :func:`~dagexec.workflow_schema`),
            so a client's model can write only plans that fit; the general
            plan schema when the limited one is over 256 Ki characters.
        options: Options of :class:`~dagexec.EagerExecutor`. With a
            ``journal``, each plan is recorded under a run name of its own,
            ``plan-`` and a hash of the plan: a plan sent again reuses every
            task of it that succeeded. Each direct call is recorded under a
            name of its own, and never reused.

    Attributes:
        executor: The executor every run goes through.
        server: The SDK's low-level MCP server: serve it over any transport.
    """

    def __init__(
        self,
        servers: Mapping[str, ToolServer],
        *,
        timeout: float | None = None,
        typed_plans: bool = False,
        **options: Any,
    ) -> None:
        self.executor = EagerExecutor(servers, approve=self._approve, **options)
        if timeout is not None and not timeout > 0:
            raise ValueError("timeout must be > 0")
        self._timeout = timeout
        self._journaled = self.executor.options.journal is not None
        #: The outputs too large for a reply, kept as resources.
        self._outputs = OutputStore()
        #: The tools it offers; each proxied tool's name, mapped to its (server, tool).
        self._tools, self._proxied = gateway_tools(servers, typed_plans=typed_plans)
        #: The tools in pages, for ``tools/list``: each page one message of at most 512 KiB.
        self._pages = tool_pages(self._tools)
        self.server: Server[Any] = Server(
            "dagexec",
            version=_version,
            instructions="Run a whole plan of tool calls with run_workflow, rather than one call at a time.",
            on_list_tools=self._list_tools,
            on_call_tool=self._call_tool,
            on_read_resource=self._read_resource,
        )

    @property
    def tools(self) -> list[mcp_types.Tool]:
        """The tools the gateway offers."""
        return list(self._tools)

    async def _list_tools(
        self, ctx: ServerRequestContext[Any], params: mcp_types.PaginatedRequestParams | None
    ) -> mcp_types.ListToolsResult:
        """A page of the tools (see :func:`tool_pages`); its cursor is the next page's number.

        Raises:
            MCPError: The cursor is no page's (-32602, as the MCP spec asks).
        """
        cursor = params.cursor if params is not None else None
        page = 0 if cursor is None else int(cursor) if _PAGE.fullmatch(cursor) else len(self._pages)
        if page >= len(self._pages):
            raise MCPError(mcp_types.INVALID_PARAMS, f"no page of tools has the cursor {shortened(cursor or '', 40)!r}")
        more = page + 1 < len(self._pages)
        return mcp_types.ListToolsResult(tools=self._pages[page], next_cursor=str(page + 1) if more else None)

    async def _read_resource(
        self, ctx: ServerRequestContext[Any], params: mcp_types.ReadResourceRequestParams
    ) -> mcp_types.ReadResourceResult:
        return self._outputs.read(params.uri)

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
            return mcp_types.CallToolResult(content=[text_block(f"unknown tool {name!r}")], is_error=True)
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
            ``isError`` with the task's error code and message. An output
            too large for one reply is kept as resources, linked from it.

        Raises:
            KeyError: No proxied tool has that name.
        """
        server, tool = self._proxied[name]
        try:
            workflow = await self._check(
                {"tasks": [{"id": name, "tool": f"{server}:{tool}", "arguments": escaped(arguments)}]}
            )
        except DagexecError as exc:
            return refusal_result(exc)
        try:
            done = await self._execute(workflow, None, f"call-{secrets.token_hex(8)}" if self._journaled else None)
        except DagexecError as exc:  # the journal: it cannot be written, or is in use
            return refusal_result(exc)
        reply, output = call_reply(done.results[0])
        if reply is None:
            parts = await self._keep(lambda file: file.uris(0, file.add([json.dumps(output)])))
            reply = kept_call_reply(parts, self._outputs)
        return reply

    async def _keep(self, write: Callable[[OutputFile], T]) -> T | OSError:
        """Keep a reply's outputs as resources (see :meth:`OutputStore.put`): what ``write`` gives, or why not."""
        try:
            return await self._outputs.put(write)
        except OSError as exc:  # a full disk, say: the reply says so, and the run's statuses still reach the client
            return exc

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
            problem, nothing run. An answer over 512 KiB keeps the outputs,
            or the whole run's data, as resources (see :doc:`/serve`).
        """
        try:
            workflow = await self._check(plan)
        except DagexecError as exc:
            return refusal_result(exc)
        run_name = f"plan-{_plan_hash(workflow)}" if self._journaled else None
        journal_error: str | None = None
        try:
            result = await self._execute(workflow, progress, run_name)
        except JournalFailedError as exc:  # mid-run: the run stopped, every task with its status
            result, journal_error = exc.result, str(exc)
        except DagexecError as exc:  # the journal: it cannot be written, or is in use
            return refusal_result(exc)
        large = len(result.results) >= TRIM_AFTER
        reply = await self._run_reply(result, journal_error)
        if large:
            # It outlives this call: the answer is written after this returns.
            trio.lowlevel.spawn_system_task(give_back_memory)
        return reply

    async def _run_reply(self, result: ExecutionResult, journal_error: str | None) -> mcp_types.CallToolResult:
        """``run_workflow``'s answer to a run: whole if it fits, else with its outputs kept as resources, else with
        the whole run's data kept as resources (see :data:`~dagexec.serve._outputs.REPLY_LIMIT`).

        Only a reply that fits builds the run's data whole: a large plan's is
        written a task at a time.
        """
        summary = summary_text(result, journal_error=journal_error)
        whole, kept = reply_fits(result)
        if whole or kept:
            data = run_data(result, journal_error=journal_error)
            reply = run_reply(data, summary) if whole else None
            if reply is None:
                parts = await self._keep(functools.partial(write_outputs, data))
                reply = kept_run_reply(data, summary, parts, self._outputs)
            if reply is not None:
                return reply
        write = functools.partial(write_run, result, journal_error=journal_error)
        return run_kept_reply(result, summary, await self._keep(write), self._outputs, journal_error=journal_error)

    async def _execute(self, workflow: Workflow, progress: Progress | None, run_name: str | None) -> ExecutionResult:
        """Run ``workflow``, reporting each task's end; the caller's cancellation stops it with ``Run.stop``.

        ``run_name`` names the run in the journal (None: there is no journal).

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
                        named = {} if run_name is None else {"run_name": run_name}
                        try:
                            async with self.executor.open_run(
                                workflow,
                                timeout=self._timeout,
                                on_event=on_event if progress is not None else None,  # else nothing reads them
                                **named,
                            ) as run:
                                outside.start_soon(run.stop_when_cancelled, _CANCELLED)
                        except DagexecError as exc:  # before the run: raised below, not in a group
                            failure = exc
            outside.cancel_scope.cancel()
        if failure is not None:
            raise failure
        assert run is not None
        return run.result

    async def serve_stdio(self, *, stdin: int = 0, stdout: int = 1, max_message: int = MAX_MESSAGE) -> None:
        """Serve MCP over standard input and output until the client closes its end.

        While serving, descriptors ``stdin`` and ``stdout`` point at the null
        device and at standard error, so that a stray print cannot break the
        messages; both are restored on return. Cancel the caller to stop
        serving at once.

        Every line that is no message the gateway can read is answered with a
        JSON-RPC error, so that no client waits for ever: -32700 (parse error)
        for one that is not JSON, or nested too deeply; -32600 (invalid
        request) for JSON that is no JSON-RPC message, and for a message over
        ``max_message`` bytes (64 MiB by default), whose bytes are dropped as
        they arrive. The error carries the request's ``id`` where it can be
        read.
        """
        await serve_stdio(self.server, stdin=stdin, stdout=stdout, max_message=max_message)

    async def serve_http(
        self,
        host: str,
        port: int,
        *,
        token: str | None = None,
        allowed_hosts: Iterable[str] = (),
        allowed_origins: Iterable[str] = (),
        session_idle: float = SESSION_IDLE,
        max_sessions: int = MAX_SESSIONS,
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
            session_idle: Seconds after which a session with no request
                under way ends (its id then answers 404, and the client
                starts a new session).
            max_sessions: The most sessions open at once: a new session
                beyond closes the one idle longest (never one with a request
                under way), so that no flood of unused sessions locks a new
                client out.
            task_status: Told the bound addresses (``http://127.0.0.1:8000``)
                once the gateway listens.

        Raises:
            ValueError: ``host`` is not a loopback address and there is no ``token``.
            ImportError: hypercorn is missing (the ``serve`` extra).
        """
        app = self.http_app(
            host,
            port,
            token=token,
            allowed_hosts=allowed_hosts,
            allowed_origins=allowed_origins,
            session_idle=session_idle,
            max_sessions=max_sessions,
        )
        await serve_http(app, host, port, task_status=task_status)

    def http_app(
        self,
        host: str,
        port: int,
        *,
        token: str | None = None,
        allowed_hosts: Iterable[str] = (),
        allowed_origins: Iterable[str] = (),
        session_idle: float = SESSION_IDLE,
        max_sessions: int = MAX_SESSIONS,
    ) -> Any:
        """The ASGI app :meth:`serve_http` serves, for an ASGI server of your own (its lifespan must run).

        Args and Raises: as for :meth:`serve_http`, whose checks and sessions it holds.
        """
        return http_app(
            self.server,
            host,
            port,
            token=token,
            allowed_hosts=allowed_hosts,
            allowed_origins=allowed_origins,
            session_idle=session_idle,
            max_sessions=max_sessions,
        )


@asynccontextmanager
async def open_gateway(
    config: str | os.PathLike[str] | Mapping[str, Any],
    *,
    start_timeout: float = 30.0,
    **options: Any,
) -> AsyncIterator[Gateway]:
    """Start every server of a config, and yield a :class:`Gateway` in front of them.

    Each stdio server is a :class:`~dagexec.serve.RestartingServer`: when it dies, it is
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
    async with open_supervised(config, start_timeout=start_timeout) as servers:
        gateway = Gateway(servers, **options)
        try:
            yield gateway
        finally:
            gateway._outputs.close()
