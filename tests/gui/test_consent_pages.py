"""11.11 on the Clients page: two grants of the same app are told apart (client id,
redirect, server/endpoint, granted, last used, remembered), from a real engine whose
grants come from real OAuth flows; pending requests show "approved before" and where
they return to. The tray lists pending requests until they are decided."""

from __future__ import annotations

import datetime

import httpx
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from switchboard.core.paths import AppPaths
from switchboard.core.spec import ServerSpec
from switchboard.ui.pages import GRANT_COLUMNS, ClientsPage
from switchboard.ui.tray import TrayController
from tests.conftest import fixture_cmd
from tests.gui.conftest import consent_broker, running, until
from tests.unit.auth.tokens import code_flow


def _when(ts: float | None) -> str:
    return datetime.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M") if ts else "—"


async def _register(http: httpx.AsyncClient, base: str, redirect: str) -> dict[str, str]:
    r = await http.post(
        f"{base}/oauth/register",
        json={"client_name": "Visual Studio Code", "redirect_uris": [redirect]},
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def test_two_grants_of_one_app_are_told_apart(paths: AppPaths, qtbot: QtBot) -> None:
    async with running(paths) as (engine, bridge):
        cmd, args = fixture_cmd("echo_server.py")
        await engine.add_server(ServerSpec(name="echo", command=cmd, args=args))
        mcp, sse = engine.server_url("echo"), engine.server_url("echo")[:-4] + "/sse"
        async with httpx.AsyncClient(trust_env=False) as http:
            one = await _register(http, engine.base_url, "http://127.0.0.1:33418/")
            two = await _register(http, engine.base_url, "http://127.0.0.1:40999/cb")
            await code_flow(
                engine, http, mcp, client=one, redirect_uri="http://127.0.0.1:33418/",
                remember=True,
            )  # fmt: skip
            await code_flow(engine, http, sse, client=two, redirect_uri="http://127.0.0.1:40999/cb")
            # The remembered client signs in again: asked, marked as approved before.
            await http.get(
                f"{engine.base_url}/oauth/authorize",
                params={
                    "response_type": "code",
                    "client_id": one["client_id"],
                    "redirect_uri": "http://127.0.0.1:33418/",
                    "code_challenge": "x" * 43,
                    "code_challenge_method": "S256",
                    "resource": mcp,
                },
            )
        stored = {g.client_id: g for g in engine.auth.store.list_grants()}
        page = ClientsPage(bridge)
        qtbot.addWidget(page)
        task = page.refresh()
        assert task is not None
        await task

        model = page.grants_table.model()
        headers = [
            str(model.headerData(c, Qt.Orientation.Horizontal)) for c in range(model.columnCount())
        ]
        assert tuple(headers) == GRANT_COLUMNS
        rows = [
            [str(model.data(model.index(r, c))) for c in range(model.columnCount())]
            for r in range(model.rowCount())
        ]
        g1, g2 = stored[one["client_id"]], stored[two["client_id"]]
        assert g1.last_used_at is not None and g2.last_used_at is not None
        assert sorted(rows) == sorted(
            [
                [
                    "Visual Studio Code",
                    one["client_id"],
                    "127.0.0.1:33418",
                    "echo",
                    _when(g1.created_at),
                    _when(g1.last_used_at),
                    "Yes",
                ],
                [
                    "Visual Studio Code",
                    two["client_id"],
                    "127.0.0.1:40999",
                    "echo (sse)",
                    _when(g2.created_at),
                    _when(g2.last_used_at),
                    "—",
                ],
            ]
        )
        tip = str(model.data(model.index(0, 0), Qt.ItemDataRole.ToolTipRole))
        assert "Client ID: " in tip and "Returns to: http://127.0.0.1:" in tip

        pending = page.pending_table.model()
        assert [str(pending.data(pending.index(0, c))) for c in range(3)] == [
            "Visual Studio Code (approved before)",
            "echo",
            "127.0.0.1:33418",
        ]
        consent_broker(engine).expire(engine.consent.pending()[0].id)
        await until(lambda: page.pending_table.rowCount() == 0, what="the row to go")


async def test_the_tray_lists_pending_requests(paths: AppPaths, qtbot: QtBot) -> None:
    async with running(paths, with_broker=True) as (engine, bridge):
        reviewed: list[str] = []
        tray = TrayController(
            bridge,
            open_window=lambda: None,
            on_quit=lambda: None,
            review=lambda r: reviewed.append(r.id),
            parent=bridge,
        )
        broker = consent_broker(engine)
        req = broker.open(
            client_id="c",
            client_name="Tom & Jerry",
            redirect_uri="http://127.0.0.1:1/cb",
            redirect_host="127.0.0.1:1",
            server="echo",
            resource="r",
            scopes=("mcp",),
            previously_approved=True,
        )
        await until(lambda: req.id in tray.consent_actions, what="the menu entry")
        action = tray.consent_actions[req.id]
        assert action.text() == "Review Tom && Jerry → echo (approved before)…"
        assert "1 request waiting for approval" in tray.icon.toolTip()
        action.trigger()
        assert reviewed == [req.id]
        broker.decide(req.id, approve=False)
        await until(lambda: tray.consent_actions == {}, what="the entry to go")
        assert "waiting" not in tray.icon.toolTip()
        tray.close()
