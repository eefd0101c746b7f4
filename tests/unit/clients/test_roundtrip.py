"""Round trip of every client's config format with realistic fixture files.

For each client: the person's comments, unknown keys and key order survive adding
Switchboard's servers; a second run writes nothing; disconnecting restores the file.
"""

from __future__ import annotations

import re
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from switchboard.clients.formats import Format
from switchboard.clients.jsonc import parse as parse_jsonc
from switchboard.clients.known_clients import BY_ID, KINDS, HostEnv
from switchboard.clients.manager import BACKUP_SUFFIX, ClientManager
from switchboard.core.paths import AppPaths

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "clients"
FIXTURE_OF = {
    "cursor": "cursor.json",
    "vscode": "vscode.jsonc",
    "vscode-insiders": "vscode.jsonc",
    "claude-code": "claude-code.json",
    "windsurf": "windsurf.json",
    "claude-desktop": "claude-desktop.json",
    "gemini": "gemini.json",
    "codex": "codex.toml",
    "zed": "zed.json",
    "continue": "continue.yaml",
    "goose": "goose.yaml",
    "lmstudio": "lmstudio.json",
    "cline": "cline.json",
    "kiro": "kiro.json",
    "opencode": "opencode.jsonc",
}
SERVERS = {
    "time": "http://127.0.0.1:8765/servers/time/mcp",
    "everything": "http://127.0.0.1:8765/servers/everything/mcp",
}
CONNECT = ("/opt/switchboard/bin/switchboard",)


def test_every_client_has_a_fixture() -> None:
    assert sorted(FIXTURE_OF) == sorted(k.id for k in KINDS)


def load(fmt: Format, text: str) -> Any:
    if fmt is Format.JSON:
        return parse_jsonc(text)
    if fmt is Format.TOML:
        return tomllib.loads(text)
    return YAML(typ="safe").load(text)


def comments(fmt: Format, text: str) -> list[str]:
    """Comment texts in order (strings skipped, so URLs are not comments)."""
    if fmt is Format.JSON:
        pattern = r'"(?:\\.|[^"\\\n])*"|(//[^\n]*|/\*.*?\*/)'
    else:
        pattern = r'"(?:\\.|[^"\\\n])*"|\'[^\'\n]*\'|(#[^\n]*)'
    return [m.group(1).strip() for m in re.finditer(pattern, text, re.S) if m.group(1)]


def is_subsequence(small: list[str], big: list[str]) -> bool:
    it = iter(big)
    return all(x in it for x in small)


def assert_preserved(original: Any, new: Any, where: str = "") -> None:
    """Every key of ``original`` is in ``new`` with the same value, in the same order
    (containers may have gained entries)."""
    if isinstance(original, dict):
        assert isinstance(new, dict), where
        assert is_subsequence(list(original), list(new)), f"key order changed at {where}"
        for key, value in original.items():
            assert_preserved(value, new[key], f"{where}.{key}")
    elif isinstance(original, list) and original and isinstance(original[0], dict):
        assert isinstance(new, list), where
        for i, item in enumerate(original):
            assert_preserved(item, new[i], f"{where}[{i}]")
    else:
        assert original == new, where


@pytest.fixture
def home(tmp_path: Path) -> HostEnv:
    return HostEnv("linux", tmp_path / "me", {})


@pytest.fixture
def manager(paths: AppPaths, home: HostEnv) -> ClientManager:
    return ClientManager(paths, host=home, connect_command=CONNECT)


def entries_of(kind_id: str, data: Any) -> dict[str, Any]:
    kind = BY_ID[kind_id]
    node = data
    for key in kind.container:
        if not isinstance(node, dict) or key not in node:
            return {}
        node = node[key]
    if kind.keyed_list:
        return {item["name"]: item for item in node}
    return dict(node)


