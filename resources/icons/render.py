"""Render the PNG sizes from the SVG sources (run after editing an SVG).

    .venv/bin/python resources/icons/render.py

Writes ``hicolor/<N>x<N>/apps/switchboard.png`` (the app icon, for the desktop entry
and the hicolor theme) and ``png/<name>-<N>.png`` for the tray icons (1x and 2x).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

HERE = Path(__file__).resolve().parent
APP_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
TRAY_SIZES = (22, 44)


def render(svg: Path, size: int, out: Path) -> None:
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"invalid SVG: {svg}")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    out.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(out)):
        raise SystemExit(f"could not write {out}")


def main() -> int:
    app = QGuiApplication(sys.argv[:1])
    for size in APP_SIZES:
        render(HERE / "switchboard.svg", size, HERE / f"hicolor/{size}x{size}/apps/switchboard.png")
    for svg in sorted((HERE / "src").glob("tray-*.svg")):
        for size in TRAY_SIZES:
            render(svg, size, HERE / f"png/{svg.stem}-{size}.png")
    del app
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
