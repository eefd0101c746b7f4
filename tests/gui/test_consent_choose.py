"""The consent dialog's server checklist: a request that named no server (no RFC 8707
``resource``, or only the gateway's origin) lets the person pick the servers."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import QPoint, Qt
from pytestqt.qtbot import QtBot

from switchboard.auth.consent import ConsentBroker, ConsentRequest, Decision
from switchboard.core.paths import AppPaths
from switchboard.ui.consent import ConsentPresenter
from tests.gui.conftest import consent_broker, running, until

CHOICES = ("github", "notes", "files")


def _open_choose(broker: ConsentBroker) -> ConsentRequest:
    return broker.open(
        client_id="goose-1",
        client_name="goose",
        redirect_uri="http://127.0.0.1:51234/oauth_callback",
        redirect_host="127.0.0.1:51234",
        server="",
        resource="",
        scopes=("mcp",),
        choices=CHOICES,
    )


async def test_the_person_picks_servers_and_approve_waits_for_a_pick(
    paths: AppPaths, qtbot: QtBot
) -> None:
    async with running(paths, with_broker=True) as (engine, bridge):
        broker = consent_broker(engine)
        presenter = ConsentPresenter(bridge, parent=bridge)
        req = _open_choose(broker)
        assert req.choose
        waiting = asyncio.ensure_future(broker.wait(req.id))
        await until(lambda: req.id in presenter.dialogs)
        dialog = presenter.dialogs[req.id]
        assert dialog.choose_box is not None and dialog.choose_box.isVisible()
        assert list(dialog.server_boxes) == list(CHOICES)
        assert not any(box.isChecked() for box in dialog.server_boxes.values())
        assert not dialog.approve_button.isEnabled()
        assert dialog.deny_button.isDefault()
        # A click on the disabled button decides nothing.
        qtbot.mouseClick(dialog.approve_button, Qt.MouseButton.LeftButton)
        await asyncio.sleep(0.05)
        assert not waiting.done() and dialog.isVisible()
        dialog.server_boxes["notes"].setChecked(True)
        assert dialog.approve_button.isEnabled()
        dialog.server_boxes["notes"].setChecked(False)
        assert not dialog.approve_button.isEnabled()
        files = dialog.server_boxes["files"]  # a click on its box, as a person does
        qtbot.mouseClick(files, Qt.MouseButton.LeftButton, pos=QPoint(8, files.height() // 2))
        dialog.server_boxes["notes"].setChecked(True)
        assert dialog.chosen() == ("notes", "files")
        qtbot.mouseClick(dialog.approve_button, Qt.MouseButton.LeftButton)
        assert await waiting == (Decision.APPROVED, False)
        assert broker.chosen(req.id) == ("notes", "files")
        assert broker.pending() == []


async def test_escape_denies_a_choose_request_without_a_pick(paths: AppPaths, qtbot: QtBot) -> None:
    async with running(paths, with_broker=True) as (engine, bridge):
        broker = consent_broker(engine)
        presenter = ConsentPresenter(bridge, parent=bridge)
        req = _open_choose(broker)
        waiting = asyncio.ensure_future(broker.wait(req.id))
        await until(lambda: req.id in presenter.dialogs)
        dialog = presenter.dialogs[req.id]
        dialog.server_boxes["github"].setChecked(True)
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)
        assert await waiting == (Decision.DENIED, False)
        assert broker.chosen(req.id) == ()
        assert presenter.dialogs == {}


async def test_a_request_for_one_server_has_no_checklist(paths: AppPaths) -> None:
    async with running(paths, with_broker=True) as (engine, bridge):
        broker = consent_broker(engine)
        presenter = ConsentPresenter(bridge, parent=bridge)
        req = broker.open(
            client_id="c",
            client_name="Cursor",
            redirect_uri="http://127.0.0.1:5555/cb",
            redirect_host="127.0.0.1:5555",
            server="github",
            resource="http://127.0.0.1:8765/servers/github/mcp",
            scopes=("mcp",),
        )
        await until(lambda: req.id in presenter.dialogs)
        dialog = presenter.dialogs[req.id]
        assert dialog.choose_box is None and dialog.server_boxes == {}
        assert dialog.approve_button.isEnabled()
        dialog.reject()


def test_notification_of_a_choose_request_says_to_pick() -> None:
    from switchboard.ui.notify import consent_notification

    request = ConsentRequest(
        id="r1",
        client_id="goose-1",
        client_name="goose",
        redirect_uri="http://127.0.0.1:51234/oauth_callback",
        redirect_host="127.0.0.1:51234",
        server="",
        resource="",
        scopes=("mcp",),
        created_at=0.0,
        choices=CHOICES,
    )
    note = consent_notification(request)
    assert note.body == (
        "goose wants to use servers but did not say which. Choose them in Switchboard."
    )
    assert not note.can_approve  # picking needs the dialog, never a one-click approve
