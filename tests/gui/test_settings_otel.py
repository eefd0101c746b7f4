"""The Settings page's OpenTelemetry field: set, refused when not a URL (said, nothing
saved), cleared; a secret stored from the app is audited by name, never by value."""

from __future__ import annotations

import contextlib
import json

from pytestqt.qtbot import QtBot

from switchboard.core.errors import ValidationError
from switchboard.core.paths import AppPaths
from switchboard.ui.mainwindow import MainWindow
from tests.gui.conftest import running


async def test_settings_page_sets_refuses_and_clears_the_otlp_endpoint(
    paths: AppPaths, qtbot: QtBot
) -> None:
    async with running(paths) as (engine, bridge):
        win = MainWindow(bridge, paths=paths)
        qtbot.addWidget(win)
        page = win.settings
        await bridge.drain()
        assert page.otlp.text() == ""
        page.otlp.setText(" http://127.0.0.1:4318 ")
        await page.save()
        assert engine.config.settings.otlp_endpoint == "http://127.0.0.1:4318"
        failures: list[tuple[str, str]] = []
        bridge.actionFailed.connect(lambda what, text: failures.append((what, text)))
        page.otlp.setText("collector:4318")
        with contextlib.suppress(ValidationError):
            await page.save()
        await bridge.drain()
        assert failures and "not an http(s) URL" in failures[0][1]
        assert engine.config.settings.otlp_endpoint == "http://127.0.0.1:4318"
        page.otlp.setText("")
        await page.save()
        assert engine.config.settings.otlp_endpoint == ""


async def test_a_secret_stored_from_the_app_is_audited_by_name(paths: AppPaths) -> None:
    from switchboard.audit import audit_path
    from switchboard.secrets.store import SecretStore
    from tests.helpers.keyrings import MemoryKeyringBackend

    store = SecretStore.for_paths(paths, backend=MemoryKeyringBackend())
    async with running(paths, secret_store=store) as (engine, bridge):
        await bridge.set_secret("gh.token", "s3cret-value-audit")
        engine.auth.audit.flush()  # type: ignore[attr-defined]
        text = audit_path(paths).read_text("utf-8")
    assert "s3cret-value-audit" not in text
    [line] = [json.loads(x) for x in text.splitlines() if "secret_set" in x]
    assert (line["actor"], line["target"], line["outcome"]) == ("person", "gh.token", "success")
