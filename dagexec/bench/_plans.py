"""``dagexec bench --part plans``: eager against layered on plans that planners published.

Each plan graph (see :mod:`dagexec.bench._plan_sets`) runs in virtual time
(trio's ``MockClock``: exact, the same on any machine), each task a simulated
tool that sleeps a duration drawn from a lognormal distribution (median 1 s,
sigma 0.5, 1 and 1.5: the heavier the tail, the more uneven the calls), seeded by
the plan's id, sigma and the draw: the same figures on every run. Each draw runs

- eager (:class:`~dagexec.EagerExecutor`), layered
  (:class:`~dagexec.LayeredExecutor`) and one call at a time
  (``max_concurrency=1``), each as a ratio to the plan's critical path (the
  heaviest chain of drawn durations: what no schedule beats);
- eager under limits of 2 and 4 calls in flight, first come first served
  (``priority="fifo"``) and critical-path priority, each as a ratio to
  ``max(critical path, work / limit)``, the lower bound under the limit. The
  plans carry no estimates (a planner knows no durations): critical-path
  priority ranks by the number of calls left on the path.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Mapping, Sequence
from typing import Any

import trio
import trio.testing

from .. import EagerExecutor, ExecutionResult, LayeredExecutor, LocalTools, Priority, Workflow
from ._plan_sets import PlanSet, vendored_sets

SIGMAS = (0.5, 1.0, 1.5)
LIMITS = (2, 4)
PRIORITIES: tuple[Priority, ...] = ("fifo", "critical_path")
#: Plans per set (a seeded sample) and draws per plan and sigma: quick, then full.
QUICK_PLANS, QUICK_DRAWS, FULL_DRAWS = 10, 1, 10


async def _sleep(seconds: float) -> None:
    await trio.sleep(seconds)


SERVERS = {"sim": LocalTools({"sleep": _sleep})}


def draw_durations(plan: Mapping[str, Any], sigma: float, draw: int) -> dict[str, float]:
    """Each task's duration: lognormal, median 1 s, seeded by the plan's id, ``sigma`` and ``draw``."""
    rnd = random.Random(f"{plan['id']}/{sigma}/{draw}")
    return {task["id"]: rnd.lognormvariate(0.0, sigma) for task in plan["tasks"]}


def timed_workflow(plan: Mapping[str, Any], durations: Mapping[str, float]) -> Workflow:
    """The plan with each task a simulated tool (``sim:sleep``) that sleeps its duration."""
    return Workflow.from_dict(
        {
            "tasks": [
                {"id": t["id"], "tool": "sim:sleep", "arguments": {"seconds": durations[t["id"]]},
                 "depends_on": t["depends_on"]}
                for t in plan["tasks"]
            ]
        }
    )  # fmt: skip


def critical_path(workflow: Workflow, durations: Mapping[str, float]) -> float:
    """The heaviest chain of ``durations`` through the workflow: the makespan no schedule beats."""
    return workflow.critical_path(lambda task: durations[task.id])[1]


def has_parallelism(plan: Mapping[str, Any]) -> bool:
    """Whether two of the plan's tasks may run at once: some layer holds two or more."""
    workflow = Workflow.from_dict({"tasks": plan["tasks"]})
    return any(len(layer) > 1 for layer in workflow.generations)


def _executors() -> dict[str, EagerExecutor | LayeredExecutor]:
    # The simulated tool's schema is not what is measured: no check.
    runs: dict[str, EagerExecutor | LayeredExecutor] = {
        "eager": EagerExecutor(SERVERS, check_schemas=False),
        "layered": LayeredExecutor(SERVERS, check_schemas=False),
        "one at a time": EagerExecutor(SERVERS, max_concurrency=1, check_schemas=False),
    }
    for k in LIMITS:
        for priority in PRIORITIES:
            runs[f"{k}/{priority}"] = EagerExecutor(SERVERS, max_concurrency=k, priority=priority, check_schemas=False)
    return runs


EXECUTORS = _executors()


