"""Architecture checks: Qt stays in ui/ (and application.py); layers point downward."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "app" / "switchboard"
QT_MODULES = ("PySide6", "qasync", "shiboken6")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _qt_offenders() -> list[str]:
    bad = []
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG).as_posix()
        if rel.startswith("ui/") or rel == "application.py":
            continue
        if any(m.split(".")[0] in QT_MODULES for m in _imports(path)):
            bad.append(rel)
    return bad


def test_qt_is_imported_only_in_ui_and_application() -> None:
    assert _qt_offenders() == []


def test_check_catches_a_qt_import(tmp_path: Path, monkeypatch: object) -> None:
    # The check must be able to fail: a Qt import in a non-UI module is found.
    probe = PKG / "core" / "_layering_probe.py"
    probe.write_text("from PySide6 import QtCore\n")
    try:
        assert _qt_offenders() == ["core/_layering_probe.py"]
    finally:
        probe.unlink()


def test_core_depends_on_nothing_above_it() -> None:
    upper = (
        "switchboard.engine",
        "switchboard.gateway",
        "switchboard.auth",
        "switchboard.ui",
        "switchboard.supervisor",
        "switchboard.store",
        "switchboard.cli",
    )
    for path in (PKG / "core").rglob("*.py"):
        for mod in _imports(path):
            assert not mod.startswith(upper), f"{path.name} imports {mod}"
