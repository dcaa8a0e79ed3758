"""The Shapes tab: tensor shapes against what torch returned, h_n slices and identities checked
on the numbers, the parameter inventory by gate, PyTorch and Keras totals, MACs.

Every figure is the core's (`rnnviz.analysis.shapes`, `rnnviz.analysis.tables`, `rnnviz.analysis.identities`); the
"torch returned" column reads the trace's tensors, so a prediction that ever disagreed with
torch would show as a red ✗ rather than pass silently.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from rnnviz.analysis.identities import IdentityCheck, output_identities, slice_checks
from rnnviz.analysis.shapes import ShapeReport, returned_shape
from rnnviz.analysis.tables import shape_table_markdown, tensor_keys, tensor_rows
from rnnviz.config.glossary import TENSORS, gate_label
from rnnviz.document.document import Document
from rnnviz.document.selection import Selection
from rnnviz.document.snapshot import Snapshot

_OK, _BAD = QColor(27, 122, 27), QColor(192, 21, 31)
_VERDICT_COLOURS = {
    "ok": "#1b7a1b",
    "partial": "#55707d",
    "amber": "#b36b00",
    "differs": "#c0151f",
    "pending": "#6b7280",
}
_DIRECTION_NAMES = {"fwd": "forward", "bwd": "backward"}


def _shape(s: tuple[int, ...] | None) -> str:
    return "—" if s is None else "(" + ", ".join(map(str, s)) + ")"


def _heading(text: str, parent: QWidget) -> QLabel:
    label = QLabel(f"<b>{html.escape(text)}</b>", parent)
    label.setContentsMargins(0, 8, 0, 2)
    return label


def _fit_height(table: QTableWidget) -> None:
    """Show every row without an inner scroll bar (the tab itself scrolls)."""
    table.resizeRowsToContents()
    h = table.horizontalHeader().height() + 2 * table.frameWidth()
    h += sum(table.rowHeight(r) for r in range(table.rowCount()))
    table.setFixedHeight(h)


def _check_html(check: IdentityCheck) -> str:
    if check.holds:
        how = "holds" if check.exact else "agrees to round-off"
        verdict = f"<span style='color:#1b7a1b'>✓ {how}, max |Δ| = {check.max_abs_diff:.3g}</span>"
    else:
        verdict = (
            f"<span style='color:#c0151f'><b>✗ FAILS</b>, max |Δ| = {check.max_abs_diff:.3g}</span>"
        )
    return (
        f"<tt>{html.escape(check.text)}</tt><br>&nbsp;&nbsp;<span style='color:#555'>"
        f"{html.escape(check.note)}</span> — {verdict}"
    )


def _slice_html(k: int, checks: list[IdentityCheck]) -> str:
    """One line per h_n index: its label and the check of h_n[k] (and c_n[k])."""
    h = checks[0]
    marks = []
    for c in checks:
        colour = "#1b7a1b" if c.holds else "#c0151f"
        sign = "✓" if c.holds else "✗"
        extra = "" if c.max_abs_diff == 0 else f" |Δ| {c.max_abs_diff:.2g}"
        marks.append(f"<span style='color:{colour}'>{c.state}_n {sign}{extra}</span>")
    return (
        f"&nbsp;&nbsp;<tt>h_n[{k}]</tt> = {html.escape(h.note)} (final step t={h.step}) "
        + " ".join(marks)
    )


class ShapesView(QWidget):
    """Tensor shapes, h_n slices, identities, parameters by gate, totals and MACs."""

    def __init__(self, state: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.report: ShapeReport | None = None
        self.checks: list[IdentityCheck] = []
        self.layer_items: dict[tuple[int, str], QTreeWidgetItem] = {}
        self._shown_spec: Any = None

        body = QWidget(self)
        lay = QVBoxLayout(body)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.setSpacing(2)
        self.title = QLabel("computing the first trace…", body)
        self.title.setWordWrap(True)
        self.copy_button = QPushButton("Copy as Markdown", body)
        self.copy_button.setToolTip("Copy the shape and parameter tables to the clipboard")
        self.copy_button.clicked.connect(self.copy_markdown)
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.copy_button, 0, Qt.AlignmentFlag.AlignTop)
        lay.addLayout(top)
        #: The trace's one verdict, worded exactly as the status badge words it.
        self.verdict_label = QLabel(body)
        self.verdict_label.setWordWrap(True)
        self.verdict_label.setTextFormat(Qt.TextFormat.RichText)
        lay.addWidget(self.verdict_label)
        self.calls_label = QLabel(body)
        self.calls_label.setTextFormat(Qt.TextFormat.RichText)
        self.calls_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.calls_label)

        lay.addWidget(_heading("Tensors — predicted, and what torch returned", body))
        self.tensor_table = QTableWidget(0, 3, body)
        self.tensor_table.setHorizontalHeaderLabels(["tensor", "shape", "torch returned"])
        self.tensor_table.verticalHeader().hide()
        self.tensor_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tensor_table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        header = self.tensor_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        lay.addWidget(self.tensor_table)
        self.layout_note = QLabel(body)
        self.layout_note.setWordWrap(True)
        self.layout_note.setStyleSheet("color: #555")
        lay.addWidget(self.layout_note)

        self.identity_heading = _heading("h_n slices and the output ↔ h_n identities", body)
        lay.addWidget(self.identity_heading)
        self.identity_label = QLabel(body)
        self.identity_label.setWordWrap(True)
        self.identity_label.setTextFormat(Qt.TextFormat.RichText)
        lay.addWidget(self.identity_label)

        self.counterpart_heading = _heading("The same weights through the other API", body)
        lay.addWidget(self.counterpart_heading)
        self.counterpart_label = QLabel(body)
        self.counterpart_label.setWordWrap(True)
        self.counterpart_label.setTextFormat(Qt.TextFormat.RichText)
        lay.addWidget(self.counterpart_label)

        lay.addWidget(_heading("Parameters by layer, direction and gate", body))
        self.param_tree = QTreeWidget(body)
        self.param_tree.setHeaderLabels(["parameter", "shape", "count"])
        self.param_tree.setRootIsDecorated(True)
        self.param_tree.setIndentation(12)
        self.param_tree.setMinimumHeight(220)
        self.param_tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        lay.addWidget(self.param_tree, 1)

        lay.addWidget(_heading("Totals", body))
        self.totals_label = QLabel(body)
        self.totals_label.setWordWrap(True)
        self.totals_label.setTextFormat(Qt.TextFormat.RichText)
        self.totals_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.totals_label)
        lay.addStretch(0)

        scroll = QScrollArea(self)
        scroll.setWidget(body)
        scroll.setWidgetResizable(True)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

        #: The snapshot filled in (None: nothing yet). A hidden tab fills nothing: the tables,
        #: identities and inventory of a large trace cost ~10 ms per landed trace; showEvent
        #: fills what landed meanwhile.
        self._filled: Any = None
        state.sigSnapshotChanged.connect(self._snapshot_changed)
        state.sigSelectionChanged.connect(self._selection_changed)
        if state.snapshot is not None:
            self._snapshot_changed(state.snapshot)

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        """Fill in the snapshot that landed while the view was hidden."""
        super().showEvent(event)
        snap = self.state.snapshot
        if snap is not None and snap is not self._filled:
            self._snapshot_changed(snap)

    # ---- what tests read ----------------------------------------------------------------------
    def tensor_cells(self) -> dict[str, tuple[str, str]]:
        """tensor name → (predicted shape text, torch-returned text) as shown."""
        t = self.tensor_table

        def item(r: int, c: int) -> QTableWidgetItem:
            it = t.item(r, c)
            assert it is not None  # every cell of the table is filled when it is built
            return it

        return {
            item(r, 0).data(Qt.ItemDataRole.UserRole): (item(r, 1).text(), item(r, 2).text())
            for r in range(t.rowCount())
        }

    def copy_markdown(self) -> None:
        """Put the Markdown tables (rnnviz.analysis.tables) on the clipboard."""
        # The document's snapshot, not the last one filled in: a hidden tab fills nothing.
        snap = self.state.snapshot
        if snap is not None:
            QGuiApplication.clipboard().setText(shape_table_markdown(snap.report))

    # ---- state → view -------------------------------------------------------------------------
    def _snapshot_changed(self, snap: Snapshot) -> None:
        if not self.isVisible():
            return
        self._filled = snap
        report, tr = snap.report, snap.trace
        self.report = report
        spec = snap.spec
        self.title.setText(
            f"<b>{html.escape(report.title)}</b> on seq_len={spec.seq_len}, batch={spec.batch_size}"
        )
        verdict = tr.verdict
        colour = _VERDICT_COLOURS[verdict.state]
        # The trace's notes say what was traced when it is not plainly the module on x (a
        # padded batch of a packed text model, a Cell's loop, chunked layers, unbatched
        # input); no view showed them, so the tagger's Shapes read as its packed run.
        notes = "".join(
            f"<br><span style='color:#8a5a00'>Note: {html.escape(n, quote=False)}</span>"
            for n in tr.notes
        )
        self.verdict_label.setText(
            f"<span style='color:{colour}'><b>{html.escape(verdict.text, quote=False)}</b></span>"
            f"<br><span style='color:#555'>{html.escape(verdict.explanation)}</span>{notes}"
        )
        self.calls_label.setText(
            "<tt>" + "<br>".join(html.escape(line) for line in report.calls) + "</tt>"
        )
        self._fill_tensors(report, tr.tensors)
        identities, slices = output_identities(tr), slice_checks(tr)
        self.checks = identities + slices
        if tr.api == "cell":
            self.identity_heading.setText("<b>What each call returns</b>")
            parts = [html.escape(line) for line in report.identities]
        else:
            self.identity_heading.setText("<b>h_n slices and the output ↔ h_n identities</b>")
            parts = [_check_html(c) for c in identities]
            parts.append(
                "<br>Each h_n slice is the final h of the layer and direction it is "
                "labelled with (checked on the numbers):"
            )
            parts += [
                _slice_html(k, [c for c in slices if c.index == k]) for k in range(spec.state_rows)
            ]
            if spec.num_layers > 1:
                last = spec.state_index(spec.num_layers - 1, 0)
                parts.append(
                    f"h_n[0:{last}] (lower layers) appear in no output: output is the last "
                    "layer only."
                )
        self.identity_label.setText("<br>".join(parts))
        self._fill_counterpart(report)
        if (spec, report.api) != self._shown_spec:  # the inventory depends on these alone
            self._fill_parameters(report)
            self._shown_spec = (spec, report.api)
        self._fill_totals(report)
        self._selection_changed(self.state.selection)

    def _fill_counterpart(self, report: ShapeReport) -> None:
        """The other API beside this one (RNNCell ↔ RNN), or why there is none."""
        if not report.counterpart:
            self.counterpart_heading.setText("<b>The same weights through the other API</b>")
            self.counterpart_label.setText(
                "<span style='color:#555'>No *Cell counterpart: a Cell is one layer, one "
                "direction, no projection.</span>"
            )
            return
        self.counterpart_heading.setText(
            f"<b>{html.escape(report.title)} beside {html.escape(report.counterpart_title)}"
            "</b> (same seed: same weights, same numbers; switch with the stepper)"
        )
        rows = "".join(
            f"<tr><td><tt>{html.escape(a)}</tt></td><td>↔</td><td><tt>{html.escape(b)}</tt>"
            f"</td><td style='color:#555'>{html.escape(why)}</td></tr>"
            for a, b, why in report.counterpart
        )
        self.counterpart_label.setText(f"<table cellspacing='4'>{rows}</table>")

    def _fill_tensors(self, report: ShapeReport, returned: dict[str, Any]) -> None:
        rows = tensor_rows(report)
        keys = tensor_keys(report)
        t = self.tensor_table
        t.setRowCount(len(rows))
        notes = []
        for r, ((name, shape, meaning), key) in enumerate(zip(rows, keys)):
            en, zh = TENSORS.get(key, (name, ""))
            got = returned_shape(report, returned, key)
            ok = got == report.tensors[key]
            per_call = " each call" if key in report.per_call else ""
            cells = [name, shape, f"{_shape(got)}{per_call} {'✓' if ok else '✗'}"]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(f"{name}: {en} ({zh}) — {meaning}")
                if c == 0:
                    item.setData(Qt.ItemDataRole.UserRole, name)
                if c == 2:
                    item.setForeground(QBrush(_OK if ok else _BAD))
                t.setItem(r, c, item)
            notes.append(f"<b>{name}</b> {html.escape(meaning)}")
        _fit_height(t)
        self.layout_note.setText("<br>".join(notes))

    def _fill_parameters(self, report: ShapeReport) -> None:
        tree = self.param_tree
        tree.clear()
        self.layer_items.clear()
        spec = report.spec
        for layer in range(spec.num_layers):
            cell_api = report.api == "cell"
            layer_item = QTreeWidgetItem(
                tree,
                [
                    report.title if cell_api else f"layer {layer}",
                    "",
                    f"{report.layer_totals[layer]:,}",
                ],
            )
            layer_item.setExpanded(True)
            for d in spec.directions:
                params = [p for p in report.parameters if p.layer == layer and p.direction == d]
                dir_item = QTreeWidgetItem(
                    layer_item,
                    [
                        "its parameters" if cell_api else _DIRECTION_NAMES[d],
                        "",
                        f"{sum(p.count for p in params):,}",
                    ],
                )
                dir_item.setExpanded(spec.num_layers * spec.num_directions <= 4)
                self.layer_items[(layer, d)] = dir_item
                for p in params:
                    item = QTreeWidgetItem(dir_item, [p.name, _shape(p.shape), f"{p.count:,}"])
                    item.setToolTip(
                        0,
                        f"{p.name}: torch's name in named_parameters()"
                        if cell_api
                        else f"{p.name}: {p.kind}, layer {p.layer}, {_DIRECTION_NAMES[p.direction]}",
                    )
                    for g in p.gates:
                        label = gate_label(g.gate) if g.gate != "proj" else "projection (proj_size)"
                        child = QTreeWidgetItem(
                            item,
                            [
                                f"rows {g.rows[0]}:{g.rows[1]}  {label}",
                                _shape(g.shape),
                                f"{g.count:,}",
                            ],
                        )
                        child.setToolTip(0, label)
        per_gate = QTreeWidgetItem(
            tree, ["all layers, per gate", "", f"{report.total_parameters:,}"]
        )
        for gate, count in report.gate_totals.items():
            label = gate_label(gate) if gate != "proj" else "projection (proj_size)"
            QTreeWidgetItem(per_gate, [label, "", f"{count:,}"]).setToolTip(0, label)
        per_gate.setExpanded(True)
        for col in (1, 2):
            tree.resizeColumnToContents(col)

    def _fill_totals(self, report: ShapeReport) -> None:
        keras = (
            f"{report.keras_parameters:,}"
            if report.keras_parameters is not None
            else "no Keras equivalent"
        )
        self.totals_label.setText(
            f"PyTorch: <b>{report.total_parameters:,}</b><br>"
            f"<tt>= {html.escape(report.torch_formula)}</tt><br>"
            f"Keras / TensorFlow: <b>{keras}</b><br>"
            f"<tt>= {html.escape(report.keras_formula)}</tt><br>"
            f"<span style='color:#555'>{html.escape(report.convention_note)}</span><br><br>"
            f"Multiply-accumulates of one forward pass: <b>{report.macs:,}</b><br>"
            f"<tt>{html.escape(report.macs_formula)}</tt>"
            + "".join(f"<br><span style='color:#555'>{html.escape(n)}</span>" for n in report.notes)
        )

    def _selection_changed(self, sel: Selection) -> None:
        # Cheap: mark the selected (layer, direction) in the inventory, nothing rebuilt.
        item = self.layer_items.get((sel.layer, sel.direction))
        if item is not None and self.param_tree.currentItem() is not item:
            self.param_tree.blockSignals(True)
            self.param_tree.setCurrentItem(item)
            self.param_tree.blockSignals(False)
