"""The epoch slider beside the time slider: which epoch of training every view shows.

Hidden until the document holds a training history. Moving it asks the document to show
that epoch (`show_epoch`) and says whether to keep following the newest epoch (only when it
is moved to the newest); the graph, gate heatmaps, equations, values and shapes follow the
trace that lands. It reads and writes the Document only.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QWidget

from rnnviz.document.document import Document
from rnnviz.document.training import (
    TRAIN,
    history,
    set_following,
    show_epoch,
    shown_epoch,
)


class EpochSlider(QWidget):
    """'epoch [slider] 7 of 1…15' over the document's current training history."""

    def __init__(self, state: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setRange(1, 1)
        self.slider.setToolTip(
            "Show this epoch's forward pass of the training text in every view: the weights "
            "that epoch's forward pass used, before its optimizer step"
        )
        self.label = QLabel("epoch –", self)
        self.label.setMinimumWidth(120)
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.label.setToolTip("The epoch the views show (1-based, as the training loop prints)")
        row = QHBoxLayout(self)
        row.setContentsMargins(6, 2, 6, 2)
        row.addWidget(self.label)
        row.addWidget(self.slider, 1)
        self.slider.valueChanged.connect(self._moved)
        state.sigResultChanged.connect(self._result)
        state.sigSourceChanged.connect(self._refresh)
        self._refresh()

    @property
    def epochs(self) -> int:
        """How many epochs the slider covers (0: no training, slider hidden)."""
        hist = history(self.state)
        return len(hist.epochs) if hist is not None else 0

    def _result(self, key: Any) -> None:
        if key.kind == TRAIN:
            self._refresh()

    def _refresh(self) -> None:
        n = self.epochs
        self.setVisible(n > 0)
        if n == 0:
            return
        shown = shown_epoch(self.state)
        self.slider.blockSignals(True)
        self.slider.setRange(1, n)
        if shown is not None:
            self.slider.setValue(shown)
        self.slider.blockSignals(False)
        hist = history(self.state)
        total = hist.total if hist is not None else n
        where = f"epoch {shown} of 1…{n}" if shown is not None else f"epoch – of 1…{n}"
        self.label.setText(where + (f" (of {total})" if n < total else ""))

    def _moved(self, value: int) -> None:
        set_following(self.state, value >= self.epochs)
        show_epoch(self.state, value)
        self._refresh()
