"""The consent dialog decides a real ConsentBroker request."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from switchboard.auth.consent import ConsentBroker, ConsentRequest, Decision
from switchboard.core.paths import AppPaths
from switchboard.ui.consent import ConsentDialog, ConsentPresenter
from tests.gui.conftest import consent_broker, running, until


def _open(
    broker: ConsentBroker,
    host: str = "127.0.0.1",
    *,
    redirect_uri: str | None = None,
    previously_approved: bool = False,
    client_name: str = "Cursor",
    client_id: str = "client-123",
) -> ConsentRequest:
    return broker.open(
        client_id=client_id,
        client_name=client_name,
        redirect_uri=redirect_uri or f"http://{host}:5555/cb",
        redirect_host=host,
        server="github",
        resource="http://127.0.0.1:8765/servers/github/mcp",
        scopes=("mcp", "offline_access"),
        previously_approved=previously_approved,
    )


async def test_the_dialog_shows_the_request_and_approves_with_remember(
    paths: AppPaths, qtbot: QtBot
) -> None:
    async with running(paths, with_broker=True) as (engine, bridge):
        broker = consent_broker(engine)
        presenter = ConsentPresenter(bridge, parent=bridge)
        shown: list[ConsentDialog] = []
        presenter.shown.connect(shown.append)
        req = _open(broker)
        waiting = asyncio.ensure_future(broker.wait(req.id))
        await asyncio.sleep(0)  # the authorize endpoint waits right after open()
        await until(lambda: shown)
        dialog = shown[0]
        assert dialog.isVisible()
        assert dialog.client_label.text() == "Cursor"
        assert dialog.redirect_label.text() == "http://127.0.0.1:5555/cb"  # exact, not the host
        assert dialog.where_label.text() == "A program on this computer (port 5555)"
        assert dialog.remote_warning is None and dialog.previously_note is None
        assert not dialog.remember.isChecked()
        assert dialog.server_label.text() == "github"
        assert "Stay connected" in dialog.scopes_label.text()
        assert dialog.deny_button.isDefault() and not dialog.approve_button.isDefault()
        dialog.remember.setChecked(True)
        qtbot.mouseClick(dialog.approve_button, Qt.MouseButton.LeftButton)
        assert await waiting == (Decision.APPROVED, True)
        assert broker.pending() == []


async def test_escape_denies(paths: AppPaths, qtbot: QtBot) -> None:
    async with running(paths, with_broker=True) as (engine, bridge):
        broker = consent_broker(engine)
        presenter = ConsentPresenter(bridge, parent=bridge)
        req = _open(broker, host="evil.example")
        waiting = asyncio.ensure_future(broker.wait(req.id))
        await asyncio.sleep(0)  # the authorize endpoint waits right after open()
        await until(lambda: presenter.dialogs)
        dialog = presenter.dialogs[req.id]
        assert dialog.remote_warning is not None
        assert "not this computer" in dialog.remote_warning.text()
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)
        assert await waiting == (Decision.DENIED, False)
        assert presenter.dialogs == {}


async def test_requests_pending_before_the_ui_existed_are_shown(paths: AppPaths) -> None:
    async with running(paths, with_broker=True) as (engine, bridge):
        req = _open(consent_broker(engine))
        presenter = ConsentPresenter(bridge, parent=bridge)
        await until(lambda: req.id in presenter.dialogs)
        presenter.dialogs[req.id].reject()


def test_loopback_hosts() -> None:
    from switchboard.ui.consent import is_loopback

    for host in ("127.0.0.1", "127.0.0.1:5555", "localhost:80", "[::1]:8080", "::1"):
        assert is_loopback(host), host
    for host in ("evil.example", "10.0.0.5:80", "localhost.evil.example", "[bad"):
        assert not is_loopback(host), host


async def test_a_private_use_scheme_says_which_app_it_opens(paths: AppPaths) -> None:
    async with running(paths, with_broker=True) as (engine, bridge):
        presenter = ConsentPresenter(bridge, parent=bridge)
        uri = "cursor://anysphere.cursor-retrieval/oauth/callback?x=1"
        req = _open(consent_broker(engine), "anysphere.cursor-retrieval", redirect_uri=uri)
        await until(lambda: req.id in presenter.dialogs)
        dialog = presenter.dialogs[req.id]
        assert dialog.redirect_label.text() == uri
        assert dialog.where_label.text() == "Opens the app registered for cursor://"
        assert dialog.remote_warning is not None and dialog.remote_warning.isVisible()
        assert dialog.remote_warning.objectName() == "errorBox"  # prominent
        assert "opens the app registered for cursor://" in dialog.remote_warning.text()
        dialog.reject()


async def test_a_remote_https_redirect_is_shown_whole_with_a_warning(paths: AppPaths) -> None:
    async with running(paths, with_broker=True) as (engine, bridge):
        presenter = ConsentPresenter(bridge, parent=bridge)
        uri = "https://evil.example:8443/cb?next=/x"
        req = _open(consent_broker(engine), "evil.example:8443", redirect_uri=uri)
        await until(lambda: req.id in presenter.dialogs)
        dialog = presenter.dialogs[req.id]
        assert dialog.redirect_label.text() == uri
        assert dialog.where_label.text() == "evil.example:8443 — not this computer"
        assert dialog.remote_warning is not None
        assert dialog.remote_warning.text().startswith(
            "The answer goes to evil.example:8443, which is not this computer."
        )
        dialog.reject()


async def test_a_previously_approved_client_is_one_click_and_still_asks(
    paths: AppPaths, qtbot: QtBot
) -> None:
    async with running(paths, with_broker=True) as (engine, bridge):
        broker = consent_broker(engine)
        presenter = ConsentPresenter(bridge, parent=bridge)
        req = _open(broker, previously_approved=True, client_name="A & <b>B</b>")
        waiting = asyncio.ensure_future(broker.wait(req.id))
        await until(lambda: req.id in presenter.dialogs)
        dialog = presenter.dialogs[req.id]
        assert dialog.previously_note is not None
        assert "approved A & <b>B</b> for github before" in dialog.previously_note.text()
        assert dialog.remember.isChecked()  # pre-filled: stays remembered
        assert dialog.remember.text().startswith("&Keep A && <b>B</b> connected")
        assert dialog.approve_button.text() == "&Approve again"
        assert dialog.deny_button.isDefault()  # Enter still never grants
        assert not waiting.done()  # nothing answered by itself
        qtbot.mouseClick(dialog.approve_button, Qt.MouseButton.LeftButton)
        assert await waiting == (Decision.APPROVED, True)


async def test_a_request_decided_elsewhere_closes_its_dialog(paths: AppPaths) -> None:
    async with running(paths, with_broker=True) as (engine, bridge):
        broker = consent_broker(engine)
        presenter = ConsentPresenter(bridge, parent=bridge)
        first, second = _open(broker), _open(broker, client_name="Other")
        await until(lambda: {first.id, second.id} <= set(presenter.dialogs))
        dialog = presenter.dialogs[first.id]
        assert broker.decide(first.id, True)  # e.g. `switchboard consent approve`
        await until(lambda: first.id not in presenter.dialogs and not dialog.isVisible())
        assert broker.expire(second.id)  # timed out, or replaced by a newer request
        await until(lambda: presenter.dialogs == {})


def test_redirect_targets() -> None:
    from switchboard.auth.consent import RedirectKind, redirect_target

    cases = {
        "http://127.0.0.1:5555/cb": (RedirectKind.LOOPBACK, "this computer (port 5555)"),
        "http://[::1]:80/cb": (RedirectKind.LOOPBACK, "this computer (port 80)"),
        "http://localhost/cb": (RedirectKind.LOOPBACK, "this computer"),
        "https://app.example/cb": (RedirectKind.REMOTE, "app.example"),
        "http://127.0.0.1.evil.example/cb": (RedirectKind.REMOTE, "127.0.0.1.evil.example"),
        "vscode://vscode.github-authentication/cb": (
            RedirectKind.APP,
            "the app registered for vscode://",
        ),
        "com.example.app:/oauth": (RedirectKind.APP, "the app registered for com.example.app://"),
    }
    for uri, (kind, where) in cases.items():
        target = redirect_target(uri)
        assert (target.kind, target.where) == (kind, where), uri
        assert bool(target.warning) is (kind is not RedirectKind.LOOPBACK), uri


async def test_a_flood_shows_a_few_dialogs_the_rest_wait_their_turn(paths: AppPaths) -> None:
    async with running(paths, with_broker=True) as (engine, bridge):
        broker = consent_broker(engine)
        presenter = ConsentPresenter(bridge, parent=bridge, max_open=2)
        reqs = [_open(broker, client_name=f"c{i}", client_id=f"c{i}") for i in range(4)]
        await until(lambda: len(presenter.dialogs) == 2)
        await asyncio.sleep(0.1)
        assert set(presenter.dialogs) == {reqs[0].id, reqs[1].id}
        presenter.dialogs[reqs[0].id].reject()  # the person answers one: the next shows
        await until(lambda: set(presenter.dialogs) == {reqs[1].id, reqs[2].id})
        presenter.present(reqs[3])  # Review on the Clients page / tray: always shown
        assert set(presenter.dialogs) == {reqs[1].id, reqs[2].id, reqs[3].id}
        for dialog in list(presenter.dialogs.values()):
            dialog.reject()
        await until(lambda: broker.pending() == [])