async def makespans(workflow: Workflow) -> dict[str, float]:
    """The plan's makespan for each way of running it (call in virtual time: ``MockClock``).

    Keys: ``eager``, ``layered``, ``one at a time``, and ``k/priority`` for each
    limit and priority (``2/fifo``, ...).
    """
    times = {}
    for name, executor in EXECUTORS.items():
        result: ExecutionResult = await executor.execute(workflow)
        if not result.ok:  # pragma: no cover - simulated tools do not fail
            raise RuntimeError(f"the simulated plan failed: {result.errors[0].error}")
        times[name] = result.wall_time
    return times


def _p95(values: Sequence[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18] if len(values) > 1 else values[0]


def _sample(plan_set: PlanSet, quick: bool) -> list[Mapping[str, Any]]:
    plans = list(plan_set.plans)
    if quick and len(plans) > QUICK_PLANS:
        chosen = sorted(random.Random(plan_set.name).sample(range(len(plans)), QUICK_PLANS))
        plans = [plans[i] for i in chosen]
    return plans


async def _measure(plans: Sequence[Mapping[str, Any]], sigma: float, draws: int) -> dict[str, Any]:
    ratios: dict[str, list[float]] = {"eager": [], "layered": [], "one at a time": []}
    limited: dict[str, list[float]] = {}
    exact = True
    held_back = 0  # plans where layered took longer than the critical path in some draw
    for plan in plans:
        slower = False
        for draw in range(draws):
            durations = draw_durations(plan, sigma, draw)
            workflow = timed_workflow(plan, durations)
            critical = critical_path(workflow, durations)
            work = sum(durations.values())
            times = await makespans(workflow)
            exact &= abs(times["eager"] - critical) <= 1e-9 * max(1.0, critical)
            slower |= times["layered"] > critical * (1 + 1e-9)
            for name in ratios:
                ratios[name].append(times[name] / critical)
            for k in LIMITS:
                for priority in PRIORITIES:
                    limited.setdefault(f"{k}/{priority}", []).append(
                        times[f"{k}/{priority}"] / max(critical, work / k)
                    )
        held_back += slower
    layered = ratios["layered"]
    return {
        "sigma": sigma,
        "runs": len(layered),
        "layered_slower_plans": held_back,
        "one_at_a_time": statistics.fmean(ratios["one at a time"]),
        "layered_mean": statistics.fmean(layered),
        "layered_p95": _p95(layered),
        "layered_max": max(layered),
        "eager_mean": statistics.fmean(ratios["eager"]),
        "eager_max": max(ratios["eager"]),
        "eager_equals_critical_path": exact,
        "limited": [
            {"limit": int(key.split("/")[0]), "priority": key.split("/")[1],
             "mean": statistics.fmean(found), "max": max(found)}
            for key, found in limited.items()
        ],
    }  # fmt: skip


def bench_plans(quick: bool, sets: Sequence[PlanSet] | None = None) -> dict[str, Any]:
    """The plans part: every set's plans in virtual time, for each sigma (see the module's docstring).

    Args:
        quick: A seeded sample of each set's plans, one draw each.
        sets: The plan sets (default: the vendored ones, :func:`vendored_sets`).
    """
    started = time.perf_counter()
    sets = vendored_sets() if sets is None else sets
    draws = QUICK_DRAWS if quick else FULL_DRAWS

    async def main() -> list[dict[str, Any]]:
        found = []
        for plan_set in sets:
            plans = _sample(plan_set, quick)
            sizes = [len(plan["tasks"]) for plan in plans]
            found.append(
                {
                    "name": plan_set.name,
                    "plans": len(plans),
                    "of": len(plan_set.plans),
                    "skipped": len(plan_set.skipped),
                    "tasks_mean": statistics.fmean(sizes),
                    "tasks_max": max(sizes),
                    "parallel": sum(has_parallelism(plan) for plan in plans),
                    "rows": [await _measure(plans, sigma, draws) for sigma in SIGMAS],
                }
            )
        return found

    found = trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    return {
        "sigmas": list(SIGMAS),
        "draws": draws,
        "limits": list(LIMITS),
        "sets": found,
        "seconds": time.perf_counter() - started,
    }
