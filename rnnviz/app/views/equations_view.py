"""The Equations tab: the cell's equations with the selected unit's numbers substituted in.

The numbers come from `rnnviz.analysis.equations.substitute`, which re-evaluates every equation from
the trace's parameters and recorded inputs; each line shows that value next to the recorded
one and their difference, so a learner sees both the arithmetic and that it is torch's.
Only this unit's numbers are computed on a step (a few dot products), so it is per-frame cheap.
"""

from __future__ import annotations

import html
import math
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from rnnviz.analysis.equations import EquationLine, fmt, fmt_diff, max_rel_diff, substitute
from rnnviz.config.api import title
from rnnviz.config.glossary import GATES
from rnnviz.document.document import Document
from rnnviz.document.selection import Selection
from rnnviz.document.snapshot import Snapshot

#: A line agrees with the record when its relative difference is at most this (float32).
AGREE = 1e-5
_DIRECTION_NAMES = {"fwd": "forward", "bwd": "backward"}
_CSS = """
body { font-family: 'DejaVu Sans', 'Noto Sans CJK SC', sans-serif; font-size: 10pt; }
.eq { font-family: 'DejaVu Sans Mono', monospace; }
.num { font-family: 'DejaVu Sans Mono', monospace; color: #333; }
.name { color: #555; }
.ok { color: #1b7a1b; }
.bad { color: #c0151f; font-weight: bold; }
.warn { color: #b35c00; }
.nonfinite { color: #c0151f; font-weight: bold; }
"""


def _value_html(v: float) -> str:
    text = html.escape(fmt(v))
    return f"<span class='nonfinite'>{text}</span>" if not math.isfinite(v) else text


def _line_html(line: EquationLine) -> str:
    en, zh, _ = GATES.get(line.gate, (line.gate, "", ""))
    name = f"{en} ({zh})" if zh else en
    numeric = html.escape(line.numeric)
    for bad in ("-inf", "inf", "nan"):  # mark overflowed numbers in the substitution too
        numeric = numeric.replace(f" {bad}", f" <span class='nonfinite'>{bad}</span>")
    if line.rel_diff <= AGREE:
        verdict = f"<span class='ok'>✓ |Δ| = {fmt_diff(line.diff)}</span>"
    elif line.overflowed:
        verdict = (
            f"<span class='warn'>⚠ |Δ| = {fmt_diff(line.diff)} at float32's limit: this line "
            "reads rnnviz's recomputed values, and adding the same terms in another order than "
            "torch's kernel overflows differently (Inf, NaN or a number); not a model "
            "error</span>"
        )
    else:
        verdict = f"<span class='bad'>✗ |Δ| = {fmt_diff(line.diff)}</span>"
    unit = f" (h unit {line.unit})" if line.gate == "h" and "proj_size" in line.symbolic else ""
    return (
        f"<p><span class='name'>{html.escape(name)}{unit}</span><br>"
        f"<span class='eq'>{html.escape(line.symbolic)}</span><br>"
        f"<span class='num'>= {numeric}</span><br>"
        f"{_recorded_label(line)}: {_value_html(line.recorded)} &nbsp; {verdict}</p>"
    )


def _recorded_label(line: EquationLine) -> str:
    """Say whose value the recorded one is: torch's, or rnnviz's recomputation."""
    if line.recorded_by == "torch":
        return "torch returned"
    return (
        "<span class='name' title='torch never exposes gate pre-activations or a "
        "module's per-step c_t: rnnviz recomputes them in float32 from the weights and "
        "checks them through the h (and c_n) torch does return'>rnnviz recomputed "
        "(torch does not expose it)</span>"
    )


