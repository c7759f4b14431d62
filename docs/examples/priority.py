"""Under a limit of two calls: critical-path priority against first come, first served.

A plan with a chain of three slow calls and four quick lookups that the planner
listed first; then the mean makespan over its lower bound on 150 random plans,
for each priority. Everything runs in virtual time (trio's ``MockClock``): every
makespan is exact, the same on any machine, and the script takes about a second.
"""

from __future__ import annotations

import random
from typing import Any

import trio
import trio.testing

from dagexec import EagerExecutor, ExecutionResult, LocalTools, Priority, Workflow

#: Seconds each simulated tool takes; each task's ``estimate`` says the same.
LATENCY = {"lookup": 0.5, "search": 1.0, "fetch": 1.0, "summarize": 1.0, "draft": 0.5}
LIMIT = 2


def _task(id: str, tool: str, **arguments: Any) -> dict[str, Any]:
    return {"id": id, "tool": f"sim:{tool}", "arguments": arguments, "estimate": LATENCY[tool]}


plan = Workflow.from_dict(
    {
        "tasks": [
            *(_task(topic, "lookup", topic=topic) for topic in ("weather", "calendar", "stocks", "news")),
            _task("search", "search", query="eager DAG scheduling"),
            _task("paper", "fetch", url="$OUTPUT[search]"),
            _task("summary", "summarize", text="$OUTPUT[paper]"),
            _task(
                "brief",
                "draft",
                sections=["$OUTPUT[weather]", "$OUTPUT[calendar]", "$OUTPUT[stocks]", "$OUTPUT[news]",
                          "$OUTPUT[summary]"],
            ),
        ]
    }
)  # fmt: skip


async def lookup(topic: str) -> str:
    await trio.sleep(LATENCY["lookup"])
    return f"today's {topic}"


async def search(query: str) -> str:
    await trio.sleep(LATENCY["search"])
    return "https://example.org/paper"


async def fetch(url: str) -> str:
    await trio.sleep(LATENCY["fetch"])
    return f"the text of {url}"


async def summarize(text: str) -> str:
    await trio.sleep(LATENCY["summarize"])
    return f"a summary of {text}"


async def draft(sections: list[str]) -> str:
    await trio.sleep(LATENCY["draft"])
    return "\n".join(sections)


servers = {"sim": LocalTools({"lookup": lookup, "search": search, "fetch": fetch, "summarize": summarize,
                              "draft": draft})}  # fmt: skip


def run_virtual(workflow: Workflow, executor: EagerExecutor) -> ExecutionResult:
    """Run ``workflow`` under trio's ``MockClock``: the tools' sleeps take no real time."""

    async def main() -> ExecutionResult:
        return await executor.execute(workflow)

    return trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))


def compare() -> dict[Priority, ExecutionResult]:
    """The plan under the limit, once with each priority."""
    return {
        priority: run_virtual(plan, EagerExecutor(servers, max_concurrency=LIMIT, priority=priority))
        for priority in ("fifo", "critical_path")
    }


def lower_bound(workflow: Workflow, limit: int) -> float:
    """What no schedule beats: the critical path, and the total work over the slots."""
    critical = workflow.critical_path(lambda task: task.estimate)[1]
    return max(critical, sum(task.estimate for task in workflow.tasks) / limit)


async def sleep(seconds: float) -> None:
    await trio.sleep(seconds)


def random_plan(rnd: random.Random) -> Workflow:
    """1 to 25 tasks, each depending on up to three of the eight before it, of 0.1 to 2 s.

    The durations are drawn from a continuous range, so that no two calls end at
    the same instant: calls that end together are handled in the order trio
    wakes them, which is random, and the figures would move from run to run.
    Each task's ``estimate`` is its exact duration.
    """
    ids = [f"t{i}" for i in range(rnd.randint(1, 25))]
    deps = {tid: rnd.sample(ids[max(0, i - 8) : i], min(i, 8, rnd.randint(0, 3))) for i, tid in enumerate(ids)}
    seconds = {tid: rnd.uniform(0.1, 2.0) for tid in ids}
    tasks = [
        {"id": tid, "tool": "sim:sleep", "arguments": {"seconds": seconds[tid]}, "depends_on": deps[tid],
         "estimate": seconds[tid]}
        for tid in ids
    ]  # fmt: skip
    return Workflow.from_dict({"tasks": tasks})


def aggregate(plans: int = 150, seed: int = 20261128) -> dict[Priority, list[float]]:
    """Makespan over the lower bound, for each priority, on ``plans`` random plans under limits of 1 to 4."""
    rnd = random.Random(seed)
    sim = {"sim": LocalTools({"sleep": sleep})}
    ratios: dict[Priority, list[float]] = {"critical_path": [], "fifo": []}
    for _ in range(plans):
        workflow = random_plan(rnd)
        limit = rnd.randint(1, 4)
        for priority, found in ratios.items():
            run = run_virtual(workflow, EagerExecutor(sim, max_concurrency=limit, priority=priority))
            found.append(run.wall_time / lower_bound(workflow, limit))
    return ratios


def figures() -> dict[str, Any]:
    """The figures the concepts page states: the two runs of the plan, and the aggregate."""
    runs = compare()
    ratios = aggregate()
    cp, fifo = ratios["critical_path"], ratios["fifo"]
    return {
        "bound": lower_bound(plan, LIMIT),
        "fifo": runs["fifo"].wall_time,
        "critical_path": runs["critical_path"].wall_time,
        "plans": len(cp),
        "mean_critical_path": sum(cp) / len(cp),
        "mean_fifo": sum(fifo) / len(fifo),
        "sooner": sum(c < f - 1e-9 for c, f in zip(cp, fifo, strict=True)),
        "later": sum(c > f + 1e-9 for c, f in zip(cp, fifo, strict=True)),
        "worst_loss": max(c / f for c, f in zip(cp, fifo, strict=True)) - 1,
    }


def main() -> None:
    for priority, run in compare().items():
        first = [r.task_id for r in run.results if r.started_at == 0]
        print(f"{priority}: {run.wall_time:.1f} s, starts {' and '.join(first)}")
    f = figures()
    print(f"lower bound: {f['bound']:.1f} s")
    print(
        f"{f['plans']} random plans, mean makespan / lower bound: "
        f"critical_path {f['mean_critical_path']:.3f}, fifo {f['mean_fifo']:.3f}"
    )
    print(
        f"critical_path finished first on {f['sooner']}, later on {f['later']} "
        f"(by at most {f['worst_loss'] * 100:.0f} %), at the same time on {f['plans'] - f['sooner'] - f['later']}"
    )


if __name__ == "__main__":
    main()
