"""A client asking over and over (an authorization flood) is one consent bubble a minute:
the latest is shown when the minute ends, saying how many more there were. Another
client's request is shown at once."""

from __future__ import annotations

import dataclasses

from pytestqt.qtbot import QtBot

from switchboard.ui.notify import Channel, Notifier, consent_notification
from tests.gui.conftest import until
from tests.gui.notify_bus import consent_request
from tests.gui.test_notify_fallbacks import FakeService, Later
from tests.helpers.clocks import ManualClock


async def test_consent_requests_of_one_client_are_folded(qtbot: QtBot) -> None:
    service, clock, later = FakeService(), ManualClock(1000.0), Later()
    notifier = Notifier(open_target=lambda _n: None, service=service, clock=clock, later=later)
    channels: list[Channel] = []
    notifier.sent.connect(lambda _n, ch: channels.append(ch))
    flood = consent_request()
    for i in range(50):
        clock.now = 1000.0 + i
        notifier.send(consent_notification(dataclasses.replace(flood, id=f"r{i}")))
    other = dataclasses.replace(consent_request(), id="o", client_id="real", client_name="Real")
    notifier.send(consent_notification(other))
    await until(lambda: len(service.calls) == 2)
    assert [n.request.id for n, _ in service.calls if n.request] == ["r0", "o"]
    assert channels.count(Channel.FOLDED) == 49

    clock.now = 1060.0
    later.run()
    await until(lambda: len(service.calls) == 3)
    latest, replaces = service.calls[2]
    assert latest.request is not None and latest.request.id == "r49"
    assert latest.body == (
        "Cursor wants to use echo. Approve or deny it in Switchboard. (48 more requests "
        "from this client since the last notification.)"
    )
    assert replaces == 1
    await notifier.aclose()
