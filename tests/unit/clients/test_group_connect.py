"""Connecting an MCP client to a group (issue 14): one entry named after the group, at
the group's URL (URL-form clients) or running ``switchboard connect --group NAME``
(stdio-form clients such as Claude Desktop), instead of one entry per server; sync keeps
it; disconnecting the group takes it out and gives the file back byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest

from switchboard.clients.known_clients import BY_ID, KINDS, ClientKind, HostEnv
from switchboard.clients.manager import ClientManager, is_ours
from switchboard.core.errors import ValidationError
from switchboard.core.paths import AppPaths
from tests.unit.clients.test_fidelity import CONNECT, FIXTURES, load, manager_entries

BASE = "http://127.0.0.1:8765"
SERVERS = {"clock": f"{BASE}/servers/clock/mcp", "everything": f"{BASE}/servers/everything/mcp"}
GROUPS = {"work": f"{BASE}/groups/work/mcp", "home": f"{BASE}/groups/home/mcp"}


@pytest.fixture
def manager(paths: AppPaths, tmp_path: Path) -> ClientManager:
    return ClientManager(paths, host=HostEnv("linux", tmp_path / "me", {}), connect_command=CONNECT)


def entry_points_at_group(kind: ClientKind, entry: dict[str, object], name: str) -> None:
    """The URL form names the group's URL; the stdio form runs ``connect --group``."""
    if kind.stdio_only:
        assert entry["command"] == CONNECT[0], kind.id
        assert entry["args"] == ["connect", "--group", name], kind.id
    else:
        assert GROUPS[name] in str(entry), (kind.id, entry)
        assert "/servers/" not in str(entry), (kind.id, entry)


@pytest.mark.parametrize("kind", KINDS, ids=[k.id for k in KINDS])
def test_one_entry_for_the_group_instead_of_one_per_server(
    kind: ClientKind, manager: ClientManager
) -> None:
    path = manager.config_path(kind)
    fixture = FIXTURES / f"{kind.id}{path.suffix}"
    original = fixture.read_bytes() if fixture.exists() else None
    if original is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(original)
    # Connected to every server first: switching to the group replaces those entries.
    manager.connect(kind.id, SERVERS)
    assert sorted(manager.ours(kind)) == sorted(SERVERS)
    report = manager.connect(kind.id, SERVERS, group="work", groups=GROUPS)
    assert report.added == ("work",) and sorted(report.removed) == sorted(SERVERS)
    assert manager.ours(kind) == ["work"]
    entries = manager_entries(manager, kind)
    entry_points_at_group(kind, entries["work"], "work")
    assert is_ours(entries["work"], "work", CONNECT)
    assert not any(name in entries for name in SERVERS)
    [info] = [i for i in manager.clients() if i.kind.id == kind.id]
    assert info.connected and info.groups == ("work",) and info.ours == ("work",)
    # Again: nothing to write. A second group: a second entry, the first stays.
    assert not manager.connect(kind.id, SERVERS, group="work", groups=GROUPS).written
    report = manager.connect(kind.id, SERVERS, group="home", groups=GROUPS)
    assert report.added == ("home",) and report.unchanged == ("work",)
    assert manager.groups_of(kind.id) == ["work", "home"]
    # Server changes do not bring per-server entries back; a removed group goes.
    manager.sync({**SERVERS, "new": f"{BASE}/servers/new/mcp"}, {"home": GROUPS["home"]})
    assert manager.ours(kind) == ["home"]
    # Disconnecting the last group takes Switchboard out: the file is as it was.
    report = manager.disconnect(kind.id, group="work", groups=GROUPS)
    assert report.removed == () and manager.groups_of(kind.id) == ["home"]
    report = manager.disconnect(kind.id, group="home", groups=GROUPS)
    assert report.removed == ("home",)
    assert manager.connected() == [] and manager.groups_of(kind.id) == []
    if original is not None:
        assert path.read_bytes() == original
    else:
        assert manager.ours(kind) == []


