"""Disconnect restores every config file byte for byte.

A property over a corpus of real-looking files (tests/fixtures/clients and its
corpus/ folder) and every client kind of the file's format, each file as stored,
with CRLF line breaks and with a UTF-8 byte-order mark: connect two servers, connect
again (nothing written), drop one, disconnect - the bytes are the original ones, and
in between the file parses with the person's entries intact.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from switchboard.clients.formats import Format
from switchboard.clients.jsonc import parse as parse_jsonc
from switchboard.clients.known_clients import KINDS, ClientKind, HostEnv
from switchboard.clients.manager import ClientManager, is_ours
from switchboard.core.errors import ClientConfigError
from switchboard.core.paths import AppPaths

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "clients"
SERVERS = {
    "time": "http://127.0.0.1:8765/servers/time/mcp",
    "everything": "http://127.0.0.1:8765/servers/everything/mcp",
}
CONNECT = ("/opt/switchboard/bin/switchboard",)
REFUSED = {"toml-inline-table.toml"}
FORMAT_OF = {
    ".json": Format.JSON,
    ".jsonc": Format.JSON,
    ".toml": Format.TOML,
    ".yaml": Format.YAML,
}


def corpus() -> list[Path]:
    files = [p for p in FIXTURES.iterdir() if p.suffix in FORMAT_OF]
    files += [p for p in (FIXTURES / "corpus").iterdir() if p.suffix in FORMAT_OF]
    return sorted(files)


def variants(data: bytes) -> Iterator[tuple[str, bytes]]:
    yield "as-is", data
    crlf = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    if crlf != data:
        yield "crlf", crlf
    yield "bom", b"\xef\xbb\xbf" + crlf


def cases() -> Iterator[Any]:
    for path in corpus():
        fmt = FORMAT_OF[path.suffix]
        for kind in KINDS:
            if kind.fmt is not fmt:
                continue
            for label, _ in variants(path.read_bytes()):
                yield pytest.param(
                    kind, path, label, id=f"{kind.id}-{path.parent.name}/{path.name}-{label}"
                )


def load(fmt: Format, data: bytes) -> Any:
    text = data.decode("utf-8").removeprefix("\ufeff")
    if fmt is Format.JSON:
        return parse_jsonc(text)
    if fmt is Format.TOML:
        return tomllib.loads(text)
    return YAML(typ="safe").load(text) if text.strip() else None


def assert_kept(before: Any, after: Any, where: str = "") -> None:
    """Everything the person had is still there with the same value (containers may
    have gained entries; an empty ``key:`` may have become a container)."""
    if before is None:
        return
    if isinstance(before, dict):
        assert isinstance(after, dict), where
        for key, value in before.items():
            assert key in after, f"{where}.{key} lost"
            assert_kept(value, after[key], f"{where}.{key}")
    elif isinstance(before, list):
        assert isinstance(after, list), where
        assert after[: len(before)] == before, where
    else:
        assert after == before, where


def ours(manager: ClientManager, kind: ClientKind) -> list[str]:
    return manager.ours(kind)


@pytest.fixture
def manager(paths: AppPaths, tmp_path: Path) -> ClientManager:
    host = HostEnv("linux", tmp_path / "me", {})
    return ClientManager(paths, host=host, connect_command=CONNECT)


@pytest.mark.parametrize(("kind", "source", "variant"), list(cases()))
def test_disconnect_restores_the_exact_bytes(
    kind: ClientKind, source: Path, variant: str, manager: ClientManager
) -> None:
    original = dict(variants(source.read_bytes()))[variant]
    path = manager.config_path(kind)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(original)
    before = load(kind.fmt, original)

    if source.name in REFUSED:
        with pytest.raises(ClientConfigError, match="inline table"):
            manager.connect(kind.id, SERVERS)
        assert path.read_bytes() == original
        return

    report = manager.connect(kind.id, SERVERS)
    written = path.read_bytes()
    after = load(kind.fmt, written)
    assert sorted([*report.added, *report.conflicts]) == sorted(SERVERS)
    assert sorted(ours(manager, kind)) == sorted(report.added)
    if report.added:
        assert written.startswith(b"\xef\xbb\xbf") == original.startswith(b"\xef\xbb\xbf")
        if b"\r\n" in original:
            assert b"\n" not in written.replace(b"\r\n", b"")
    assert_kept(before, after)

    again = manager.connect(kind.id, SERVERS)
    assert not again.written
    assert path.read_bytes() == written

    manager.apply(kind, {"time": SERVERS["time"]})
    assert "everything" not in ours(manager, kind)

    manager.disconnect(kind.id)
    assert path.read_bytes() == original


def test_corpus_covers_the_shapes_people_have() -> None:
    names = {p.name for p in corpus()}
    for shape in (
        "json-minified.json",
        "json-comments-only.jsonc",
        "json-empty.json",
        "json-tabs-trailing.jsonc",
        "json-own-entries.json",
        "toml-inline-table.toml",
        "toml-dotted.toml",
        "yaml-goose-nulls.yaml",
        "yaml-comments-only.yaml",
        "yaml-flow-empty.yaml",
    ):
        assert shape in names


def test_goose_null_stays_null(manager: ClientManager) -> None:
    """The person's `bundled: null` is not rewritten as `bundled:`."""
    kind = next(k for k in KINDS if k.id == "goose")
    path = manager.config_path(kind)
    path.parent.mkdir(parents=True)
    original = (FIXTURES / "corpus" / "yaml-goose-nulls.yaml").read_text()
    path.write_text(original)
    manager.connect("goose", SERVERS)
    text = path.read_text()
    assert text.count("bundled: null") == original.count("bundled: null") + 2
    assert "description: ~" in text
    assert text.startswith(original.split("GOOSE_MODEL")[0].rstrip("\n"))


