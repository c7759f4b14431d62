"""CPU-bound tools on a Dask distributed cluster (the ``dask`` extra).

MCP tools are I/O: one trio process keeps thousands of calls in flight. Python
tools that compute are different — threads share one interpreter lock — and a
workflow that outgrows one machine needs a cluster. :class:`DaskTools` hands such
tools to Dask's distributed scheduler while dagexec stays the eager coordinator:
each call is one future on the cluster, submitted the moment its task is ready.

Example::

    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, processes=True) as cluster, Client(cluster) as client:
        servers = {"cpu": DaskTools(client, {"fit": fit_model}), "web": LocalTools({...})}
        result = trio.run(EagerExecutor(servers).execute, workflow)

A ``dask`` entry of a servers config is started here too, by
:func:`~dagexec.servers.open_servers`: it connects to a scheduler, or starts a
local cluster for the run, and serves its tools as :class:`DaskTools`.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import trio

from ._errors import NoSuchToolError, ServerError, ServerStartError, describe
from ._tools import ToolServer

if TYPE_CHECKING:
    from ._config import DaskServerConfig

try:
    import distributed
    from distributed import Client, Future, LocalCluster
    from distributed.comm.core import CommClosedError
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("dagexec.dask needs the dask extra: pip install 'dagexec[dask]'") from exc

__all__ = ["DaskTools", "load_registry"]

#: How long cancelling a future on the cluster may take before it is abandoned.
CANCEL_TIMEOUT = 5.0


def _apply(fn: Callable[..., Any], arguments: dict[str, Any]) -> Any:
    """Runs on a worker: the tool with its arguments as keywords.

    (Passing them to ``client.submit`` directly would mix them up with its own
    keywords, such as ``key``, ``priority`` or ``retries``.)
    """
    return fn(**arguments)


class DaskTools(ToolServer):
    """Python callables served as tools, each call a future on a Dask cluster.

    Waiting for a future never blocks the trio loop: the future's done callback
    wakes the waiting task through its trio token. A task's timeout, a run's
    stop and the caller's cancellation cancel the future on the cluster.

    A call's errors: the function's own exception fails the task with
    ``tool_error``, as for a local tool. A worker that dies fails the calls it
    ran with ``server_error`` — once Dask gave up re-running them elsewhere: the
    scheduler re-runs a task whose worker died up to
    ``distributed.scheduler.allowed-failures`` times (3 by default) before it
    reports ``KilledWorker`` — and the task's retry policy then applies as for
    any ``server_error``. A lost connection to the scheduler is a
    ``server_error`` too.

    Outputs come back to this process (the coordinator) and are handed on to
    the next tasks as they are: a large output crosses the network twice, worker
    to coordinator and coordinator to the next worker.

    Args:
        client: A connected ``distributed.Client`` (synchronous, the default).
        tools: Each tool's name, mapped to its function; the functions must be
            importable by the workers (defined in a module, not in ``__main__``,
            or picklable by value).
    """

    def __init__(self, client: Client, tools: Mapping[str, Callable[..., Any]]) -> None:
        self.client = client
        self._tools = dict(tools)

    def __repr__(self) -> str:
        return f"DaskTools({sorted(self._tools)!r})"

    @property
    def tool_names(self) -> frozenset[str]:
        """The names of the tools."""
        return frozenset(self._tools)

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> Any:
        """Run tool ``name`` on the cluster and wait for its output.

        Raises:
            NoSuchToolError: There is no tool of that name.
            ServerError: A worker died running it (``KilledWorker``), the
                future was cancelled on the cluster, or the scheduler is gone.
        """
        try:
            fn = self._tools[name]
        except KeyError:
            raise NoSuchToolError(f"no tool {name!r}; tools: {', '.join(sorted(self._tools))}") from None
        token = trio.lowlevel.current_trio_token()
        done = trio.Event()

        def wake(_: Future[Any]) -> None:  # in a Dask callback thread
            with contextlib.suppress(trio.RunFinishedError):
                token.run_sync_soon(done.set)

        try:
            future: Future[Any] = self.client.submit(_apply, fn, arguments, pure=False)
        except Exception as exc:
            raise ServerError(f"cannot submit to the cluster: {type(exc).__name__}: {exc}") from None
        future.add_done_callback(wake)  # type: ignore[no-untyped-call]
        try:
            await done.wait()
        except BaseException:
            with trio.CancelScope(shield=True, deadline=trio.current_time() + CANCEL_TIMEOUT):
                await trio.to_thread.run_sync(future.cancel, abandon_on_cancel=True)
            raise
        try:
            status = future.status
            if status == "finished":
                return await trio.to_thread.run_sync(future.result)
            if status == "cancelled":
                raise ServerError("the call was cancelled on the cluster")
            error = await trio.to_thread.run_sync(future.exception)
        finally:
            future.release()  # type: ignore[no-untyped-call]  # the scheduler may forget the call now, whatever holds on to this frame
        if isinstance(error, distributed.KilledWorker):
            raise ServerError(f"a worker died running the call ({error})")
        if isinstance(error, OSError | CommClosedError):
            raise ServerError(f"the cluster is unreachable: {type(error).__name__}: {error}")
        assert error is not None
        raise error


def load_registry(spec: str) -> dict[str, Callable[..., Any]]:
    """Import a tool registry named ``"package.module:name"``: a mapping of names to functions.

    Raises:
        ValueError: The spec is malformed, the module or the name is missing, or
            it is not a mapping of names to callables.
    """
    module_name, sep, attribute = spec.partition(":")
    if not (sep and module_name and attribute):
        raise ValueError(f"expected 'package.module:name', got {spec!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import {module_name!r}: {exc}") from None
    try:
        registry = functools.reduce(getattr, attribute.split("."), module)
    except AttributeError:
        raise ValueError(f"{module_name!r} has no {attribute!r}") from None
    if not isinstance(registry, Mapping) or not all(
        isinstance(k, str) and callable(v) for k, v in registry.items()
    ):
        raise ValueError(f"{spec!r} is not a mapping of tool names to functions")
    return dict(registry)


async def _serve_dask(
    name: str, config: DaskServerConfig, start_timeout: float, *, task_status: trio.TaskStatus[ToolServer]
) -> None:
    """Connect to (or start) a Dask cluster and hold it until cancelled."""
    try:
        tools = load_registry(config.tools)
    except ValueError as exc:
        raise ServerStartError(name, str(exc)) from None
    cluster: LocalCluster | None = None
    client: Client | None = None
    try:
        with trio.fail_after(start_timeout):
            if config.local is not None:
                local = config.local
                cluster = await trio.to_thread.run_sync(
                    functools.partial(
                        LocalCluster,
                        n_workers=local.n_workers,
                        threads_per_worker=local.threads_per_worker,
                        processes=True,
                        dashboard_address=":0",
                    ),
                    abandon_on_cancel=True,
                )
            address = config.scheduler if cluster is None else cluster
            client = await trio.to_thread.run_sync(
                functools.partial(Client, address, timeout=start_timeout), abandon_on_cancel=True
            )
    except trio.TooSlowError:
        raise ServerStartError(name, f"no Dask scheduler answered within {start_timeout} s") from None
    except Exception as exc:
        raise ServerStartError(name, describe(exc)) from None
    try:
        task_status.started(DaskTools(client, tools))
        await trio.sleep_forever()
    finally:
        with trio.CancelScope(shield=True):
            await trio.to_thread.run_sync(client.close)
            if cluster is not None:
                await trio.to_thread.run_sync(cluster.close)
