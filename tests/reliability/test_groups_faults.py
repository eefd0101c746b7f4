"""Issue 14 with issue 12's guarantee: a group change, or a server removal that edits
groups, that cannot be saved (full disk) changes nothing - not the file, not memory,
not the supervisor - and announces nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from switchboard.audit.engine import AuditedConfigStore
from switchboard.core.errors import StoreError
from switchboard.core.events import Event, GroupsChanged
from switchboard.core.group import GroupSpec
from switchboard.core.paths import AppPaths
from switchboard.core.spec import ServerSpec
from switchboard.core.state import ServerState
from switchboard.engine import Engine
from tests.conftest import FakeSecrets, fixture_cmd, make_test_engine
from tests.reliability.test_config_faults import FullStore


def full_store(engine: Engine) -> FullStore:
    """The store the test passed in (the engine audits saves through a wrapper)."""
    store = engine.store
    inner = store.inner if isinstance(store, AuditedConfigStore) else store
    assert isinstance(inner, FullStore)
    return inner


@pytest.fixture
async def full_engine(paths: AppPaths, fake_secrets: FakeSecrets) -> AsyncIterator[Engine]:
    eng = make_test_engine(paths, fake_secrets, config_store=FullStore(paths.config_file))
    await eng.start()
    try:
        yield eng
    finally:
        full_store(eng).full = False
        await eng.aclose()


def echo(name: str) -> ServerSpec:
    cmd, args = fixture_cmd("echo_server.py")
    return ServerSpec(name=name, command=cmd, args=args)


async def test_failed_server_removal_leaves_server_and_groups_as_they_were(
    full_engine: Engine,
) -> None:
    engine = full_engine
    store = full_store(engine)
    await engine.add_server(echo("a"))
    await engine.add_group(GroupSpec("dev", servers=("a", "b")))
    await engine.start_server("a")
    pid = engine.status("a").pid
    before = engine.config
    file_before = engine.paths.config_file.read_bytes()
    events: list[Event] = []
    engine.subscribe(events.append)
    store.full = True

    with pytest.raises(StoreError, match="Nothing was changed"):
        await engine.remove_server("a")

    assert engine.config == before
    assert engine.group("dev").servers == ("a", "b")
    assert engine.paths.config_file.read_bytes() == file_before
    assert engine.status("a").state is ServerState.RUNNING and engine.status("a").pid == pid
    assert not [e for e in events if isinstance(e, GroupsChanged)]
    store.full = False
    await engine.remove_server("a")
    assert engine.group("dev").servers == ("b",)


async def test_failed_group_changes_change_nothing(full_engine: Engine) -> None:
    engine = full_engine
    store = full_store(engine)
    await engine.add_group(GroupSpec("dev", servers=("a",)))
    before = engine.config
    file_before = engine.paths.config_file.read_bytes()
    events: list[Event] = []
    engine.subscribe(events.append)
    store.full = True

    changes = [
        engine.add_group(GroupSpec("new")),
        engine.update_group(GroupSpec("dev", servers=("a", "b"), lean=True)),
        engine.rename_group("dev", "work"),
        engine.remove_group("dev"),
    ]
    for change in changes:
        with pytest.raises(StoreError, match="Nothing was changed"):
            await change

    assert engine.config == before
    assert engine.paths.config_file.read_bytes() == file_before
    assert events == []
