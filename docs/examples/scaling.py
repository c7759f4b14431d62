"""CPU-bound tools on a Dask cluster, next to an I/O tool that stays local."""

import sys
from pathlib import Path

import trio
from distributed import Client, LocalCluster

sys.path.insert(0, str(Path(__file__).parent))  # the workers import dask_tools too

from dask_tools import TOOLS  # noqa: E402

from dagexec import EagerExecutor, LocalTools, Workflow  # noqa: E402
from dagexec.dask import DaskTools  # noqa: E402


async def report(text: str) -> str:  # an I/O tool: it stays in the trio process
    await trio.sleep(0.01)
    return text


workflow = Workflow.from_dict(
    {
        "tasks": [
            *({"id": f"chunk{i}", "tool": "cpu:count_primes", "arguments": {"below": 300_000 + i}}
              for i in range(4)),
            {"id": "sum", "tool": "cpu:total",
             "arguments": {"counts": [f"$OUTPUT[chunk{i}]" for i in range(4)]}},
            {"id": "report", "tool": "local:report", "arguments": {"text": "primes: $OUTPUT[sum]"}},
        ]
    }
)  # fmt: skip


def main() -> None:
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        with Client(cluster) as client:
            servers = {"cpu": DaskTools(client, TOOLS), "local": LocalTools({"report": report})}
            result = trio.run(EagerExecutor(servers).execute, workflow)
    print(result["report"].output)


if __name__ == "__main__":
    main()
