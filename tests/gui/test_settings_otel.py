"""The Settings page's OpenTelemetry field: set, refused when not a URL (said, nothing
saved), cleared."""

from __future__ import annotations

import contextlib

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
