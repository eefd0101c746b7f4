"""Issue 12, items 1-4: a broken config file or a full disk never loses data.

The full disk is a real 256 KiB tmpfs mounted over the config directory when the tests
run as root (CI does); elsewhere a ConfigStore whose writes fail with ENOSPC stands in.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from switchboard.core.errors import ConfigError, StoreError
from switchboard.core.events import Event, Notice
from switchboard.core.paths import AppPaths
from switchboard.core.spec import ServerSpec
from switchboard.core.state import ServerState
from switchboard.engine import Engine
from switchboard.store.config import Config, ConfigStore
from tests.conftest import FakeSecrets, fixture_cmd, make_test_engine


class Disk:
    """Makes the config directory full and free again."""

    def __init__(self, config_dir: Path) -> None:
        self.dir = config_dir
        self.store: ConfigStore | None = None  # set for the stand-in
        self.real = False

    def fill(self) -> None:
        raise NotImplementedError

    def free(self) -> None:
        raise NotImplementedError


class TmpfsDisk(Disk):
    def __init__(self, config_dir: Path) -> None:
        super().__init__(config_dir)
        self.real = True
        self.filler = config_dir / "filler"

    def fill(self) -> None:
        for path, chunk in ((self.filler, 4096), (self.dir / "filler2", 1)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                with contextlib.suppress(OSError):
                    while True:
                        os.write(fd, b"\0" * chunk)
            finally:
                os.close(fd)

    def free(self) -> None:
        for f in (self.filler, self.dir / "filler2"):
            f.unlink(missing_ok=True)


class FullStore(ConfigStore):
    """Stand-in for a full disk where mounting a tmpfs is not allowed."""

    full = False

    def save(self, config: Config) -> None:
        if self.full:
            raise StoreError(
                f"Could not write {self.path}: {os.strerror(errno.ENOSPC)}.",
                hint="Check free disk space and permissions; the previous file was kept.",
            )
        super().save(config)


class FakeDisk(Disk):
    def __init__(self, config_dir: Path) -> None:
        super().__init__(config_dir)
        self.store = FullStore(config_dir / "config.toml")

    def fill(self) -> None:
        assert isinstance(self.store, FullStore)
        self.store.full = True

    def free(self) -> None:
        assert isinstance(self.store, FullStore)
        self.store.full = False


def _can_mount() -> bool:
    return os.geteuid() == 0 and shutil.which("mount") is not None


@pytest.fixture
def disk(paths: AppPaths) -> Iterator[Disk]:
    if _can_mount():
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", str(paths.config_dir)],
            capture_output=True,
        )
        if result.returncode == 0:
            try:
                yield TmpfsDisk(paths.config_dir)
            finally:
                subprocess.run(["umount", "-l", str(paths.config_dir)], check=False)
            return
    yield FakeDisk(paths.config_dir)


@pytest.fixture
async def engine_on(
    paths: AppPaths, disk: Disk, fake_secrets: FakeSecrets
) -> AsyncIterator[Engine]:
    eng = make_test_engine(paths, fake_secrets, config_store=disk.store)
    await eng.start()
    try:
        yield eng
    finally:
        disk.free()
        await eng.aclose()


def echo(name: str) -> ServerSpec:
    cmd, args = fixture_cmd("echo_server.py")
    return ServerSpec(name=name, command=cmd, args=args)


async def test_stop_works_on_a_full_disk_and_says_the_flag_was_not_saved(
    engine_on: Engine, disk: Disk
) -> None:
    engine = engine_on
    notices: list[Event] = []
    engine.subscribe(lambda e: notices.append(e) if isinstance(e, Notice) else None)
    await engine.add_server(echo("a"))
    await engine.start_server("a")
    assert engine.status("a").state is ServerState.RUNNING
    disk.fill()

    status = await engine.stop_server("a")  # refused before the fix: StoreError

    assert status.state is ServerState.STOPPED
    assert engine.config_warning and "could not save" in engine.config_warning.lower()
    assert any(isinstance(n, Notice) and n.kind == "config-unsaved" for n in notices)
    assert engine.config.server("a").autostart is False  # memory knows it stopped
    # Starting works too (best effort), and a later successful save clears the warning.
    await engine.start_server("a")
    assert engine.status("a").state is ServerState.RUNNING
    disk.free()
    await engine.stop_server("a")
    assert engine.config_warning is None
    assert ConfigStore(engine.paths.config_file).load().server("a").autostart is False


async def test_stop_works_when_the_file_was_broken_by_hand(engine: Engine) -> None:
    await engine.add_server(echo("a"))
    await engine.start_server("a")
    engine.paths.config_file.write_text("[[servers]\nname = ")  # the person's broken edit

    status = await engine.stop_server("a")

    assert status.state is ServerState.STOPPED
    # Their edit is kept aside, not lost, and not rotated into the backups.
    damaged = engine.paths.config_file.with_name("config.toml.damaged")
    assert damaged.read_text() == "[[servers]\nname = "
    for backup in engine.store.backups:
        if backup.exists():
            assert "[[servers]\nname = " not in backup.read_text()
    assert ConfigStore(engine.paths.config_file).load().server("a").autostart is False


async def test_failed_remove_changes_nothing(engine_on: Engine, disk: Disk) -> None:
    engine = engine_on
    await engine.add_server(echo("a"))
    await engine.start_server("a")
    pid = engine.status("a").pid
    disk.fill()

    with pytest.raises(StoreError) as info:
        await engine.remove_server("a")
    assert "Nothing was changed" in info.value.message

    # Memory, supervisor and file agree: still there, still running.
    assert engine.config.has("a")
    assert engine.status("a").state is ServerState.RUNNING
    assert engine.status("a").pid == pid
    assert [s.name for s in engine.statuses()] == ["a"]
    with pytest.raises(Exception, match="exists"):
        await engine.add_server(echo("a"))
    disk.free()
    await engine.remove_server("a")  # and once there is room, it works
    assert not engine.config.has("a")
    assert engine.statuses() == []
    assert not ConfigStore(engine.paths.config_file).load().has("a")


async def test_failed_add_and_settings_change_nothing(engine_on: Engine, disk: Disk) -> None:
    engine = engine_on
    before = engine.config
    disk.fill()
    with pytest.raises(StoreError):
        await engine.add_server(echo("b"))
    assert engine.config == before
    assert engine.statuses() == []
    disk.free()
    await engine.add_server(echo("b"))
    assert engine.config.has("b")


# -- 12.3: an empty file is damage, and backups survive it ------------------------------


def _good(store: ConfigStore, *names: str) -> None:
    store.save(Config(servers=tuple(echo(n) for n in names)))


def test_empty_file_is_damage_and_never_rotated_over_the_backup(tmp_path: Path) -> None:
    store = ConfigStore(tmp_path / "config.toml")
    _good(store, "a")
    _good(store, "a", "b")
    backup_before = store.backup_path.read_bytes()
    store.path.write_bytes(b"")  # e.g. another program truncated it

    with pytest.raises(ConfigError) as info:
        store.load()  # before the fix: Config() with no servers
    assert "empty" in info.value.message
    assert "switchboard config restore" in info.value.hint

    store.save(Config(servers=(echo("c"),)))  # a save over damage
    assert store.backup_path.read_bytes() == backup_before  # the good backup is intact
    assert store.damaged_path.read_bytes() == b""


def test_comments_only_file_is_damage(tmp_path: Path) -> None:
    store = ConfigStore(tmp_path / "config.toml")
    store.path.write_text("# Switchboard configuration.\n\n")
    with pytest.raises(ConfigError, match="empty"):
        store.load()


def test_three_generations_of_backups_and_restore(tmp_path: Path) -> None:
    store = ConfigStore(tmp_path / "config.toml")
    for n in range(1, 6):
        _good(store, *[f"s{i}" for i in range(n)])
    # current has 5 servers; backups hold 4, 3, 2.
    sizes = [len(ConfigStore(b).load().servers) for b in store.backups]
    assert sizes == [4, 3, 2]
    store.path.write_bytes(b"")
    store.backup_path.write_text("garbage = = =")  # the newest backup is damaged too
    used = store.restore()
    assert used == store.backups[1]
    assert len(store.load().servers) == 3


async def test_engine_refuses_to_start_on_an_empty_config(
    paths: AppPaths, fake_secrets: FakeSecrets
) -> None:
    store = ConfigStore(paths.config_file)
    _good(store, "a")
    _good(store, "a", "b")
    paths.config_file.write_bytes(b"")
    backup = store.backup_path.read_bytes()
    eng = make_test_engine(paths, fake_secrets, stop_grace=1.0)
    with pytest.raises(ConfigError, match="empty"):
        await eng.start()
    await eng.aclose()
    assert paths.config_file.read_bytes() == b""  # not replaced by defaults
    assert store.backup_path.read_bytes() == backup


def test_cli_config_restore_brings_the_servers_back(tmp_path: Path) -> None:
    home = tmp_path / "home"
    paths = AppPaths.default(home)
    paths.ensure()
    store = ConfigStore(paths.config_file)
    _good(store, "a")
    _good(store, "a", "b")
    paths.config_file.write_bytes(b"")
    env = dict(os.environ, SWITCHBOARD_HOME=str(home))
    cli = [sys.executable, "-m", "switchboard"]
    listed = subprocess.run([*cli, "list"], env=env, capture_output=True, text=True)
    assert listed.returncode != 0
    assert "empty" in listed.stderr and "config restore" in listed.stderr
    assert "Traceback" not in listed.stderr
    restored = subprocess.run([*cli, "config", "restore"], env=env, capture_output=True, text=True)
    assert restored.returncode == 0, restored.stderr
    assert [s.name for s in store.load().servers] == ["a"]
    checked = subprocess.run([*cli, "config", "check"], env=env, capture_output=True, text=True)
    assert checked.returncode == 0 and "1 servers" in checked.stdout


# -- 12.4: wrong types are named with key and line, never coerced ----------------------

BAD = [
    ("settings = 5\n", "'settings' must be a table", 1),
    (
        'version = 1\n[[servers]]\nname = "a"\ncommand = "x"\nrequest_timeout = "abc"\n',
        "'servers[1].request_timeout' must be a number",
        5,
    ),
    (
        'version = 1\n\n[[servers]]\nname = "a"\ncommand = "x"\n\n'
        '[[servers]]\nname = "b"\ncommand = "x"\nautostart = "false"\n',
        "'servers[2].autostart' must be true or false",
        10,
    ),
    ('version = 1\n[settings]\nport = "8765"\n', "'settings.port' must be a whole number", 3),
    ("version = 1\n[settings]\nstart_at_login = 1\n", "must be true or false", 3),
    (
        'version = 1\n[[servers]]\nname = "a"\ncommand = "x"\nargs = "-y pkg"\n',
        "must be a list of strings",
        5,
    ),
    (
        'version = 1\n[[servers]]\nname = "a"\ncommand = "x"\nenv = { A = 1 }\n',
        "'servers[1].env' must be a table of strings",
        5,
    ),
    (
        'version = 1\n[[servers]]\nname = "a"\ncommand = "x"\n[servers.restart]\n'
        'max_restarts = "3"\n',
        "'servers[1].restart.max_restarts' must be a whole number",
        6,
    ),
    ('version = 1\n[[servers]]\nname = "a"\ncommand = 7\n', "must be a string", 4),
    ('version = 1\n[[servers]]\nname = "a"\ncommand = "x"\nauth = "none"\n', "one of", 5),
    ("version = 1\nservers = 3\n", "'servers' must be a list", None),
    ("version = 1\nserver = []\n", "Unknown top-level key", 2),
]


@pytest.mark.parametrize(("text", "message", "line"), BAD)
def test_wrong_types_name_key_and_line(
    tmp_path: Path, text: str, message: str, line: int | None
) -> None:
    store = ConfigStore(tmp_path / "config.toml")
    store.path.write_text(text)
    with pytest.raises(ConfigError) as info:
        store.load()
    assert message in info.value.message
    if line is not None:
        assert f"line {line}:" in info.value.message
    assert not isinstance(info.value.__cause__, TypeError | AttributeError)


async def test_string_false_autostart_does_not_start_the_server(
    paths: AppPaths, fake_secrets: FakeSecrets
) -> None:
    cmd, args = fixture_cmd("echo_server.py")
    arglist = ", ".join(f'"{a}"' for a in args)
    paths.config_file.write_text(
        f'version = 1\n[[servers]]\nname = "a"\ncommand = "{cmd}"\nargs = [{arglist}]\n'
        'autostart = "false"\n'
    )
    eng = make_test_engine(paths, fake_secrets, stop_grace=1.0)
    with pytest.raises(ConfigError, match="autostart"):
        await eng.start()  # before the fix: started the server ("false" is truthy)
    await eng.aclose()
