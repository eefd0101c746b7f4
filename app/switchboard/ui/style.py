"""Application look: Fusion with the system palette (light or dark), calm spacing.

Colours come from the palette so the same sheet works in both themes; only status
colours (error, warning) are fixed.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

STYLE_SHEET = """
QTabWidget#pages::pane { border: none; }
QTabBar::tab { padding: 7px 16px; }
QTableView, QListView#log { border: 1px solid palette(mid); border-radius: 6px; }
QTableView::item { padding: 2px 8px; }
QHeaderView::section {
    padding: 5px 8px; border: none; border-bottom: 1px solid palette(mid);
    background: palette(window); font-weight: 600;
}
QListView#log { padding: 4px; }
QLabel#detailTitle { font-size: 16px; font-weight: 600; }
QLabel#dialogTitle { font-size: 15px; }
QLabel#secondary { color: palette(placeholder-text); }
QLabel#error { color: #CF222E; }
QLabel#error[quiet="true"] { color: palette(placeholder-text); }
QLabel#warning { color: #9A6700; }
QLabel#errorBox {
    background: rgba(207, 34, 46, 0.08); border: 1px solid rgba(207, 34, 46, 0.35);
    border-radius: 6px; padding: 8px 10px;
}
QLabel#noteBox {
    background: rgba(47, 111, 179, 0.10); border: 1px solid rgba(47, 111, 179, 0.35);
    border-radius: 6px; padding: 8px 10px;
}
QLabel#notice {
    background: rgba(191, 135, 0, 0.12); border-bottom: 1px solid rgba(191, 135, 0, 0.35);
    padding: 9px 16px;
}
QFrame#bannerFrame {
    background: rgba(207, 34, 46, 0.08); border-bottom: 1px solid rgba(207, 34, 46, 0.35);
}
QPushButton { padding: 5px 14px; }
QDialogButtonBox { dialogbuttonbox-buttons-have-icons: 0; }
QMenu::item { padding: 5px 24px 5px 8px; }
QPushButton#primary { font-weight: 600; }
QGroupBox { font-weight: 600; margin-top: 14px; padding-top: 8px; }
QGroupBox::title { subcontrol-origin: margin; left: 4px; padding: 0 4px; }
QLineEdit, QComboBox, QSpinBox, QDoubleSpinBox { padding: 3px 6px; }
"""


def dark_palette() -> QPalette:
    """Fusion's colours for a dark theme (used when the platform theme has none)."""
    pal = QPalette()
    window, base, text = QColor("#26292E"), QColor("#1D1F23"), QColor("#E6E8EB")
    dim = QColor("#8B929A")
    for role, color in (
        (QPalette.ColorRole.Window, window),
        (QPalette.ColorRole.WindowText, text),
        (QPalette.ColorRole.Base, base),
        (QPalette.ColorRole.AlternateBase, QColor("#24272B")),
        (QPalette.ColorRole.Text, text),
        (QPalette.ColorRole.Button, QColor("#30343A")),
        (QPalette.ColorRole.ButtonText, text),
        (QPalette.ColorRole.ToolTipBase, QColor("#30343A")),
        (QPalette.ColorRole.ToolTipText, text),
        (QPalette.ColorRole.PlaceholderText, dim),
        (QPalette.ColorRole.Highlight, QColor("#2F6FB3")),
        (QPalette.ColorRole.HighlightedText, QColor("#FFFFFF")),
        (QPalette.ColorRole.Link, QColor("#6CB4FF")),
        (QPalette.ColorRole.Mid, QColor("#3A3F46")),
        (QPalette.ColorRole.Light, QColor("#3A3F46")),
        (QPalette.ColorRole.Midlight, QColor("#33373D")),
        (QPalette.ColorRole.Dark, QColor("#181A1D")),
        (QPalette.ColorRole.Shadow, QColor("#000000")),
    ):
        pal.setColor(role, color)
    for role in (
        QPalette.ColorRole.Text,
        QPalette.ColorRole.WindowText,
        QPalette.ColorRole.ButtonText,
    ):
        pal.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6B7178"))
    return pal


def apply_color_scheme(scheme: Qt.ColorScheme) -> None:
    """Ask the platform for ``scheme`` (Unknown = follow the system); where the platform
    theme cannot do dark (plain X11, offscreen), set Fusion's dark palette ourselves."""
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        return
    hints = QGuiApplication.styleHints()
    hints.setColorScheme(scheme)
    want_dark = scheme is Qt.ColorScheme.Dark or (
        scheme is Qt.ColorScheme.Unknown and hints.colorScheme() is Qt.ColorScheme.Dark
    )
    style = app.style()
    palette = style.standardPalette()
    if want_dark and palette.color(QPalette.ColorRole.Window).lightness() >= 128:
        palette = dark_palette()
    app.setPalette(palette)


def apply_style(app: QApplication) -> None:
    """Fusion (consistent across desktops, follows the palette) plus our sheet."""
    app.setStyle("Fusion")
    app.setStyleSheet(STYLE_SHEET)
    app.setAttribute(Qt.ApplicationAttribute.AA_DontShowIconsInMenus, False)
