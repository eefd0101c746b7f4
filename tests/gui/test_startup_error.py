"""The start-up error box: says why, and offers the last good config when the file is damaged
(issue 12.3: an empty config.toml is damage, the backup is offered, nothing is lost)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton
from pytestqt.qtbot import QtBot

from switchboard.application import _startup_error
from switchboard.core.errors import ConfigError
from switchboard.core.spec import ServerSpec
from switchboard.store.config import Config, ConfigStore


def _box() -> QMessageBox | None:
    for w in QApplication.topLevelWidgets():
        if isinstance(w, QMessageBox) and w.objectName() == "startup-error" and w.isVisible():
            return w
    return None


def _damaged_store(tmp_path: Path) -> ConfigStore:
    store = ConfigStore(tmp_path / "config.toml")
    store.save(Config(servers=(ServerSpec(name="a", command="x"),)))
    store.save(
        Config(servers=(ServerSpec(name="a", command="x"), ServerSpec(name="b", command="y")))
    )
    store.path.write_bytes(b"")
    return store


async def _press(qtbot: QtBot, text: str) -> None:
    for _ in range(200):
        box = _box()
        if box is not None:
            break
        await asyncio.sleep(0.01)
    assert box is not None, "the start-up error box did not open"
    qtbot.addWidget(box)
    buttons = [b for b in box.findChildren(QPushButton) if b.text().replace("&", "") == text]
    assert buttons, [b.text() for b in box.findChildren(QPushButton)]
    buttons[0].click()


async def test_damaged_config_offers_the_backup_and_restores_it(
    tmp_path: Path, qtbot: QtBot
) -> None:
    store = _damaged_store(tmp_path)
    try:
        store.load()
    except ConfigError as exc:
        error = exc
    task = asyncio.ensure_future(_startup_error(error, store))
    await _press(qtbot, "Restore last good version")
    assert await task is True
    assert [s.name for s in store.load().servers] == ["a"]
    assert store.damaged_path.read_bytes() == b""


async def test_close_keeps_the_damaged_file(tmp_path: Path, qtbot: QtBot) -> None:
    store = _damaged_store(tmp_path)
    task = asyncio.ensure_future(_startup_error(ConfigError("damaged", hint="x"), store))
    await _press(qtbot, "Close")
    assert await task is False
    assert store.path.read_bytes() == b""
