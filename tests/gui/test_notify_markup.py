"""10.6 and 10.2 in the notifications: a client's name (chosen by whoever registered it)
reaches the notification service escaped for the spec's body markup (no links, no
images); a service without ``body-markup`` gets it as plain text. A client approved
before gets an "Approve" action (one click, still a person's), and only the service
that showed the bubble can press it: an ``ActionInvoked`` emitted by another program on
the bus is ignored. Real private D-Bus, the fake service process of fake_notifications.py."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from switchboard.application import build_desktop
from switchboard.auth.consent import Decision
from switchboard.core.paths import AppPaths
from switchboard.ui.notify import Channel, Notifier, consent_notification
from tests.gui.conftest import consent_broker, running, until
from tests.gui.notify_bus import HAVE_DBUS_DAEMON, consent_request, fake_service, private_bus

pytestmark = pytest.mark.skipif(
    not HAVE_DBUS_DAEMON, reason="needs dbus-daemon (scripts/bootstrap.sh installs it)"
)

HOSTILE = (
    'Evil <a href="https://evil.example/x">Click me</a><img src="file:///home/u/.ssh/id_rsa"> & Co'
)


async def _send_hostile(tmp_path: Path, caps: str | None) -> dict[str, object]:
    channels: list[Channel] = []
    async with private_bus(tmp_path) as bus, fake_service(bus, caps) as service:
        notifier = Notifier(open_target=lambda _n: None, service=bus)
        notifier.sent.connect(lambda _n, ch: channels.append(ch))
        try:
            request = dataclasses.replace(consent_request(), client_name=HOSTILE)
            notifier.send(consent_notification(request))
            call = await service.call("A client asks for access")
            await until(lambda: channels == [Channel.DESKTOP])
            return call
        finally:
            await notifier.aclose()


async def test_a_client_name_cannot_add_markup(qtbot: QtBot, tmp_path: Path) -> None:
    call = await _send_hostile(tmp_path, caps=None)  # the service renders body markup
    assert str(call["body"]).encode() == (
        b'Evil &lt;a href="https://evil.example/x"&gt;Click me&lt;/a&gt;'
        b'&lt;img src="file:///home/u/.ssh/id_rsa"&gt; &amp; Co wants to use echo. '
        b"Approve or deny it in Switchboard."
    )
    assert call["summary"] == "A client asks for access"  # no client-chosen text


async def test_a_service_without_body_markup_gets_plain_text(qtbot: QtBot, tmp_path: Path) -> None:
    call = await _send_hostile(tmp_path, caps="body,actions")
    assert call["body"] == f"{HOSTILE} wants to use echo. Approve or deny it in Switchboard."


def _spoof_action(bus: str, nid: int, key: str) -> None:
    """Another program on the session bus emits ActionInvoked as if it were the service."""
    from jeepney import DBusAddress, new_signal
    from jeepney.bus_messages import message_bus
    from jeepney.io.blocking import open_dbus_connection

    with open_dbus_connection(bus=bus) as conn:
        emitter = DBusAddress(
            "/org/freedesktop/Notifications", interface="org.freedesktop.Notifications"
        )
        conn.send(new_signal(emitter, "ActionInvoked", "us", (nid, key)))
        conn.send_and_get_reply(message_bus.GetId())  # the signal went out first


async def test_approve_from_the_notification_of_a_client_approved_before(
    paths: AppPaths, qtbot: QtBot, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "switchboard.ui")
    async with (
        private_bus(tmp_path) as bus,
        fake_service(bus) as service,
        running(paths, with_broker=True) as (engine, _bridge),
    ):
        desktop = build_desktop(engine, paths=paths, use_tray=False, notifications=bus)
        broker = consent_broker(engine)
        try:
            req = broker.open(
                client_id="c",
                client_name="Cursor",
                redirect_uri="http://127.0.0.1:1/cb",
                redirect_host="127.0.0.1:1",
                server="echo",
                resource="r",
                scopes=("mcp",),
                previously_approved=True,
            )
            waiting = asyncio.ensure_future(broker.wait(req.id))
            call = await service.call("A client asks for access again")
            assert call["body"] == (
                "Cursor wants to use echo again. You approved it before; approve again "
                "only if you just started it."
            )
            assert call["actions"] == [
                "default", "Review", "approve", "Approve", "open", "Review"
            ]  # fmt: skip
            await until(lambda: req.id in desktop.consent.dialogs, what="the dialog")

            await asyncio.to_thread(_spoof_action, bus, int(call["id"]), "approve")
            await until(lambda: "ignored ActionInvoked" in caplog.text, what="the spoof")
            assert not waiting.done() and broker.get(req.id) is not None

            await service.invoke(int(call["id"]), "approve")
            assert await waiting == (Decision.APPROVED, True)
            await until(lambda: desktop.consent.dialogs == {}, what="the dialog to close")
        finally:
            await desktop.notifier.aclose()
            desktop.bridge.close()
