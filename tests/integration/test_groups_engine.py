"""Engine group operations (issue 14): saved first, then current, then GroupsChanged;
start/stop of a group's members; a server's removal edits its groups in one save."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from switchboard.audit.engine import AuditedConfigStore
from switchboard.core.errors import GroupChanged, GroupExists, GroupNotFound
from switchboard.core.events import Event, GroupsChanged, Notice
from switchboard.core.group import GroupSpec, MemberChoices, ToolChoice
from switchboard.core.paths import AppPaths
from switchboard.core.spec import ServerSpec
from switchboard.core.state import ServerState
from switchboard.engine import Engine
from switchboard.store.config import Config, ConfigStore
from tests.conftest import FakeSecrets, fixture_cmd, make_test_engine


def echo(name: str) -> ServerSpec:
    cmd, args = fixture_cmd("echo_server.py")
    return ServerSpec(name=name, command=cmd, args=args)


def watch(engine: Engine) -> list[Event]:
    seen: list[Event] = []
    engine.subscribe(lambda e: seen.append(e) if isinstance(e, GroupsChanged | Notice) else None)
    return seen


def on_disk(engine: Engine) -> list[GroupSpec]:
    return list(ConfigStore(engine.paths.config_file).load().groups)


async def test_group_changes_are_saved_then_announced(engine: Engine) -> None:
    seen = watch(engine)
    saved_when_announced: list[list[str]] = []
    engine.subscribe(
        lambda e: (
            saved_when_announced.append([g.name for g in on_disk(engine)])
            if isinstance(e, GroupsChanged)
            else None
        )
    )
    dev = GroupSpec("dev", servers=("a", "missing"))
    await engine.add_group(dev)
    assert engine.group("dev") == dev
    assert engine.groups() == [dev]
    assert engine.group_url("dev") == f"{engine.base_url}/groups/dev/mcp"
    with pytest.raises(GroupExists):
        await engine.add_group(GroupSpec("dev"))

    chosen = dev.with_choices("a", MemberChoices(tools={"t": ToolChoice(enabled=False)}))
    with pytest.raises(GroupChanged, match="changed meanwhile"):
        await engine.update_group(chosen, expected_tag=GroupSpec("dev").tag())
    assert engine.group("dev") == dev
    await engine.update_group(chosen, expected_tag=dev.tag())
    await engine.rename_group("dev", "work")
    assert engine.group("work").choices == chosen.choices
    with pytest.raises(GroupNotFound, match="No group named 'dev'"):
        engine.group("dev")
    with pytest.raises(GroupNotFound):
        engine.group_url("dev")
    await engine.remove_group("work")
    with pytest.raises(GroupNotFound):
        await engine.remove_group("work")
    with pytest.raises(GroupNotFound):
        await engine.update_group(GroupSpec("nope"))

    assert seen == [
        GroupsChanged(("dev",)),
        GroupsChanged(("dev",)),
        GroupsChanged(("dev", "work")),
        GroupsChanged(("work",)),
    ]
    # Each event came after the file had the change.
    assert saved_when_announced == [["dev"], ["dev"], ["work"], []]
    assert on_disk(engine) == []


async def test_start_and_stop_a_group_start_and_stop_its_members(engine: Engine) -> None:
    for name in ("a", "b", "c"):
        await engine.add_server(echo(name))
    await engine.add_group(GroupSpec("dev", servers=("b", "ghost", "a")))

    started = await engine.start_group("dev")

    assert [(s.name, s.state) for s in started] == [
        ("b", ServerState.RUNNING),
        ("a", ServerState.RUNNING),
    ]
    assert engine.status("c").state is ServerState.STOPPED  # not a member
    assert engine.config.server("a").autostart  # remembered, like 'start'
    stopped = await engine.stop_group("dev")
    assert [(s.name, s.state) for s in stopped] == [
        ("b", ServerState.STOPPED),
        ("a", ServerState.STOPPED),
    ]
    assert not ConfigStore(engine.paths.config_file).load().server("a").autostart
    with pytest.raises(GroupNotFound):
        await engine.start_group("nope")


class CountingStore(ConfigStore):
    """Keeps the bytes of every save."""

    saves: list[bytes]

    def save(self, config: Config) -> None:
        super().save(config)
        self.saves.append(self.path.read_bytes())


@pytest.fixture
async def counted(paths: AppPaths, fake_secrets: FakeSecrets) -> AsyncIterator[Engine]:
    store = CountingStore(paths.config_file)
    store.saves = []
    eng = make_test_engine(paths, fake_secrets, config_store=store)
    await eng.start()
    try:
        yield eng
    finally:
        await eng.aclose()


async def test_removing_a_server_edits_its_groups_in_the_same_save(counted: Engine) -> None:
    engine = counted
    store = engine.store
    counting = store.inner if isinstance(store, AuditedConfigStore) else store
    assert isinstance(counting, CountingStore)
    await engine.add_server(echo("a"))
    await engine.add_server(echo("b"))
    choices = MemberChoices(prompts_off=frozenset({"p"}))
    await engine.add_group(GroupSpec("one", servers=("a", "b"), choices={"a": choices}))
    await engine.add_group(GroupSpec("two", servers=("b",)))
    await engine.add_group(GroupSpec("three", servers=("a",)))
    seen = watch(engine)
    counting.saves.clear()

    await engine.remove_server("a")

    assert len(counting.saves) == 1  # one file write holds both changes
    after = ConfigStore(engine.paths.config_file).load()
    assert not after.has("a")
    assert after.group("one").servers == ("b",)
    assert "a" not in after.group("one").choices
    assert after.group("two").servers == ("b",)
    assert after.group("three").servers == ()
    assert engine.config == after
    assert seen[0] == GroupsChanged(("one", "three"))
    notice = seen[1]
    assert isinstance(notice, Notice) and notice.kind == "server-left-groups"
    assert "one, three" in notice.text

    seen.clear()
    await engine.add_server(echo("c"))
    await engine.remove_server("c")  # in no group: no group event
    assert seen == []
