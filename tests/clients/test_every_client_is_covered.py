"""Issue 11's rule, kept for clients added later: every client in ``switchboard client
list`` either completes sign-in in the tests or is written the stdio form with the
reason in code.

A URL-form client (``ClientKind.stdio_only`` false in ``app/switchboard/clients/
known_clients.py``) must have a replay module here that reaches a token through the gateway
(``tests/clients/replay.py`` ``reach_token``: registration, authorization, approval,
token, one MCP request). A stdio-form client must say why in ``form_reason`` and be
written the ``switchboard connect NAME`` bridge, which brings its own token
(tests/integration/test_gateway_bridge.py, tests/security/test_port_squatting.py).
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

from switchboard.clients.known_clients import BY_ID, KINDS, Target

HERE = Path(__file__).parent
TESTS = HERE.parent

REPLAYS: dict[str, str] = {
    "cursor": "test_replay_cursor",
    "vscode": "test_replay_vscode",
    "vscode-insiders": "test_replay_vscode_insiders",
    "claude-code": "test_replay_claude_code",
    "gemini": "test_replay_gemini_cli",
    "codex": "test_replay_codex",
    "continue": "test_replay_continue",
    "goose": "test_replay_goose",
    "cline": "test_replay_cline",
    "opencode": "test_replay_opencode",
}
"""URL-form client id -> the module replaying its sign-in up to a token."""

REFUSALS: dict[str, str] = {
    "kiro": "test_replay_kiro",
}
"""Stdio-form client id -> a module replaying why its URL form cannot sign in."""

BRIDGE_TESTS = (
    TESTS / "integration" / "test_gateway_bridge.py",
    TESTS / "security" / "test_port_squatting.py",
)


def test_every_url_form_client_reaches_a_token_in_a_replay() -> None:
    missing = [k.id for k in KINDS if k.form == "url" and k.id not in REPLAYS]
    assert not missing, (
        f"URL-form client(s) {missing} have no sign-in replay: add "
        "tests/clients/test_replay_<client>.py that reaches a token with "
        "tests.clients.replay.reach_token and map it in REPLAYS, or write the client "
        "the stdio form (stdio_only=True) with a form_reason citing why"
    )
    for client_id, name in REPLAYS.items():
        if BY_ID[client_id].form != "url":
            continue
        module = importlib.import_module(f"tests.clients.{name}")
        tests = [n for n, f in inspect.getmembers(module, inspect.isfunction) if n[:5] == "test_"]
        assert tests, f"{name} has no tests"
        assert "reach_token(" in inspect.getsource(module), (
            f"{name} never reaches a token (tests.clients.replay.reach_token)"
        )


def test_every_mapped_client_exists_and_every_replay_is_mapped() -> None:
    for client_id in (*REPLAYS, *REFUSALS):
        assert client_id in BY_ID, f"{client_id} is not a client in known_clients.py any more"
    for client_id in REFUSALS:
        assert BY_ID[client_id].form == "stdio", client_id
    on_disk = {p.stem for p in HERE.glob("test_replay_*.py")}
    mapped = set(REPLAYS.values()) | set(REFUSALS.values())
    assert on_disk == mapped, f"unmapped replays: {sorted(on_disk - mapped)}; " + (
        f"missing files: {sorted(mapped - on_disk)}"
    )


def test_every_stdio_client_says_why_and_gets_the_bridge() -> None:
    target = Target(
        "time", "http://127.0.0.1:8765/servers/time/mcp", ("/bin/sb", "connect", "time")
    )
    stdio = [k for k in KINDS if k.form == "stdio"]
    assert stdio
    for kind in stdio:
        assert kind.form_reason.startswith("stdio:"), kind.id
        assert "https://" in kind.form_reason or "/" in kind.form_reason, kind.id
        entry = kind.entry(target)
        assert entry["command"] == "/bin/sb" and entry["args"] == ["connect", "time"], kind.id
        assert target.url not in str(entry), kind.id
    for path in BRIDGE_TESTS:
        assert path.is_file(), path