def test_back_to_every_server(manager: ClientManager) -> None:
    manager.connect("cursor", SERVERS, group="work", groups=GROUPS)
    report = manager.connect("cursor", SERVERS)
    assert sorted(report.added) == sorted(SERVERS) and report.removed == ("work",)
    assert manager.groups_of("cursor") == [] and manager.connected() == ["cursor"]
    manager.sync(SERVERS, GROUPS)
    assert sorted(manager.ours(BY_ID["cursor"])) == sorted(SERVERS)


def test_group_and_server_of_one_name(manager: ClientManager) -> None:
    """A group named like a server: the group's entry replaces the server's (both
    Switchboard's), and is recognised as Switchboard's for either kind of name."""
    servers = {"work": f"{BASE}/servers/work/mcp"}
    manager.connect("claude-desktop", servers)
    manager.connect("vscode", servers)
    for client in ("claude-desktop", "vscode"):
        report = manager.connect(client, servers, group="work", groups=GROUPS)
        assert report.updated == ("work",), client
        entry = manager_entries(manager, BY_ID[client])["work"]
        entry_points_at_group(BY_ID[client], entry, "work")


def test_a_persons_own_entry_of_the_groups_name_is_left_alone(
    manager: ClientManager,
) -> None:
    kind = BY_ID["cursor"]
    path = manager.config_path(kind)
    path.parent.mkdir(parents=True)
    mine = '{"mcpServers": {"work": {"url": "https://example.com/mcp"}}}\n'
    path.write_text(mine)
    report = manager.connect("cursor", {}, group="work", groups=GROUPS)
    assert report.conflicts == ("work",) and not report.written
    assert path.read_text() == mine


def test_unknown_group_or_not_connected(manager: ClientManager) -> None:
    with pytest.raises(ValidationError, match="Unknown group 'nope'") as caught:
        manager.connect("cursor", SERVERS, group="nope", groups=GROUPS)
    assert "switchboard group list" in (caught.value.hint or "")
    assert manager.connected() == []
    manager.connect("cursor", SERVERS, group="work", groups=GROUPS)
    with pytest.raises(ValidationError, match="not connected to the group 'home'"):
        manager.disconnect("cursor", group="home", groups=GROUPS)
    assert manager.groups_of("cursor") == ["work"]
    # A plain disconnect takes everything out.
    manager.disconnect("cursor")
    assert manager.connected() == [] and manager.ours(BY_ID["cursor"]) == []


def test_is_ours_for_group_entries() -> None:
    assert is_ours({"url": GROUPS["work"]}, "work")
    assert is_ours({"url": "http://localhost:9/groups/work/sse"}, "work")
    assert is_ours({"command": "/x/switchboard", "args": ["connect", "--group", "work"]}, "work")
    assert is_ours(
        {"command": "/opt/sb", "args": ["connect", "--group", "work"]}, "work", ("/opt/sb",)
    )
    assert not is_ours({"url": GROUPS["home"]}, "work")
    assert not is_ours({"url": "https://example.com/groups/work/mcp"}, "work")
    assert not is_ours(
        {"command": "/x/switchboard", "args": ["connect", "--group", "home"]}, "work"
    )
    assert not is_ours({"command": "other", "args": ["connect", "--group", "work"]}, "work")


def test_state_file_is_readable_json(manager: ClientManager, paths: AppPaths) -> None:
    manager.connect("cursor", SERVERS, group="work", groups=GROUPS)
    manager.connect("zed", SERVERS)
    state = load(BY_ID["cursor"].fmt, (paths.data_dir / "clients.json").read_bytes())
    assert state["connected"] == ["cursor", "zed"]
    assert state["groups"] == {"cursor": ["work"]}
    manager.disconnect("cursor")
    state = load(BY_ID["cursor"].fmt, (paths.data_dir / "clients.json").read_bytes())
    assert "groups" not in state
