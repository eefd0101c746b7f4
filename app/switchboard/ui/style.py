"""Application look: Fusion with the system palette (light or dark), calm spacing.

Colours come from the palette so the same sheet works in both themes; only status
colours (error, warning) are fixed.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
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


def apply_style(app: QApplication) -> None:
    """Fusion (consistent across desktops, follows the palette) plus our sheet."""
    app.setStyle("Fusion")
    app.setStyleSheet(STYLE_SHEET)
    app.setAttribute(Qt.ApplicationAttribute.AA_DontShowIconsInMenus, False)