@pytest.mark.parametrize("kind_id", sorted(FIXTURE_OF))
def test_round_trip(kind_id: str, manager: ClientManager, home: HostEnv) -> None:
    kind = BY_ID[kind_id]
    fixture = FIXTURES / FIXTURE_OF[kind_id]
    path = kind.config_path(home)
    if kind_id == "opencode":
        path = path.with_name("opencode.jsonc")
    path.parent.mkdir(parents=True)
    shutil.copyfile(fixture, path)
    path.chmod(0o640)
    original = path.read_text("utf-8")
    assert manager.config_path(kind) == path
    assert manager.installed(kind)

    before = load(kind.fmt, original)
    # The person's own entry of the same name (Cursor's fixture has "time") is kept.
    theirs = sorted(set(SERVERS) & set(entries_of(kind_id, before)))
    ours = sorted(set(SERVERS) - set(theirs))
    report = manager.connect(kind_id, SERVERS)
    assert report.written
    assert sorted(report.added) == ours
    assert list(report.conflicts) == theirs
    new = path.read_text("utf-8")
    # Comments, unknown keys, values and key order all survive.
    assert comments(kind.fmt, original) == comments(kind.fmt, new)
    after = load(kind.fmt, new)
    assert_preserved(before, after)
    found = entries_of(kind_id, after)
    for name in theirs:
        assert found[name] == entries_of(kind_id, before)[name]
    for name in ours:
        url = SERVERS[name]
        entry = found[name]
        if kind.stdio_only:
            assert entry["command"] == CONNECT[0]
            assert entry["args"] == ["connect", name]
        else:
            assert url in entry.values()
    # The backup is the file as it was; permissions are kept.
    backup = path.with_name(path.name + BACKUP_SUFFIX)
    assert backup.read_text("utf-8") == original
    assert path.stat().st_mode & 0o777 == 0o640

    # Second run: nothing to do, nothing written.
    mtime = path.stat().st_mtime_ns
    again = manager.connect(kind_id, SERVERS)
    assert not again.written
    assert sorted(again.unchanged) == ours
    assert path.read_text("utf-8") == new
    assert path.stat().st_mtime_ns == mtime

    # A removed server leaves the config; the rest stays.
    fewer = manager.apply(kind, {"time": SERVERS["time"]})
    assert fewer.removed == ("everything",)
    assert "everything" not in entries_of(kind_id, load(kind.fmt, path.read_text("utf-8")))

    # Disconnecting undoes everything Switchboard did.
    gone = manager.disconnect(kind_id)
    assert gone.removed == (() if theirs else ("time",))
    final = path.read_text("utf-8")
    assert load(kind.fmt, final) == before
    assert comments(kind.fmt, final) == comments(kind.fmt, original)
    assert final == original  # byte for byte, every format
    assert manager.connected() == []


@pytest.mark.parametrize("kind_id", sorted(FIXTURE_OF))
def test_fresh_file_is_created_and_removed_cleanly(
    kind_id: str, manager: ClientManager, home: HostEnv
) -> None:
    kind = BY_ID[kind_id]
    path = kind.config_path(home)
    assert not manager.installed(kind)
    report = manager.connect(kind_id, SERVERS)
    assert report.written
    assert report.backup is None
    data = load(kind.fmt, path.read_text("utf-8"))
    assert sorted(entries_of(kind_id, data)) == ["everything", "time"]
    assert not manager.connect(kind_id, SERVERS).written
    gone = manager.disconnect(kind_id)
    assert gone.removed == ("everything", "time")
    data = load(kind.fmt, path.read_text("utf-8"))
    assert entries_of(kind_id, data or {}) == {}
    if kind.fmt is Format.JSON:
        # Still a file the client reads: the object and its empty container stay.
        assert isinstance(data, dict) and data
    elif kind.fmt is Format.TOML:
        assert data == {}
    else:
        # No `mcpServers:` left behind as null.
        assert all(value is not None for value in (data or {}).values())
