"""The servers table's activity cell: last-hour figures as text and a sparkline of calls
per minute (the figures come from the recorder's memory, never from a query)."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPointF, Qt
from PySide6.QtGui import QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from switchboard.activity import Figures

SPARK_ROLE = Qt.ItemDataRole.UserRole + 40
"""The calls per minute of the last hour (oldest first), for :class:`SparklineDelegate`."""
SPARK_WIDTH = 60


def figures_text(f: Figures | None) -> str:
    """'120 calls · 2% errors · p50 4.1 ms' (last hour), or '—'."""
    if f is None or not f.calls:
        return "—"
    rate = f.error_rate * 100
    errors = f"{rate:.0f}%" if rate >= 1 or rate == 0 else "<1%"
    p50 = f" · p50 {f.p50_ms:.1f} ms" if f.p50_ms is not None else ""
    return f"{f.calls} · {errors} err{p50}"


def figures_tooltip(f: Figures | None) -> str:
    if f is None or not f.calls:
        return "No requests in the last hour."
    p50 = f"{f.p50_ms:.1f} ms" if f.p50_ms is not None else "—"
    return (
        f"Last hour: {f.calls} request(s), {f.errors} failed or timed out "
        f"({f.error_rate:.1%}), median latency {p50}.\nThe line shows requests per minute."
    )


class SparklineDelegate(QStyledItemDelegate):
    """Draws the text at the left and the calls-per-minute line at the right."""

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        opt = QStyleOptionViewItem(option)
        opt.rect = option.rect.adjusted(0, 0, -SPARK_WIDTH - 8, 0)
        super().paint(painter, opt, index)
        points = index.data(SPARK_ROLE)
        if not points or not any(points):
            return
        rect = option.rect.adjusted(option.rect.width() - SPARK_WIDTH - 6, 7, -6, -7)
        top = max(points)
        step = rect.width() / max(len(points) - 1, 1)
        path = QPainterPath()
        for i, n in enumerate(points):
            point = QPointF(rect.left() + i * step, rect.bottom() - rect.height() * n / top)
            if i == 0:
                path.moveTo(point)
            else:
                path.lineTo(point)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        role = (
            option.palette.ColorRole.HighlightedText if selected else option.palette.ColorRole.Link
        )
        painter.setPen(QPen(option.palette.color(role), 1.4))
        painter.drawPath(path)
        painter.restore()
