"""Servers configs as MCP clients write them: Claude Desktop, Claude Code, Cursor, VS Code, Cline, Roo Code, Windsurf.

The files under ``docs/examples/clients/`` are each client's documented shape;
the servers they name (npm packages, hosted services) are not run here: the
test toolbox stands in for them, over stdio, streamable HTTP and SSE.
"""

from __future__ import annotations

import json
import logging
import termios
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio

from dagexec import EagerExecutor, ErrorCode, ServerConfigError, ServerStartError, TaskStatus
from dagexec.servers import (
    IGNORED_KEYS,
    RENAMED_KEYS,
    HttpServerConfig,
    InputVariable,
    SseServerConfig,
    StdioServerConfig,
    load_config,
    open_servers,
)

from .helpers import (
    EXAMPLES,
    TOOLBOX,
    cli,
    free_port,
    on_a_terminal,
    processes_with,
    serving_http,
    toolbox,
    wf,
    write,
)

CLIENTS = EXAMPLES / "clients"

#: The variables of docs/examples/clients/.env, which the "envFile" entries name.
ENV_FILE = {"SEARCH_API_KEY": "from-the-env-file", "REGION": "eu-west"}


@pytest.fixture
def in_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in docs/examples/clients (where ``"envFile": ".env"`` is), with no variable of the examples set."""
    monkeypatch.chdir(CLIENTS)
    for name in ("API_KEY", "API_BASE_URL", "LOG_LEVEL", "GITHUB_TOKEN"):
        monkeypatch.delenv(name, raising=False)


# -- each client's file --------------------------------------------------------------------


def test_claude_desktop_config(in_clients: None) -> None:
    # The disabled entry is skipped.
    assert load_config("claude_desktop_config.json") == {
        "filesystem": StdioServerConfig(
            command="npx", args=("-y", "@modelcontextprotocol/server-filesystem", "/Users/username/Desktop")
        )
    }


def test_claude_code_mcp_json(in_clients: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_KEY", "k-123")
    assert load_config("claude-code.mcp.json") == {
        "everything": StdioServerConfig(
            command="npx", args=("-y", "@modelcontextprotocol/server-everything"), env={"LOG_LEVEL": "info"}
        ),
        "api": HttpServerConfig(url="https://api.example.com/mcp", headers={"Authorization": "Bearer k-123"}),
        "legacy": SseServerConfig(url="https://legacy.example.com/sse", headers={"X-API-Key": "k-123"}),
    }
    monkeypatch.setenv("API_BASE_URL", "http://127.0.0.1:9000")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    servers = load_config("claude-code.mcp.json")
    assert servers["api"] == HttpServerConfig(
        url="http://127.0.0.1:9000/mcp", headers={"Authorization": "Bearer k-123"}
    )
    assert servers["everything"].env == {"LOG_LEVEL": "debug"}  # type: ignore[union-attr]


def test_cursor_mcp_json(in_clients: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp-1")
    monkeypatch.setenv("API_KEY", "k-123")
    assert load_config("cursor-mcp.json") == {
        "github": StdioServerConfig(
            command="docker",
            args=("run", "-i", "--rm", "-e", "GITHUB_PERSONAL_ACCESS_TOKEN", "ghcr.io/github/github-mcp-server"),
            env={"GITHUB_PERSONAL_ACCESS_TOKEN": "ghp-1"},
        ),
        "search": StdioServerConfig(command="npx", args=("-y", "mcp-server"), env=ENV_FILE),
        "remote": HttpServerConfig(url="http://localhost:3000/mcp", headers={"API_KEY": "k-123"}),
    }


def test_vscode_mcp_json(in_clients: None) -> None:
    assert load_config("vscode-mcp.json", inputs={"perplexity-key": "pplx-1"}) == {
        "perplexity": StdioServerConfig(
            command="npx",
            args=("-y", "server-perplexity-ask"),
            env={**ENV_FILE, "PERPLEXITY_API_KEY": "pplx-1"},
        ),
        "github": HttpServerConfig(url="https://api.githubcopilot.com/mcp/"),
        "legacy": SseServerConfig(url="http://localhost:8080/sse"),
    }


def test_cline_settings(in_clients: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    # Cline's timeout (seconds) becomes the server's call timeout; transportType picks the transport;
    # autoApprove (calls it makes without asking) is ignored, with a note.
    monkeypatch.setenv("GITHUB_TOKEN", "ghp-1")
    caplog.set_level(logging.INFO, logger="dagexec")
    assert load_config("cline_mcp_settings.json") == {
        "github": StdioServerConfig(
            command="npx",
            args=("-y", "@modelcontextprotocol/server-github"),
            env={"GITHUB_PERSONAL_ACCESS_TOKEN": "ghp-1"},
            timeout=60,
        ),
        "remote": SseServerConfig(url="http://localhost:3000/sse", timeout=120),
    }
    assert [(r.name, r.levelno, r.getMessage()) for r in caplog.records] == [
        ("dagexec.servers", logging.INFO, f"ignored 'autoApprove' ({IGNORED_KEYS['autoApprove']}) @ mcpServers.{name}")
        for name in ("github", "remote")
    ]


def test_roo_code_mcp_json(in_clients: None, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="dagexec")
    assert load_config("roo-mcp.json") == {
        # Given as data or from a folder that is not .vscode, ${workspaceFolder} is the config's folder.
        "files": StdioServerConfig(command="node", args=(f"{CLIENTS}/tools/files-server.js",), timeout=30),
        "docs": HttpServerConfig(url="https://docs.example.com/mcp", type="streamable-http"),
    }
    assert [r.getMessage().partition(" (")[0] for r in caplog.records] == [
        "ignored 'alwaysAllow'",
        "ignored 'disabledTools'",
        "ignored 'watchPaths'",
        "ignored 'alwaysAllow'",
    ]


def test_windsurf_mcp_config(in_clients: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTES_TOKEN", raising=False)
    assert load_config("windsurf-mcp_config.json") == {
        "notes": StdioServerConfig(command="uvx", args=("mcp-notes",)),
        "remote": HttpServerConfig(url="https://notes.example.com/mcp", headers={"Authorization": "Bearer none"}),
    }


def test_workspace_folder_is_the_configs_folder_or_the_parent_of_vscode(tmp_path: Path) -> None:
    entry = {"servers": {"s": {"command": "node", "args": ["${workspaceFolder}/s.js", "${workspaceFolderBasename}"]}}}
    (tmp_path / "proj" / ".vscode").mkdir(parents=True)
    in_vscode = load_config(write(tmp_path / "proj" / ".vscode" / "mcp.json", entry))
    assert in_vscode["s"].args == (f"{tmp_path}/proj/s.js", "proj")  # type: ignore[union-attr]
    beside = load_config(write(tmp_path / "proj" / "mcp.json", entry))
    assert beside["s"].args == (f"{tmp_path}/proj/s.js", "proj")  # type: ignore[union-attr]
    elsewhere = load_config(write(tmp_path / "servers.json", entry))
    assert elsewhere["s"].args == (f"{tmp_path}/s.js", tmp_path.name)  # type: ignore[union-attr]


async def test_a_servers_timeout_fails_a_slow_call_with_timeout() -> None:
    config = {"mcpServers": {"box": {**toolbox(), "timeout": 0.5}}}
    async with open_servers(config) as servers:
        result = await EagerExecutor(servers).execute(
            wf(
                {"id": "slow", "tool": "box:sleep", "arguments": {"seconds": 30}},
                {"id": "quick", "tool": "box:sleep", "arguments": {"seconds": 0}},
            )
        )
    error = result["slow"].error
    assert error is not None
    assert (error.code, error.message) == (ErrorCode.TIMEOUT, "no answer within 0.5 s (server 'box''s timeout)")
    assert result["quick"].ok


def test_every_key_of_another_client_is_in_the_docs_table() -> None:
    table = (Path(__file__).parent.parent / "docs" / "mcp.rst").read_text()
    for key in (*IGNORED_KEYS, *RENAMED_KEYS):
        assert f"``{key}``" in table, key
    for meaning in IGNORED_KEYS.values():
        assert meaning.partition(": ")[2] in table.lower(), meaning


def test_the_command_line_notes_ignored_keys_with_verbose(tmp_path: Path) -> None:
    servers = write(tmp_path / "servers.json", {"mcpServers": {"box": {**toolbox(), "alwaysAllow": ["echo"]}}})
    plan = write(tmp_path / "plan.json", {"tasks": [{"id": "e", "tool": "box:echo", "arguments": {"text": "x"}}]})
    quiet = cli("validate", plan, "--servers", servers)
    assert quiet.returncode == 0 and "alwaysAllow" not in quiet.stderr
    verbose = cli("validate", plan, "--servers", servers, "-v")
    assert verbose.returncode == 0, verbose.stderr
    assert f"ignored 'alwaysAllow' ({IGNORED_KEYS['alwaysAllow']}) @ mcpServers.box" in verbose.stderr


@pytest.mark.parametrize(
    ("file", "problems"),
    [
        (
            "claude-code.mcp.json",
            [
                "environment variable 'API_KEY' is not set @ mcpServers.api.headers['Authorization']",
                "environment variable 'API_KEY' is not set @ mcpServers.legacy.headers['X-API-Key']",
            ],
        ),
        (
            "cursor-mcp.json",
            [
                "environment variable 'GITHUB_TOKEN' is not set"
                " @ mcpServers.github.env['GITHUB_PERSONAL_ACCESS_TOKEN']",
                "environment variable 'API_KEY' is not set @ mcpServers.remote.headers['API_KEY']",
            ],
        ),
        ("vscode-mcp.json", ["no value for input 'perplexity-key' @ servers.perplexity.env['PERPLEXITY_API_KEY']"]),
    ],
)
def test_an_unset_variable_or_input_is_an_error_naming_it(in_clients: None, file: str, problems: list[str]) -> None:
    with pytest.raises(ServerConfigError) as info:
        load_config(file)
    assert list(info.value.problems) == problems


# -- variables -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("${DX_SET}", "set value"),
        ("${env:DX_SET}", "set value"),
        ("a-${DX_SET}-b-${env:DX_SET}", "a-set value-b-set value"),
        ("${DX_UNSET:-fallback}", "fallback"),
        ("${DX_EMPTY:-fallback}", "fallback"),  # as in a shell: empty counts as unset
        ("${DX_SET:-fallback}", "set value"),
        ("${DX_UNSET:-}", ""),
        ("${DX_EMPTY}", ""),
        # Not variables: kept as written.
        ("$DX_SET", "$DX_SET"),
        ("${}", "${}"),
        ("${not a name}", "${not a name}"),
    ],
)
def test_environment_variables(monkeypatch: pytest.MonkeyPatch, written: str, value: str) -> None:
    monkeypatch.setenv("DX_SET", "set value")
    monkeypatch.setenv("DX_EMPTY", "")
    monkeypatch.delenv("DX_UNSET", raising=False)
    config = {"mcpServers": {
        "s": {"command": f"cmd{written}", "args": [written], "env": {"V": written}, "cwd": written},
        "h": {"url": written, "headers": {"H": written}},
        "e": {"type": "sse", "url": written, "headers": {"H": written}},
    }}  # fmt: skip
    assert load_config(config) == {
        "s": StdioServerConfig(command=f"cmd{value}", args=(value,), env={"V": value}, cwd=value),
        "h": HttpServerConfig(url=value, headers={"H": value}),
        "e": SseServerConfig(url=value, headers={"H": value}),
    }


def test_a_variable_is_replaced_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # A value that looks like a variable is not replaced again.
    monkeypatch.setenv("DX_OUTER", "${DX_INNER}")
    monkeypatch.delenv("DX_INNER", raising=False)
    (server,) = load_config({"mcpServers": {"s": {"command": "x", "args": ["${DX_OUTER}"]}}}).values()
    assert server == StdioServerConfig(command="x", args=("${DX_INNER}",))


def test_env_overrides_the_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / "vars.env"
    env_file.write_text("# comment\n\nA=from file\nexport B='quoted # not a comment'\nC = spaced \n")
    config = {"mcpServers": {"s": {"command": "x", "envFile": str(env_file), "env": {"A": "from env"}}}}
    assert load_config(config)["s"] == StdioServerConfig(
        command="x", env={"A": "from env", "B": "quoted # not a comment", "C": "spaced"}
    )


def test_disabled_entries_are_skipped_unchecked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DX_UNSET", raising=False)
    config = {"mcpServers": {
        "on": {"command": "x", "disabled": False},
        "off": {"command": "${DX_UNSET}", "disabled": True, "whatever": 1},
        "off_too": {"type": "websocket", "disabled": True},
    }}  # fmt: skip
    assert load_config(config) == {"on": StdioServerConfig(command="x")}


# -- errors --------------------------------------------------------------------------------

HANDLED = "disabled, transportType, serverUrl, autoApprove, alwaysAllow, disabledTools, watchPaths, dev, gallery, version"
STDIO_KEYS = f"command, args, env, cwd, timeout, type, envFile, {HANDLED}"
URL_KEYS = f"url, headers, timeout, type, {HANDLED}"


@pytest.mark.parametrize(
    ("config", "problems"),
    [
        (
            {"mcpServers": {"x": {"command": "a", "autoAprove": [], "bogus": 1}}},
            [
                "unknown keys 'autoAprove', 'bogus'; did you mean 'autoApprove'? "
                f"(accepted: {STDIO_KEYS}) @ mcpServers.x"
            ],
        ),
        (
            {"mcpServers": {"x": {"command": "a", "timeout": 0}}},
            ["timeout must be > 0 (seconds), not 0.0 @ mcpServers.x"],
        ),
        (
            {"mcpServers": {"x": {"url": "http://h/mcp", "serverUrl": "http://h/mcp"}}},
            ["both 'serverUrl' and 'url': give one @ mcpServers.x"],
        ),
        (
            {"servers": {"x": {"type": "sse", "url": "http://h/sse", "envFile": ".env"}}},
            [f"unknown key 'envFile' (accepted: {URL_KEYS}) @ servers.x"],
        ),
        (
            {"mcpServers": {"x": {"type": "sse", "command": "a"}}},
            [
                "required field missing @ mcpServers.x.url",
                f"unknown key 'command' (accepted: {URL_KEYS}) @ mcpServers.x",
            ],
        ),
        (
            {"mcpServers": {"x": {"type": "websocket", "url": "ws://h"}}},
            ["unknown type 'websocket' (accepted: stdio, http, sse) @ mcpServers.x.type"],
        ),
        ({"mcpServers": {"x": {"type": 1, "url": "u"}}}, ["expected a string, got number 1 @ mcpServers.x.type"]),
        (
            {"mcpServers": {"x": {"command": "a", "disabled": "yes"}}},
            ["expected true or false, got string 'yes' @ mcpServers.x.disabled"],
        ),
        (
            {"mcpServers": {"x": {"command": "a", "envFile": "/no/such/file.env"}}},
            ["cannot read '/no/such/file.env': No such file or directory @ mcpServers.x.envFile"],
        ),
        (
            {"mcpServers": {"x": {"command": "a", "envFile": 3}}},
            ["expected a string, got number 3 @ mcpServers.x.envFile"],
        ),
        (
            {"mcpServers": {"x": {"command": "a", "env": {"K": "${input:key}"}}}},
            ["unknown input 'key': \"inputs\" does not declare it @ mcpServers.x.env['K']"],
        ),
        (
            {"inputs": [{"type": "pickString", "id": "k", "options": ["a"]}], "servers": {}},
            ["unknown key 'options' (accepted: id, description, password, default, type) @ inputs[0]"],
        ),
        (
            {"inputs": [{"type": "pickString", "id": "k"}], "servers": {}},
            ["unknown type 'pickString' (accepted: promptString) @ inputs[0]"],
        ),
        (
            {"inputs": [{"id": "k"}, {"id": "k"}], "servers": {}},
            ["input 'k' is declared twice @ inputs[1].id"],
        ),
        ({"inputs": {"id": "k"}, "servers": {}}, ["expected an array, got object {'id': 'k'} @ inputs"]),
        (
            {"mcpServers": {}, "servers": {}},
            ['expected an object with an "mcpServers" (or "servers") object, not both @ config'],
        ),
        ({"servers": []}, ['expected an object with an "mcpServers" (or "servers") object @ config']),
    ],
)
def test_config_errors_name_the_key(config: dict[str, Any], problems: list[str]) -> None:
    with pytest.raises(ServerConfigError) as info:
        load_config(config)
    assert list(info.value.problems) == problems


def test_deep_data_in_an_entry_is_named_not_followed() -> None:
    args: list[Any] = []
    for _ in range(100_000):
        args = [args]
    with pytest.raises(ServerConfigError) as info:
        load_config({"mcpServers": {"x": {"command": "a", "args": args}}})
    assert info.value.problems == ("expected a string, got array [[[[...]]]] @ mcpServers.x.args[0]",)


def test_a_bad_env_file_line_is_named(tmp_path: Path) -> None:
    env_file = tmp_path / "bad.env"
    env_file.write_text("A=1\nthis is no variable\n")
    with pytest.raises(ServerConfigError) as info:
        load_config({"mcpServers": {"x": {"command": "a", "envFile": str(env_file)}}})
    assert info.value.problems == (f"line 2 of {str(env_file)!r} is not NAME=value @ mcpServers.x.envFile",)


# -- inputs --------------------------------------------------------------------------------

INPUTS = [
    {"type": "promptString", "id": "key", "description": "API key", "password": True},
    {"type": "promptString", "id": "region", "description": "Region", "default": "eu"},
    {"type": "promptString", "id": "unused", "description": "Never used"},
]


def vscode_config(**servers: Any) -> dict[str, Any]:
    return {"inputs": INPUTS, "servers": servers}


def test_an_input_without_a_value_takes_its_default() -> None:
    config = vscode_config(s={"command": "x", "args": ["${input:region}", "${input:key}"]})
    assert load_config(config, inputs={"key": "k"}) == {"s": StdioServerConfig(command="x", args=("eu", "k"))}
    assert load_config(config, inputs={"key": "k", "region": "us"})["s"] == StdioServerConfig(
        command="x", args=("us", "k")
    )


async def test_open_servers_asks_for_each_input_once_in_order_of_use() -> None:
    asked: list[InputVariable] = []

    async def ask(variable: InputVariable) -> str:
        asked.append(variable)
        return f"<{variable.id}>"

    box = toolbox()
    config = vscode_config(
        box={**box, "env": {"REGION": "${input:region}", "KEY": "${input:key}", "AGAIN": "${input:key}"}},
        off={"command": "${input:unused}", "disabled": True},
    )
    workflow = wf(*({"id": n, "tool": "box:env", "arguments": {"name": n}} for n in ("REGION", "KEY", "AGAIN")))
    with trio.fail_after(60):
        async with open_servers(config, ask=ask) as servers:
            result = await EagerExecutor(servers).execute(workflow)
    # Asked even with a default (the asker shows it); never for an input only a disabled entry uses.
    assert [v.id for v in asked] == ["region", "key"]
    assert asked[1] == InputVariable(id="key", description="API key", password=True)
    assert {r.task_id: r.output for r in result.results} == {
        "REGION": {"result": "<region>"}, "KEY": {"result": "<key>"}, "AGAIN": {"result": "<key>"},
    }  # fmt: skip


async def test_no_input_is_asked_for_while_the_config_has_problems() -> None:
    asked: list[str] = []

    async def ask(variable: InputVariable) -> str:
        asked.append(variable.id)
        return "x"

    config = vscode_config(s={"command": "x", "env": {"K": "${input:key}"}, "bogus": 1})
    with pytest.raises(ServerConfigError) as info:
        async with open_servers(config, ask=ask, inputs={"region": "given"}):
            pytest.fail("the block must not run")
    assert asked == []
    assert info.value.problems == (
        f"unknown key 'bogus' (accepted: {STDIO_KEYS}) @ servers.s",
        "no value for input 'key' @ servers.s.env['K']",
    )


async def test_an_asker_that_cannot_ask_stops_before_any_server_starts() -> None:
    marker = f"marker-{uuid.uuid4()}"

    async def ask(variable: InputVariable) -> str:
        raise ServerConfigError([f"cannot ask for {variable.id!r}"])

    config = vscode_config(box=toolbox(marker), other={**toolbox(marker), "env": {"K": "${input:key}"}})
    with pytest.raises(ServerConfigError, match=r"^invalid servers config:\n  cannot ask for 'key'$"):
        async with open_servers(config, ask=ask):
            pytest.fail("the block must not run")
    assert processes_with(marker) == []


# -- each transport, in a client's shape ---------------------------------------------------


@pytest.fixture
def sse_toolbox() -> Iterator[str]:
    with serving_http(TOOLBOX, "sse") as (url, _):
        yield url


async def test_sse_server(sse_toolbox: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # As Claude Code writes it: "type": "sse", variables in the URL and the headers.
    monkeypatch.setenv("DX_BOX_URL", sse_toolbox)
    config = {"mcpServers": {"web": {"type": "sse", "url": "${DX_BOX_URL}", "headers": {"X-Key": "${DX_KEY:-k}"}}}}
    workflow = wf(
        *({"id": f"m{i}", "tool": "web:meet", "arguments": {"group": "sse", "size": 3, "value": f"v{i}"}}
          for i in range(3)),
        {"id": "echo", "tool": "web:echo", "arguments": {"text": "$OUTPUT[m0].value"}},
        {"id": "fail", "tool": "web:fail", "arguments": {"message": "bad input"}},
    )  # fmt: skip
    with trio.fail_after(60):
        async with open_servers(config) as servers:
            assert "meet" in servers["web"].tool_names
            result = await EagerExecutor(servers).execute(workflow)
    # The three calls were in flight at once over the one SSE session: each answered.
    assert [result[f"m{i}"].output for i in range(3)] == [{"value": f"v{i}", "met": 3} for i in range(3)]
    assert result["echo"].output == {"result": "v0"}
    fail = result["fail"]
    assert fail.status is TaskStatus.ERROR and fail.error is not None
    assert (fail.error.code, fail.error.message) == (ErrorCode.TOOL_ERROR, "Error executing tool fail: bad input")


async def test_an_sse_server_that_dies_fails_its_calls_and_nothing_else(sse_toolbox: str) -> None:
    config = {"mcpServers": {"web": {"type": "sse", "url": sse_toolbox}, "box": toolbox()}}
    workflow = wf(
        {"id": "long", "tool": "web:sleep", "arguments": {"seconds": 30}},
        {"id": "die", "tool": "web:die", "arguments": {"after": 0.3}},
        {"id": "other", "tool": "box:sleep", "arguments": {"seconds": 1}},
    )
    with trio.fail_after(30):
        async with open_servers(config) as servers:
            result = await EagerExecutor(servers).execute(workflow)
    codes = {r.task_id: (r.status, r.error.code if r.error else None) for r in result.results}
    assert codes == {
        "long": (TaskStatus.ERROR, ErrorCode.SERVER_ERROR),
        "die": (TaskStatus.ERROR, ErrorCode.SERVER_ERROR),
        "other": (TaskStatus.SUCCESS, None),
    }


async def test_an_unreachable_sse_server_is_a_start_error() -> None:
    config = {"mcpServers": {"web": {"type": "sse", "url": f"http://127.0.0.1:{free_port()}/sse"}}}
    with trio.fail_after(60), pytest.raises(ServerStartError) as info:
        async with open_servers(config):
            pytest.fail("the block must not run")
    assert info.value.server == "web"
    assert str(info.value).startswith("server 'web' did not start: ConnectError: ")


async def test_streamable_http_in_vscode_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    with serving_http(TOOLBOX) as (url, _):
        monkeypatch.setenv("DX_BOX_URL", url)
        config = {"servers": {"web": {"type": "http", "url": "${env:DX_BOX_URL}"}}}
        with trio.fail_after(60):
            async with open_servers(config) as servers:
                result = await EagerExecutor(servers).execute(wf({"id": "e", "tool": "web:echo",
                                                                   "arguments": {"text": "over http"}}))
    assert result["e"].output == {"result": "over http"}


async def test_stdio_env_and_env_file_reach_the_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # As Cursor writes it: "${env:VAR}" in env, and an envFile.
    monkeypatch.setenv("DX_TOKEN", "from the environment")
    env_file = tmp_path / ".env"
    env_file.write_text("FROM_FILE=from the file\nTOKEN=overridden by env\n")
    config = {"mcpServers": {"box": {**toolbox(), "envFile": str(env_file), "env": {"TOKEN": "${env:DX_TOKEN}"}}}}
    workflow = wf(*({"id": n, "tool": "box:env", "arguments": {"name": n}} for n in ("FROM_FILE", "TOKEN")))
    with trio.fail_after(60):
        async with open_servers(config) as servers:
            result = await EagerExecutor(servers).execute(workflow)
    assert result["FROM_FILE"].output == {"result": "from the file"}
    assert result["TOKEN"].output == {"result": "from the environment"}


# -- the command line asks at the terminal -------------------------------------------------


def _input_config(tmp_path: Path) -> tuple[str, str]:
    """A VS Code config whose toolbox gets two inputs, and a workflow that reads them back."""
    box = toolbox()
    servers = write(tmp_path / "mcp.json", {
        "inputs": [
            {"type": "promptString", "id": "api-key", "description": "API key", "password": True},
            {"type": "promptString", "id": "region", "description": "Region", "default": "eu"},
        ],
        "servers": {"box": {"type": "stdio", **box, "env": {"KEY": "${input:api-key}", "REGION": "${input:region}"}}},
    })  # fmt: skip
    workflow = write(tmp_path / "wf.json", {"tasks": [
        {"id": "key", "tool": "box:env", "arguments": {"name": "KEY"}},
        {"id": "region", "tool": "box:env", "arguments": {"name": "REGION"}},
    ]})  # fmt: skip
    return servers, workflow


def test_the_command_line_asks_for_inputs_at_the_terminal(tmp_path: Path) -> None:
    servers, workflow = _input_config(tmp_path)
    out_json = str(tmp_path / "out.json")
    with on_a_terminal("run", workflow, "--servers", servers, "--json", out_json) as terminal:
        assert terminal.read_until("API key (api-key): ", 60), terminal.text()
        terminal.type(b"s3cret-typed\n")
        assert terminal.read_until("Region (region) [eu]: ", 60), terminal.text()
        terminal.type(b"us-typed\n")
        terminal.read_until("\0", 60)  # until the terminal closes
        terminal.proc.wait(timeout=60)
    output = terminal.text()
    assert terminal.proc.returncode == 0, output
    asked = output.split("eager run")[0]  # the terminal before the results (which show the outputs)
    assert "s3cret-typed" not in asked  # a password is not echoed...
    assert "us-typed" in asked  # ...other answers are
    results = {r["task_id"]: r["output"] for r in json.loads(Path(out_json).read_text())["results"]}
    assert results == {"key": {"result": "s3cret-typed"}, "region": {"result": "us-typed"}}


def test_ctrl_c_at_the_input_prompt_exits_130_and_restores_the_terminal(tmp_path: Path) -> None:
    servers, workflow = _input_config(tmp_path)
    with on_a_terminal("run", workflow, "--servers", servers) as terminal:
        assert terminal.read_until("API key (api-key): ", 60), terminal.text()
        terminal.type(b"\x03")
        terminal.proc.wait(timeout=30)
        terminal.read_until("before the run started", 10)
        echo = termios.tcgetattr(terminal.master)[3] & termios.ECHO  # the settings it left
    output = terminal.text()
    assert terminal.proc.returncode == 130, output
    assert "interrupted by SIGINT before the run started" in output
    assert "Traceback" not in output
    assert echo  # the terminal echoes again


def test_without_a_terminal_an_input_is_an_error_naming_it(tmp_path: Path) -> None:
    servers, workflow = _input_config(tmp_path)
    out = cli("run", workflow, "--servers", servers)  # its standard input: /dev/null
    assert out.returncode == 2
    assert out.stderr == (
        "error: invalid servers config:\n"
        "  input 'api-key' needs a value: it is asked at a terminal, and standard input is not one\n"
    )
