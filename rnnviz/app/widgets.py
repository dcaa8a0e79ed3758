"""Small widgets the views share (not views themselves, so views may import them)."""

from __future__ import annotations

import html
import re
from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import (
    QComboBox,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QStyle,
    QStyleOption,
    QWidget,
)

from rnnviz.analysis.scales import NONFINITE_COLOURS

_TAGS = re.compile(r"<[^>]+>")


def plain_text(text: str) -> str:
    """`text` without HTML tags and entities (what a rich-text label shows)."""
    return html.unescape(_TAGS.sub("", text.replace("<br>", "\n")))


class ElidedLabel(QLabel):
    """A one-line label that never sets its parent's width: when its text does not fit it is
    cut with "…" and the whole text becomes the tooltip, so no text is ever lost.

    `full_text()` is the whole text; `is_elided()` says whether it is cut now.
    """

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self._tip = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 - QLabel's name
        """Set the whole text; it is drawn elided when it does not fit."""
        self._full = text
        self._update()

    def set_tip(self, tip: str) -> None:
        """An explanation shown as the tooltip (after the whole text when it is cut)."""
        self._tip = tip
        self._update()

    def full_text(self) -> str:
        """The whole text, as set."""
        return self._full

    def is_elided(self) -> bool:
        """True when the text does not fit the label's width now."""
        return self.fontMetrics().horizontalAdvance(self._full) > self.contentsRect().width()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        fm = self.fontMetrics()
        # Plus what lies outside the contents: a style sheet's padding (the status badges'),
        # else the whole text would not fit the width it asks for and would always elide.
        pad_w = self.width() - self.contentsRect().width()
        pad_h = self.height() - self.contentsRect().height()
        return QSize(fm.horizontalAdvance(self._full) + 4 + pad_w, fm.height() + 4 + pad_h)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(20, self.fontMetrics().height() + 4)

    def _update(self) -> None:
        elided = self.is_elided()
        tip = self._full if elided else ""
        if self._tip:
            tip = f"{tip}\n\n{self._tip}" if tip else self._tip
        self.setToolTip(tip)
        super().setText(self._full)
        self.update()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self._update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt API
        painter = QPainter(self)
        # A style sheet's background and border (the status badges' colours), which
        # QLabel's own paintEvent would have drawn.
        option = QStyleOption()
        option.initFrom(self)
        self.style().drawPrimitive(QStyle.PrimitiveElement.PE_Widget, option, painter, self)
        rect = self.contentsRect()
        text = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, rect.width())
        painter.setPen(self.palette().color(self.foregroundRole()))
        font = self.font()
        painter.setFont(font)
        painter.drawText(rect, int(self.alignment() | Qt.AlignmentFlag.AlignVCenter), text)
        painter.end()


class WrappedLabel(QLabel):
    """A word-wrapped label that keeps the height its lines need at its width.

    A QSplitter pane ignores height-for-width, so a wrapped label in one got its one-line
    minimum and lost its last lines (the Training tab's flow ended at "LSTM →" at
    1280×720); this label asks for every line as its minimum height."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)

    def setText(self, text: str) -> None:  # noqa: N802 - QLabel's name
        """Set the text and the height its lines need."""
        super().setText(text)
        self._fit()

    def _fit(self) -> None:
        need = self.heightForWidth(self.width()) if self.width() > 0 else -1
        if need > 0 and need != self.minimumHeight():
            self.setMinimumHeight(need)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self._fit()


class FittedButton(QPushButton):
    """A push button that takes its layout's width and never clips its text: it shows its
    whole text when that fits, else a short form given with it (the whole text then leads
    its tooltip). A clipped "w as RNNCell(10, 32, nonlinearity='re" lost its first and last
    words at a laptop's dock width."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = self._short = self._tip = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

    def set_texts(self, full: str, short: str, tip: str = "") -> None:
        """The whole text, its short form, and an explanation for the tooltip."""
        self._full, self._short, self._tip = full, short, tip
        self._fit()

    def full_text(self) -> str:
        """The whole text, as set."""
        return self._full

    def _fit(self) -> None:
        # The text's room: the button's width less the style's margins around its label.
        margin = self.style().pixelMetric(QStyle.PixelMetric.PM_ButtonMargin, None, self)
        room = self.width() - 2 * margin - 8
        fits = self.fontMetrics().horizontalAdvance(self._full) <= room
        self.setText(self._full if fits else self._short)
        tip = self._tip if fits else "\n\n".join(t for t in (self._full, self._tip) if t)
        self.setToolTip(tip)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self._fit()


def nonfinite_legend(counts: dict[str, int]) -> str:
    """Rich text naming each kind of non-finite value with its overlay colour and count,
    e.g. "not finite: ■ NaN (1,078)" (NONFINITE_COLOURS); "" when there are none."""
    parts = []
    for key, n in counts.items():
        r, g, b = NONFINITE_COLOURS[key]
        parts.append(f"<span style='color:rgb({r},{g},{b})'>■</span> {key} ({n:,})")
    return "not finite: " + " &nbsp; ".join(parts) if parts else ""


#: How the lane pickers name a direction.
DIRECTION_NAMES = {"fwd": "forward", "bwd": "backward"}


def sync_lane_pickers(
    layer: QSpinBox, direction: QComboBox, batch: QSpinBox, spec: Any, sel: Any
) -> None:
    """Show the selection (layer, direction, batch row) in a view's three pickers, with
    ranges and choices from `spec`, without their signals echoing it back to the document."""
    pickers = (layer, direction, batch)
    for w in pickers:
        w.blockSignals(True)
    try:
        layer.setRange(0, spec.num_layers - 1)
        layer.setValue(sel.layer)
        layer.setEnabled(spec.num_layers > 1)
        if [direction.itemData(i) for i in range(direction.count())] != list(spec.directions):
            direction.clear()
            for d in spec.directions:
                direction.addItem(DIRECTION_NAMES[d], d)
        direction.setCurrentIndex(spec.directions.index(sel.direction))
        direction.setEnabled(len(spec.directions) > 1)
        batch.setRange(0, spec.batch_size - 1)
        batch.setValue(sel.batch)
        batch.setEnabled(spec.batch_size > 1)
    finally:
        for w in pickers:
            w.blockSignals(False)
