"""Against a real notification daemon: dunst (GDBus-based, strict about the ``Notify``
signature) on the test's X display and session bus. Checks that it accepts our call,
honours the urgency (critical: no timeout), and that its action reaches us."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from switchboard.core.events import StateChanged
from switchboard.core.state import ServerState
from switchboard.ui.notify import (
    Channel,
    Notification,
    Notifier,
    consent_notification,
    failure_notification,
)
from tests.gui.conftest import until
from tests.gui.notify_bus import HAVE_DBUS_DAEMON, consent_request, private_bus

pytestmark = pytest.mark.skipif(
    not (HAVE_DBUS_DAEMON and os.environ.get("DISPLAY") and shutil.which("dunst")),
    reason="needs dunst and dbus-daemon (scripts/bootstrap.sh installs them) and an X "
    "display (scripts/test runs pytest in xvfb-run)",
)


async def _dunstctl(bus: str, *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        "dunstctl",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "DBUS_SESSION_BUS_ADDRESS": bus},
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()


@contextlib.asynccontextmanager
async def dunst(tmp_path: Path, bus: str) -> AsyncIterator[None]:
    """dunst on the private bus ``bus`` (the test session's bus may already have one)."""
    conf = tmp_path / "dunstrc"
    conf.write_text("[global]\n")  # dunst's defaults (critical: timeout 0)
    proc = await asyncio.create_subprocess_exec(
        "dunst",
        "-conf",
        str(conf),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "DBUS_SESSION_BUS_ADDRESS": bus},
    )
    try:

        async def up() -> bool:
            return (await _dunstctl(bus, "is-paused"))[0] == 0

        for _ in range(300):
            if proc.returncode is not None:
                pytest.fail("dunst quit at start")
            if await up():
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("dunst did not come up on the session bus")
        yield
    finally:
        proc.terminate()
        await proc.wait()


async def _history(bus: str) -> list[dict[str, Any]]:
    await _dunstctl(bus, "close-all")
    _rc, out = await _dunstctl(bus, "history")
    return [{k: v["data"] for k, v in n.items()} for n in json.loads(out)["data"][0]]


async def test_dunst_shows_ours_and_its_action_opens_the_page(tmp_path: Path, qtbot: QtBot) -> None:
    opened: list[Notification] = []
    channels: list[Channel] = []
    async with private_bus(tmp_path) as bus, dunst(tmp_path, bus):
        notifier = Notifier(open_target=opened.append, service=bus)
        notifier.sent.connect(lambda _n, ch: channels.append(ch))
        try:
            failure = failure_notification(
                StateChanged("alpha", ServerState.BACKOFF, ServerState.FAILED, "It crashed.")
            )
            notifier.send(failure)
            await until(lambda: channels == [Channel.DESKTOP], what="dunst took it")
            # dunst's context action on the newest notification: our "default" action.
            assert (await _dunstctl(bus, "action", "0"))[0] == 0
            await until(lambda: opened, what="ActionInvoked from dunst")
            assert opened == [failure]

            notifier.send(consent_notification(consent_request()))
            await until(lambda: len(channels) == 2, what="the consent notification")
            assert channels[1] is Channel.DESKTOP
            shown = {n["summary"]: n for n in await _history(bus)}
            alpha = shown["alpha stopped working"]
            assert alpha["appname"] == "Switchboard"
            assert alpha["body"] == "It crashed. Open Switchboard to see its log."
            assert alpha["default_action_name"] == "default"
            assert Path(alpha["icon_path"]).is_file()
            assert alpha["timeout"] == 0  # critical: stays until dismissed
            assert shown["A client asks for access"]["timeout"] > 0  # normal urgency
        finally:
            await notifier.aclose()
