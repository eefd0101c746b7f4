"""Icons from ``resources/icons``: the app icon, tray state icons and line icons.

Line icons are drawn with ``currentColor`` in their SVG source and recoloured to the
palette's text colour when loaded, so they follow the light or dark theme.
"""

from __future__ import annotations

import enum
import functools
import logging
import os
from collections.abc import Iterable
from pathlib import Path

from PySide6.QtCore import QByteArray, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QImage, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer

from switchboard.core.state import ServerState
from switchboard.supervisor.process import ServerStatus

log = logging.getLogger("switchboard.ui")

RESOURCES_ENV = "SWITCHBOARD_RESOURCES"


def resources_dir() -> Path:
    """Where ``icons/`` lives: ``$SWITCHBOARD_RESOURCES``, else the source checkout's
    ``resources/``, else ``switchboard/resources`` inside an installed package."""
    env = os.environ.get(RESOURCES_ENV)
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for candidate in (here.parents[3] / "resources", here.parents[1] / "resources"):
        if (candidate / "icons").is_dir():
            return candidate
    return here.parents[3] / "resources"


def icons_dir() -> Path:
    return resources_dir() / "icons"


class Overall(enum.Enum):
    """What the tray icon says about all servers together."""

    RUNNING = "running"
    """At least one server runs and none is failing."""
    FAILING = "failing"
    """Some server failed or is restarting after a crash."""
    STOPPED = "stopped"
    """Nothing runs (or nothing is configured)."""


def overall_state(states: Iterable[ServerState]) -> Overall:
    seen = set(states)
    if seen & {ServerState.FAILED, ServerState.BACKOFF}:
        return Overall.FAILING
    if seen & {ServerState.RUNNING, ServerState.STARTING}:
        return Overall.RUNNING
    return Overall.STOPPED


def summary(statuses: Iterable[ServerStatus]) -> str:
    """A short sentence for tooltips and the status bar: '2 of 3 servers running'."""
    items = list(statuses)
    if not items:
        return "No servers configured"
    running = sum(1 for s in items if s.state is ServerState.RUNNING)
    failed = sum(1 for s in items if s.state in (ServerState.FAILED, ServerState.BACKOFF))
    asleep = sum(1 for s in items if s.state is ServerState.SLEEPING)
    text = f"{running} of {len(items)} server{'s' if len(items) != 1 else ''} running"
    signin = sum(1 for s in items if s.state is ServerState.NEEDS_SIGN_IN)
    if asleep:
        text += f", {asleep} asleep"
    if signin:
        text += f", {signin} need{'s' if signin == 1 else ''} sign-in"
    if failed:
        text += f", {failed} failing"
    return text


def is_dark(palette: QPalette | None = None) -> bool:
    """True when the current theme is dark (by the window colour's lightness)."""
    if palette is None:
        app = QGuiApplication.instance()
        if not isinstance(app, QGuiApplication):
            return False
        hints = QGuiApplication.styleHints()
        scheme = hints.colorScheme()
        if scheme is Qt.ColorScheme.Dark:
            return True
        if scheme is Qt.ColorScheme.Light:
            return False
        palette = QGuiApplication.palette()
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def _render(svg: bytes, size: QSize, ratio: float) -> QPixmap:
    renderer = QSvgRenderer(QByteArray(svg))
    image = QImage(size * ratio, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter, QRectF(0, 0, image.width(), image.height()))
    painter.end()
    pixmap = QPixmap.fromImage(image)
    pixmap.setDevicePixelRatio(ratio)
    return pixmap


@functools.cache
def _read(name: str) -> bytes:
    path = icons_dir() / "src" / f"{name}.svg"
    try:
        return path.read_bytes()
    except OSError:
        log.warning("icon %s is missing (%s)", name, path)
        return b""


def svg_icon(
    name: str, color: QColor | None = None, sizes: tuple[int, ...] = (16, 20, 24)
) -> QIcon:
    """An icon from ``resources/icons/src/<name>.svg`` rendered crisp at 1x and 2x."""
    data = _read(name)
    if not data:
        return QIcon()
    if color is not None:
        data = data.replace(b"currentColor", color.name().encode())
    icon = QIcon()
    for px in sizes:
        for ratio in (1.0, 2.0):
            icon.addPixmap(_render(data, QSize(px, px), ratio))
    return icon


def action_icon(name: str, palette: QPalette | None = None) -> QIcon:
    """A line icon in the palette's text colour (and a dimmer one for disabled)."""
    pal = palette or QGuiApplication.palette()
    data = _read(name)
    if not data:
        return QIcon()
    icon = QIcon()
    for mode, role_group in (
        (QIcon.Mode.Normal, QPalette.ColorGroup.Active),
        (QIcon.Mode.Disabled, QPalette.ColorGroup.Disabled),
    ):
        color = pal.color(role_group, QPalette.ColorRole.ButtonText)
        colored = data.replace(b"currentColor", color.name().encode())
        for px in (16, 20):
            for ratio in (1.0, 2.0):
                icon.addPixmap(_render(colored, QSize(px, px), ratio), mode)
    return icon


@functools.cache
def state_icon(state: ServerState) -> QIcon:
    return svg_icon(f"state-{state.value}", sizes=(16,))


def tray_icon(overall: Overall, dark: bool) -> QIcon:
    """The tray icon for the overall state; ``dark`` means a dark panel (light glyph)."""
    return svg_icon(f"tray-{overall.value}-{'dark' if dark else 'light'}", sizes=(16, 22, 24, 32))


@functools.cache
def app_icon() -> QIcon:
    icon = QIcon()
    root = icons_dir()
    for png in sorted((root / "hicolor").glob("*/apps/switchboard.png")):
        icon.addFile(str(png))
    if icon.isNull() and (root / "switchboard.svg").exists():
        icon = QIcon(str(root / "switchboard.svg"))
    return icon
