"""Guards against Qt-binding reference-count bugs that crash the app on Python 3.11.

PySide6 6.12.0's ``SignalInstance.emit`` returns ``True`` without taking a reference,
and ``QModelIndex.data()`` returning None does the same with ``None``: every emit
drops one reference to ``True`` until the interpreter aborts ("bool_dealloc:
deallocating True"). pyproject.toml excludes that version; this test fails on any
binding that brings the bug back.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QPersistentModelIndex, Signal


class _Probe(QObject):
    fired = Signal(bool)


class _Model(QAbstractListModel):
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 1

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> object:
        return None


def test_emit_keeps_the_reference_count_of_true(qapp: object) -> None:
    probe = _Probe()
    got: list[bool] = []
    probe.fired.connect(got.append)
    before = sys.getrefcount(True)
    for _ in range(200):
        probe.fired.emit(True)
    got.clear()
    assert sys.getrefcount(True) - before > -100


def test_index_data_keeps_the_reference_count_of_none(qapp: object) -> None:
    model = _Model()
    before = sys.getrefcount(None)
    for _ in range(200):
        model.index(0, 0).data()
    assert sys.getrefcount(None) - before > -100
