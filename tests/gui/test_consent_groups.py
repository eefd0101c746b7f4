"""The consent dialog and notification for a group (issue 14): they name the group and
list its servers, for a request for the group and for a group among the choices."""

from __future__ import annotations

import asyncio
from typing import Any

from PySide6.QtWidgets import QLabel

from switchboard.auth.consent import ConsentRequest, Decision
from switchboard.core.paths import AppPaths
from switchboard.ui.consent import ConsentPresenter
from switchboard.ui.notify import consent_notification
from tests.gui.conftest import consent_broker, running, until

MEMBERS = {"group:work": ("github", "notes")}
COMMON: dict[str, Any] = {
    "client_id": "c",
    "client_name": "Cursor",
    "redirect_uri": "http://127.0.0.1:5555/cb",
    "redirect_host": "127.0.0.1:5555",
    "scopes": ("mcp",),
}


async def test_dialog_names_the_group_and_its_servers(paths: AppPaths) -> None:
    async with running(paths, with_broker=True) as (engine, bridge):
        broker = consent_broker(engine)
        presenter = ConsentPresenter(bridge, parent=bridge)
        req = broker.open(
            **COMMON,
            server="group:work",
            resource="http://127.0.0.1:8765/groups/work/mcp",
            groups=MEMBERS,
        )
        await until(lambda: req.id in presenter.dialogs)
        dialog = presenter.dialogs[req.id]
        assert dialog.server_label.text() == "group work (servers: github, notes)"
        texts = [label.text() for label in dialog.findChildren(QLabel)]
        assert any("wants to use <b>group work (servers: github, notes)</b>" in t for t in texts)
        waiting = asyncio.ensure_future(broker.wait(req.id))
        dialog.approve_button.click()
        assert await waiting == (Decision.APPROVED, False)


async def test_checklist_offers_groups_with_their_servers(paths: AppPaths) -> None:
    async with running(paths, with_broker=True) as (engine, bridge):
        broker = consent_broker(engine)
        presenter = ConsentPresenter(bridge, parent=bridge)
        req = broker.open(
            **COMMON, server="", resource="", choices=("github", "group:work"), groups=MEMBERS
        )
        await until(lambda: req.id in presenter.dialogs)
        dialog = presenter.dialogs[req.id]
        boxes = dialog.server_boxes
        assert list(boxes) == ["github", "group:work"]
        assert boxes["group:work"].text() == "group work (servers: github, notes)"
        assert boxes["group:work"].accessibleName() == "Allow group work (servers: github, notes)"
        waiting = asyncio.ensure_future(broker.wait(req.id))
        boxes["group:work"].setChecked(True)
        dialog.approve_button.click()
        assert await waiting == (Decision.APPROVED, False)
        assert broker.chosen(req.id) == ("group:work",)


def test_notification_names_the_group() -> None:
    request = ConsentRequest(
        id="r1",
        server="group:work",
        resource="http://127.0.0.1:8765/groups/work/mcp",
        created_at=0.0,
        groups=MEMBERS,
        **COMMON,
    )
    note = consent_notification(request)
    assert note.body == (
        "Cursor wants to use group work (servers: github, notes). "
        "Approve or deny it in Switchboard."
    )
