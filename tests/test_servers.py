"""The servers config needs no extra to load; starting an entry asks for its own.

Each test runs Python in a subprocess where the extras' packages cannot be
imported, as in an environment that never installed them.
"""

from __future__ import annotations

import configparser
import subprocess
import sys
import textwrap

import pytest

from .helpers import ENV, EXAMPLES, ROOT

# Makes the named top-level packages (and their submodules) impossible to import; then a
# config with an entry of each kind.
BLOCK = """
import importlib.abc
import sys

BLOCKED = {blocked!r}


class NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None


sys.meta_path.insert(0, NotInstalled())

CONFIG = {{
    "mcpServers": {{
        "time": {{"command": sys.executable, "args": ["-m", "mcp_server_time"]}},
        "api": {{"url": "http://127.0.0.1:9/mcp"}},
        "cpu": {{"dask": {{"local": {{"n_workers": 1}}, "tools": "tests.dask_tools:TOOLS"}}}},
    }}
}}
"""

MCP_SDK = ["mcp", "mcp_types", "httpx2"]
DASK = ["distributed", "dask"]


def run_blocked(blocked: list[str], code: str) -> list[str]:
    script = BLOCK.format(blocked=set(blocked)) + textwrap.dedent(code)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


def test_a_config_loads_without_any_extra() -> None:
    lines = run_blocked(
        MCP_SDK + DASK,
        """
        from dagexec.servers import load_config

        for name, config in load_config(CONFIG).items():
            print(name, type(config).__name__)
        """,
    )
    assert lines == ["time StdioServerConfig", "api HttpServerConfig", "cpu DaskServerConfig"]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("time", "server 'time' did not start: dagexec.mcp needs the mcp extra: pip install 'dagexec[mcp]'"),
        ("api", "server 'api' did not start: dagexec.mcp needs the mcp extra: pip install 'dagexec[mcp]'"),
        ("cpu", "server 'cpu' did not start: dagexec.dask needs the dask extra: pip install 'dagexec[dask]'"),
    ],
)
def test_starting_an_entry_asks_for_its_extra(entry: str, message: str) -> None:
    lines = run_blocked(
        MCP_SDK + DASK,
        f"""
        import trio

        from dagexec import ServerStartError
        from dagexec.servers import open_servers

        async def main():
            config = {{"mcpServers": {{{entry!r}: CONFIG["mcpServers"][{entry!r}]}}}}
            try:
                async with open_servers(config):
                    print("started")
            except ServerStartError as exc:
                print(exc)

        trio.run(main)
        """,
    )
    assert lines == [message]


def test_the_mcp_modules_do_not_import_dask() -> None:
    lines = run_blocked(
        [],
        """
        import dagexec.mcp
        import dagexec.servers

        print(sorted(m for m in sys.modules if m.partition(".")[0] in {"dask", "distributed"}))
        """,
    )
    assert lines == ["[]"]


def test_the_config_names_dagexec_mcp_had_still_work() -> None:
    import dagexec.mcp
    import dagexec.servers

    assert dagexec.mcp.StdioServerConfig is dagexec.servers.StdioServerConfig
    assert dagexec.mcp.DaskServerConfig is dagexec.servers.DaskServerConfig
    assert dagexec.mcp.ServerStartError is dagexec.ServerStartError
    # open_servers and load_config live in dagexec.servers alone: dagexec.servers
    # starts MCP entries through dagexec.mcp, which so imports nothing back.
    assert not hasattr(dagexec.mcp, "open_servers") and not hasattr(dagexec.mcp, "load_config")


# -- the command line, installed without any extra ----------------------------------------

CLI = """
import runpy

sys.argv = ["dagexec", *sys.argv[1:]]
runpy.run_module("dagexec", run_name="__main__", alter_sys=True)
"""


def dagexec_blocked(*args: str, columns: str | None = "120") -> subprocess.CompletedProcess[str]:
    """``dagexec ARGS`` where neither the MCP SDK nor Dask (nor matplotlib) can be imported."""
    script = BLOCK.format(blocked=set(MCP_SDK + DASK + ["matplotlib"])) + CLI
    env = {key: value for key, value in ENV.items() if key != "COLUMNS"} | ({"COLUMNS": columns} if columns else {})
    return subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=120, cwd=EXAMPLES,
        env=env, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_demo_and_validate_need_no_extra() -> None:
    demo = dagexec_blocked("demo", "--speed", "50")
    assert demo.returncode == 0, demo.stderr
    assert "eager" in demo.stdout and "layered" in demo.stdout and demo.stderr == ""
    validate = dagexec_blocked("validate", "time-workflow.json")
    assert validate.returncode == 0, validate.stderr
    assert validate.stdout.splitlines()[-1] == "longest chain (2 tasks): utc -> paris"


def test_run_asks_for_the_mcp_extra_in_one_line() -> None:
    # One line, also where stderr is no terminal of 120 columns (a log file).
    out = dagexec_blocked("run", "time-workflow.json", "--servers", "servers.json", columns=None)
    assert out.returncode == 2
    assert out.stdout == ""
    assert out.stderr == (
        "error: server 'time' did not start: dagexec.mcp needs the mcp extra: pip install 'dagexec[mcp]'\n"
    )


def test_a_plain_install_has_what_the_command_line_needs() -> None:
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    requires = setup["options"]["install_requires"].split()
    extras = {name: value.split() for name, value in setup["options.extras_require"].items()}
    assert "rich" in requires  # the command line's one dependency beyond the library's
    assert extras["cli"] == extras["mcp"]  # "cli" stays, as an alias
    assert {"mcp", "distributed"} <= set(extras["docs"])  # what the docs build imports