class EquationsView(QWidget):
    """The selected cell's equations, live, for one unit at one timestep."""

    def __init__(self, state: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.lines: list[EquationLine] = []
        self.header = QLabel("computing the first trace…", self)
        self.header.setWordWrap(True)
        self.unit_spin = QSpinBox(self)
        self.unit_spin.setPrefix("unit ")
        self.unit_spin.setToolTip("Which hidden unit's numbers to substitute")
        self.browser = QTextBrowser(self)
        self.browser.document().setDefaultStyleSheet(_CSS)
        self.browser.setOpenLinks(False)
        row = QHBoxLayout()
        row.addWidget(self.header, 1)
        row.addWidget(self.unit_spin, 0, Qt.AlignmentFlag.AlignTop)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(row)
        lay.addWidget(self.browser, 1)
        self.unit_spin.valueChanged.connect(lambda v: self.state.select(unit=v))
        #: A snapshot or selection arrived while hidden (a tab behind another): substituted
        #: when shown (showEvent), not on every step of the timeline meanwhile.
        self._behind = False
        state.sigSnapshotChanged.connect(self._snapshot_changed)
        state.sigSelectionChanged.connect(self._selection_changed)
        if state.snapshot is not None:
            self._snapshot_changed(state.snapshot)

    def text(self) -> str:
        """What the view shows, as plain text (header and equations)."""
        return f"{self.header.text()}\n{self.browser.toPlainText()}"

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        """Substitute what the selection is now, if it changed while hidden."""
        super().showEvent(event)
        if self._behind and self.state.snapshot is not None:
            self._snapshot_changed(self.state.snapshot)

    def _snapshot_changed(self, snap: Snapshot) -> None:
        if not self.isVisible():
            self._behind = True
            return
        self.unit_spin.blockSignals(True)
        self.unit_spin.setRange(0, snap.spec.hidden_size - 1)
        self.unit_spin.blockSignals(False)
        self._selection_changed(self.state.selection)

    def _selection_changed(self, sel: Selection) -> None:
        snap = self.state.snapshot
        if snap is None:
            return
        self._behind = not self.isVisible()
        if self._behind:
            return
        self.unit_spin.blockSignals(True)
        self.unit_spin.setValue(sel.unit)
        self.unit_spin.blockSignals(False)
        spec = snap.spec
        if not snap.trace.has_lane(sel.layer, sel.direction):
            # This lane's gates are not recomputed yet: nothing to substitute; ask for them.
            self.lines = []
            self.header.setText(
                f"{spec.title()} — layer {sel.layer}, {_DIRECTION_NAMES[sel.direction]}: "
                f"gates not recomputed yet ({snap.trace.lanes_text()}) — computing this lane"
            )
            self.browser.clear()
            self.state.ask_lanes()
            return
        try:
            self.lines = substitute(
                snap.trace, sel.layer, sel.direction, sel.t, sel.unit, sel.batch
            )
        except IndexError as exc:  # a selection from a newer spec than this snapshot
            self.lines = []
            self.header.setText(str(exc))
            self.browser.clear()
            return
        where = f", {_DIRECTION_NAMES[sel.direction]}" if spec.num_directions > 1 else ""
        batch = f", batch {sel.batch}" if spec.batch_size > 1 else ""
        api = snap.trace.api
        prev = next((t.reads for t in self.lines[0].terms if t.reads), "h_(t−1)")
        why = " (backward: its previous step is t + 1)" if sel.direction == "bwd" else ""
        reads = {"h0": "the initial state h0", "hx": "hx, the state the first call took"}.get(
            prev, prev
        )
        at = f"call t = {sel.t}" if api == "cell" else f"layer {sel.layer}{where}, t = {sel.t}"
        self.header.setText(
            f"{title(spec, api)} — {at}, unit {sel.unit}{batch}\nh_(t−1) here is {reads}{why}"
        )
        worst = max_rel_diff(self.lines)
        summary = (
            "every line agrees with the recorded values"
            if worst <= AGREE
            else "some lines differ only where values overflow at float32's limit"
            if all(ln.rel_diff <= AGREE or ln.overflowed for ln in self.lines)
            else "some lines differ from the recorded values"
        )
        body = "".join(_line_html(line) for line in self.lines)
        note = (
            "<p class='name'>Each line is evaluated again here, in float64, from the "
            "module's weights and the values it reads as recorded (x_t, h_(t−1), "
            f"c_(t−1), the other gates at t); {summary}. torch returns only h"
            + (" and c" if api == "cell" and spec.cell == "lstm" else "")
            + "; values marked “rnnviz recomputed” are rnnviz's float32 recomputation "
            "from the weights, never torch's own.</p>"
        )
        self.browser.setHtml(body + note)
