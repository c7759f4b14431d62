"""Stop a run from outside (here: on SIGTERM) and still get every task's final status."""

from __future__ import annotations

import os
import signal

import trio

from dagexec import EagerExecutor, Event, LocalTools, Run, TaskFinished, Workflow


async def work(seconds: float) -> str:
    await trio.sleep(seconds)
    return f"slept {seconds:g} s"


workflow = Workflow.from_dict(
    {
        "tasks": [
            {"id": "quick", "tool": "w:work", "arguments": {"seconds": 0.01}},
            {"id": "slow", "tool": "w:work", "arguments": {"seconds": 60}},
            {"id": "after", "tool": "w:work", "arguments": {"seconds": 0.01}, "depends_on": ["slow"]},
        ]
    }
)


async def stop_on_signals(run: Run) -> None:
    """What a command line does: SIGINT or SIGTERM stops the run, and nothing is lost."""
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            run.stop(f"{signal.Signals(signum).name} received")


def on_event(event: Event) -> None:
    if isinstance(event, TaskFinished) and event.task_id == "quick":
        os.kill(os.getpid(), signal.SIGTERM)  # stands in for `kill`, `timeout` or systemd


async def main() -> None:
    executor = EagerExecutor({"w": LocalTools({"work": work})})
    async with trio.open_nursery() as nursery:
        async with executor.open_run(workflow, on_event=on_event) as run:
            nursery.start_soon(stop_on_signals, run)
        nursery.cancel_scope.cancel()  # the run is over: stop listening
    for result in run.result.results:
        detail = result.error.message if result.error else result.output
        print(f"{result.task_id:6} {result.status:9} {detail}")


if __name__ == "__main__":
    trio.run(main)
