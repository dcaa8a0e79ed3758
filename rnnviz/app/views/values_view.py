"""Values: the trace's tensors as numbers, printed exactly as torch prints them, for the
selected batch row or all rows; x[t] and output[t] (Cell mode: the h_t of call t) and the
selected layer and direction's slice of h0/h_n are highlighted.

The text comes from rnnviz.analysis.value_blocks (Qt-free, tested against torch's own
print); this view only lays the blocks out and paints the highlights.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QFontDatabase, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QSizePolicy,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from rnnviz.analysis.value_blocks import ValueBlock, is_cell_run, value_blocks
from rnnviz.analysis.values import PrintOptions
from rnnviz.document.document import Document
from rnnviz.document.selection import Selection
from rnnviz.document.snapshot import Snapshot

#: "every value" prints at most this many numbers (a QPlainTextEdit of millions of numbers
#: would take seconds to lay out); above it torch's own summary with `...` is shown.
MAX_FULL = 50_000
_MARK = QColor(255, 224, 130)


class ValuesView(QWidget):
    """The traced tensors as torch prints them, linked to the selection and the timestep."""

    def __init__(self, state: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.blocks: list[ValueBlock] = []
        #: (start, end) in the text of each highlighted element, in block order.
        self.marked_spans: list[tuple[int, int]] = []
        self._shown: Any = None

        self.rows_combo = QComboBox(self)
        self.rows_combo.addItem("selected batch row", "row")
        self.rows_combo.addItem("all batch rows", "all")
        self.rows_combo.setToolTip(
            "Print the selected batch row (as torch prints x[:, b]) or every row"
        )
        self.full_check = QCheckBox("every value", self)
        self.full_check.setToolTip(
            "torch shortens tensors of more than 1000 numbers with '...';\n"
            "tick to print every value (torch.set_printoptions(profile='full'))"
        )
        self.legend = QLabel(self)
        self.legend.setWordWrap(True)
        self.legend.setTextFormat(Qt.TextFormat.PlainText)
        self.legend.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.text = QPlainTextEdit(self)
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setPlaceholderText("computing the first trace…")

        row = QHBoxLayout()
        row.setContentsMargins(4, 2, 4, 0)
        row.addWidget(self.rows_combo)
        row.addWidget(self.full_check)
        row.addStretch(1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addLayout(row)
        lay.addWidget(self.legend)
        lay.addWidget(self.text, 1)

        self.rows_combo.currentIndexChanged.connect(self._refresh)
        self.full_check.toggled.connect(self._refresh)
        state.sigSnapshotChanged.connect(self._snapshot_changed)
        state.sigSelectionChanged.connect(self._selection_changed)
        if state.snapshot is not None:
            self._refresh()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(420, 500)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(160, 120)

    # ---- what tests read ----------------------------------------------------------------------
    def plain_text(self) -> str:
        """The whole text shown."""
        return self.text.toPlainText()

    def marked_texts(self) -> list[str]:
        """The text of every highlighted element, in order."""
        full = self.plain_text()
        return [full[s:e] for s, e in self.marked_spans]

    # ---- state → view -------------------------------------------------------------------------
    def _selection_changed(self, sel: Selection) -> None:
        # A hidden tab prints nothing: formatting a long trace costs ~10 ms per step, paid on
        # every step of the timeline otherwise. It catches up when shown (showEvent).
        if self.isVisible() and self._key(sel) != self._shown:
            self._refresh()

    def _snapshot_changed(self, *_: Any) -> None:
        if self.isVisible():
            self._refresh()

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        """Print what the selection is now, if it changed while the tab was hidden."""
        super().showEvent(event)
        if self._key(self.state.selection) != self._shown:
            self._refresh()

    def _key(self, sel: Selection) -> Any:
        snap = self.state.snapshot
        all_rows = self.rows_combo.currentData() == "all"
        return (
            id(snap),
            all_rows,
            sel.batch,
            sel.t,
            sel.layer,
            sel.direction,
            self.full_check.isChecked(),
        )

    def _refresh(self, *_: Any) -> None:
        snap: Snapshot | None = self.state.snapshot
        if snap is None:
            return
        sel = self.state.selection
        tr = snap.trace
        cell = is_cell_run(tr, getattr(snap.options, "stepper", None))
        all_rows = self.rows_combo.currentData() == "all"
        total = sum(a.size for a in tr.tensors.values())
        full = self.full_check.isChecked() and total <= MAX_FULL
        self.full_check.setEnabled(total <= MAX_FULL)
        opts = PrintOptions(threshold=float("inf")) if full else PrintOptions()
        self.blocks = value_blocks(
            tr,
            batch=None if all_rows else min(sel.batch, snap.spec.batch_size - 1),
            t=min(sel.t, snap.spec.seq_len - 1),
            layer=sel.layer,
            direction=sel.direction,
            cell=cell,
            opts=opts,
            mark_batch=min(sel.batch, snap.spec.batch_size - 1),
        )
        parts: list[str] = []
        at = 0
        self.marked_spans = []
        for blk in self.blocks:
            head = f">>> {blk.expr}    # {blk.about}\n"
            parts.append(head)
            at += len(head)
            for index in sorted(blk.marked):
                span = blk.printed.spans.get(index)
                if span is not None:
                    self.marked_spans.append((at + span[0], at + span[1]))
            body = blk.printed.text + "\n\n"
            parts.append(body)
            at += len(body)
        bar = self.text.verticalScrollBar().value(), self.text.horizontalScrollBar().value()
        self.text.setPlainText("".join(parts))
        self.text.verticalScrollBar().setValue(bar[0])
        self.text.horizontalScrollBar().setValue(bar[1])
        self._paint_marks()
        where = "each call's h_t" if cell else "output[t]"
        self.legend.setText(
            f"As torch prints them (precision 4). Highlighted: t = {sel.t} (x[t], {where})"
            + (f", batch row {sel.batch}" if all_rows else "")
            + ("" if cell else f", layer {sel.layer} {sel.direction} in h0/h_n")
            + ("; '...' hides values: tick 'every value'" if "..." in self.plain_text() else "")
        )
        self._shown = self._key(sel)

    def _paint_marks(self) -> None:
        fmt = QTextCharFormat()
        fmt.setBackground(_MARK)
        selections = []
        for s, e in self.marked_spans:
            extra = QTextEdit.ExtraSelection()
            cur = QTextCursor(self.text.document())
            cur.setPosition(s)
            cur.setPosition(e, QTextCursor.MoveMode.KeepAnchor)
            extra.cursor = cur  # type: ignore[attr-defined]  # PySide6 exposes it as a field
            extra.format = fmt  # type: ignore[attr-defined]
            selections.append(extra)
        self.text.setExtraSelections(selections)
