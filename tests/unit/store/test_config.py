from __future__ import annotations

import errno
import stat
from pathlib import Path
from typing import Any

import pytest

from switchboard.core.errors import ConfigError, ServerExists, ServerNotFound, StoreError
from switchboard.core.spec import ServerSpec, Settings
from switchboard.store.atomic import atomic_write
from switchboard.store.config import SCHEMA_VERSION, Config, ConfigStore, migrate


def spec(name: str = "time") -> ServerSpec:
    return ServerSpec(name=name, command="uvx", args=("mcp-server-time",))


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    assert ConfigStore(tmp_path / "config.toml").load() == Config()


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    store = ConfigStore(tmp_path / "config.toml")
    config = Config(settings=Settings(port=9100), servers=(spec("a"), spec("b")))
    store.save(config)
    assert store.load() == config
    text = store.path.read_text()
    assert text.startswith("# Switchboard configuration")
    assert f"version = {SCHEMA_VERSION}" in text
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600


def test_second_save_keeps_a_backup_of_the_last_good_file(tmp_path: Path) -> None:
    store = ConfigStore(tmp_path / "config.toml")
    store.save(Config(servers=(spec("a"),)))
    store.save(Config(servers=(spec("a"), spec("b"))))
    backup = ConfigStore(store.backup_path)
    assert [s.name for s in backup.load().servers] == ["a"]


def test_corrupt_file_is_a_clear_error_naming_file_and_backup(tmp_path: Path) -> None:
    store = ConfigStore(tmp_path / "config.toml")
    store.save(Config(servers=(spec("a"),)))
    store.save(Config(servers=(spec("a"), spec("b"))))
    store.path.write_text("version = 1\n[[servers]\nname = ")
    with pytest.raises(ConfigError) as info:
        store.load()
    assert str(store.path) in info.value.message
    assert str(store.backup_path) in info.value.hint
    # Nothing was reset: the broken file is still there for the person to fix.
    assert "[[servers]\nname = " in store.path.read_text()


def test_saving_over_a_corrupt_file_does_not_clobber_the_good_backup(tmp_path: Path) -> None:
    store = ConfigStore(tmp_path / "config.toml")
    store.save(Config(servers=(spec("a"),)))
    store.save(Config(servers=(spec("a"), spec("b"))))
    store.path.write_text("garbage = = =")
    store.save(Config(servers=(spec("c"),)))
    assert [s.name for s in ConfigStore(store.backup_path).load().servers] == ["a"]


def test_invalid_content_is_reported_with_the_reason(tmp_path: Path) -> None:
    store = ConfigStore(tmp_path / "config.toml")
    store.path.write_text('version = 1\n[[servers]]\nname = "Bad Name"\ncommand = "x"\n')
    with pytest.raises(ConfigError, match="Invalid server name"):
        store.load()
    store.path.write_text(
        'version = 1\n[[servers]]\nname = "a"\ncommand = "x"\n[[servers]]\nname = "a"\ncommand = "y"\n'
    )
    with pytest.raises(ConfigError, match="Duplicate"):
        store.load()
    assert "no backup" in _hint(store)


def _hint(store: ConfigStore) -> str:
    try:
        store.load()
    except ConfigError as exc:
        return exc.hint
    raise AssertionError("expected ConfigError")


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    store = ConfigStore(tmp_path / "config.toml")
    store.path.write_text(f"version = {SCHEMA_VERSION + 1}\n")
    with pytest.raises(ConfigError, match="newer Switchboard"):
        store.load()


def test_migration_hook_runs_each_step_in_order() -> None:
    calls: list[int] = []

    def step(n: int) -> Any:
        def run(doc: dict[str, Any]) -> dict[str, Any]:
            calls.append(n)
            return {**doc, f"step{n}": True}

        return run

    import switchboard.store.config as cfg

    doc = {"version": 1}
    original = cfg.SCHEMA_VERSION
    try:
        cfg.SCHEMA_VERSION = 3
        out = migrate(doc, {1: step(1), 2: step(2)})
    finally:
        cfg.SCHEMA_VERSION = original
    assert calls == [1, 2]
    assert out["version"] == 3 and out["step1"] and out["step2"]


def test_config_helpers() -> None:
    c = Config().with_server(spec("a"))
    with pytest.raises(ServerExists):
        c.with_server(spec("a"))
    with pytest.raises(ServerNotFound):
        c.with_server(spec("b"), replace=True)
    with pytest.raises(ServerNotFound):
        c.without_server("b")
    assert c.without_server("a").servers == ()


def test_atomic_write_failure_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "f.txt"
    atomic_write(target, b"old")

    def full_disk(fd: int, data: Any) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("switchboard.store.atomic.os.write", full_disk)
    with pytest.raises(StoreError) as info:
        atomic_write(target, b"new")
    assert "No space left" in info.value.message and "disk space" in info.value.hint
    monkeypatch.undo()
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]  # no temp file left behind
