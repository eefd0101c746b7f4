"""OpenCode: V2 files (``mcp.servers.<name>``, no ``enabled``) get V2 entries, V1
files (``mcp.<name>`` with ``enabled``) get V1 entries."""

from __future__ import annotations

from pathlib import Path

import pytest

from switchboard.clients.jsonc import parse
from switchboard.clients.known_clients import BY_ID, HostEnv
from switchboard.clients.manager import ClientManager
from switchboard.core.paths import AppPaths

URL = "http://127.0.0.1:8765/servers/time/mcp"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "clients"


@pytest.fixture
def host(tmp_path: Path) -> HostEnv:
    return HostEnv("linux", tmp_path / "me", {})


@pytest.fixture
def manager(paths: AppPaths, host: HostEnv) -> ClientManager:
    return ClientManager(paths, host=host, connect_command=("/bin/switchboard",))


def write(host: HostEnv, text: str) -> Path:
    path = BY_ID["opencode"].config_path(host)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_v2_file_gets_v2_entries(manager: ClientManager, host: HostEnv) -> None:
    path = write(host, (FIXTURES / "corpus" / "json-opencode-v2.jsonc").read_text())
    report = manager.connect("opencode", {"time": URL})
    assert report.added == ("time",)
    data = parse(path.read_text())
    assert data["mcp"]["servers"]["time"] == {"type": "remote", "url": URL}
    assert "time" not in data["mcp"]
    assert manager.ours(BY_ID["opencode"]) == ["time"]
    manager.disconnect("opencode")
    assert path.read_text() == (FIXTURES / "corpus" / "json-opencode-v2.jsonc").read_text()


def test_v1_file_gets_v1_entries(manager: ClientManager, host: HostEnv) -> None:
    path = write(host, (FIXTURES / "opencode.jsonc").read_text())
    manager.connect("opencode", {"time": URL})
    data = parse(path.read_text())
    assert data["mcp"]["time"] == {"type": "remote", "url": URL, "enabled": True}


def test_a_server_named_servers_is_not_the_v2_envelope(
    manager: ClientManager, host: HostEnv
) -> None:
    path = write(host, '{"mcp": {"servers": {"type": "remote", "url": "https://x/mcp"}}}\n')
    manager.connect("opencode", {"time": URL})
    data = parse(path.read_text())
    assert data["mcp"]["time"]["enabled"] is True
    assert data["mcp"]["servers"] == {"type": "remote", "url": "https://x/mcp"}
