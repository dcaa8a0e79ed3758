"""The status bar: does the recomputation match torch, what it cost, and what is running.

The badge text comes straight from the trace (`max_abs_diff`, `max_rel_diff`, `nonfinite`,
`nonfinite_mismatch`, `verified`); nothing here is computed, only formatted.
"""

from __future__ import annotations

import math

from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QStatusBar, QWidget

from rnnviz.app.state import AppState
from rnnviz.budget import human
from rnnviz.record import Trace
from rnnviz.snapshot import Snapshot

GOOD = "background: #2e7d32; color: white; border-radius: 3px; padding: 1px 6px;"
BAD = "background: #c62828; color: white; border-radius: 3px; padding: 1px 6px;"
#: Above this magnitude an absolute difference says little; the relative one is shown too.
HUGE = 1e4


def badge_text(trace: Trace) -> str:
    """'matches torch: max |Δ| = 5.96e-08' (plus relative and non-finite counts when useful)."""
    head = "matches torch" if trace.verified else "DIFFERS from torch"
    text = f"{head}: max |Δ| = {trace.max_abs_diff:.3g}"
    if trace.max_abs_diff > HUGE or not math.isfinite(trace.max_abs_diff) or not trace.verified:
        text += f", max rel Δ = {trace.max_rel_diff:.3g}"
    if trace.nonfinite_mismatch:
        text += f", {trace.nonfinite_mismatch} non-finite mismatches"
    elif trace.nonfinite:
        text += f" ({trace.nonfinite} Inf/NaN, same as torch)"
    return text


class StatusBar(QStatusBar):
    """Verification badge, compute time, trace memory; progress and Cancel while busy."""

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.badge = QLabel("no trace yet", self)
        self.badge.setToolTip("Every gate recomputed from the module's weights, compared with "
                              "torch's own output, h_n and c_n")
        self.seconds = QLabel(self)
        self.seconds.setToolTip("Wall time of the last trace (build, run, recompute, graph)")
        self.memory = QLabel(self)
        self.memory.setToolTip("Memory the recorded trace keeps alive")
        self.busy = QLabel(self)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.setMaximumWidth(160)
        self.progress.setTextVisible(False)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setToolTip("Stop this trace; the last finished one stays on screen")
        self.addWidget(self.busy)
        self.addWidget(self.progress)
        self.addWidget(self.cancel_button)
        for w in (self.seconds, self.memory, self.badge):
            self.addPermanentWidget(w)
        self._busy("")
        state.sigSnapshotChanged.connect(self._snapshot)
        state.sigBusy.connect(self._busy)
        state.sigProgress.connect(lambda p: self.progress.setValue(round(p * 1000)))
        state.sigFailed.connect(lambda msg: self.showMessage(f"trace failed: {msg}", 15000))

    def _snapshot(self, snap: Snapshot) -> None:
        tr = snap.trace
        self.badge.setText(badge_text(tr))
        self.badge.setStyleSheet(GOOD if tr.verified else BAD)
        took = f"{snap.seconds * 1000:.0f} ms" if snap.seconds < 1 else f"{snap.seconds:.2f} s"
        self.seconds.setText(f"traced in {took}")
        self.memory.setText(f"trace {human(tr.nbytes)}")

    def _busy(self, what: str) -> None:
        self.busy.setText(what)
        for w in (self.busy, self.progress, self.cancel_button):
            w.setVisible(bool(what))
        if what:
            self.clearMessage()
            self.progress.setValue(0)