def test_toml_disconnect_leaves_no_blank_lines(manager: ClientManager) -> None:
    kind = next(k for k in KINDS if k.id == "codex")
    path = manager.config_path(kind)
    path.parent.mkdir(parents=True)
    original = (FIXTURES / "codex.toml").read_bytes()
    path.write_bytes(original)
    manager.connect("codex", SERVERS)
    manager.connect("codex", {})
    assert path.read_bytes() == original


def test_entry_shapes_are_what_the_clients_read(manager: ClientManager) -> None:
    """Written entries are recognised as Switchboard's (so sync can update them)."""
    for kind in KINDS:
        manager.connect(kind.id, SERVERS)
        assert sorted(manager.ours(kind)) == sorted(SERVERS), kind.id
        for name in SERVERS:
            assert is_ours(manager_entries(manager, kind)[name], name, CONNECT), f"{kind.id}:{name}"


def manager_entries(manager: ClientManager, kind: ClientKind) -> dict[str, Any]:
    data = load(kind.fmt, manager.config_path(kind).read_bytes())
    container, _ = kind.resolve(data if kind.fmt is Format.JSON else None)
    node = data
    for key in container:
        node = node[key]
    if kind.keyed_list:
        return {item["name"]: item for item in node}
    return dict(node)


def test_shapes_edited_as_a_whole_still_work(manager: ClientManager) -> None:
    """A flow-style YAML container with entries and a TOML entry that is not its own
    table are edited through ruamel/tomlkit documents (not byte-exact, but correct)."""
    goose = next(k for k in KINDS if k.id == "goose")
    path = manager.config_path(goose)
    path.parent.mkdir(parents=True)
    path.write_text("extensions: {developer: {enabled: true, type: builtin}}\nGOOSE_MODE: auto\n")
    manager.connect("goose", SERVERS)
    assert sorted(manager.ours(goose)) == sorted(SERVERS)
    manager.disconnect("goose")
    assert manager.ours(goose) == []
    data = load(Format.YAML, path.read_bytes())
    assert data["GOOSE_MODE"] == "auto"
    assert data["extensions"] == {"developer": {"enabled": True, "type": "builtin"}}

    codex = next(k for k in KINDS if k.id == "codex")
    path = manager.config_path(codex)
    path.parent.mkdir(parents=True)
    url = SERVERS["time"]
    path.write_text(f'[mcp_servers]\ntime = {{ url = "{url}" }}\ndocs = {{ command = "npx" }}\n')
    assert manager.ours(codex) == ["time"]
    report = manager.disconnect("codex")
    assert report.removed == ("time",)
    assert tomllib.loads(path.read_text()) == {"mcp_servers": {"docs": {"command": "npx"}}}
