"""The status bar: does the recomputation match torch, what it cost, and what is running.

The badge text comes straight from the trace (`max_abs_diff`, `max_rel_diff`, `nonfinite`,
`nonfinite_mismatch`, `verified`); nothing here is computed, only formatted.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QStatusBar, QWidget

from rnnviz.config.budget import human
from rnnviz.document.document import Document, JobStatus
from rnnviz.document.snapshot import Snapshot
from rnnviz.engine.record import Trace

GOOD = "background: #2e7d32; color: white; border-radius: 3px; padding: 1px 6px;"
BAD = "background: #c62828; color: white; border-radius: 3px; padding: 1px 6px;"
#: A partial trace (some lanes not recomputed yet) that agrees so far: neither green nor red.
PENDING = "background: #55707d; color: white; border-radius: 3px; padding: 1px 6px;"
#: Above this magnitude an absolute difference says little; the relative one is shown too.
HUGE = 1e4


def badge_text(trace: Trace) -> str:
    """'matches torch: max |Δ| = 5.96e-08' (plus relative and non-finite counts when useful)."""
    agrees = trace.max_rel_diff <= 1e-4 and not trace.nonfinite_mismatch
    if not trace.complete:
        # Partial: claim nothing for the lanes not recomputed yet.
        head = f"{trace.lanes_text()}" + ("" if agrees else "; DIFFERS from torch")
    else:
        head = "matches torch" if trace.verified else "DIFFERS from torch"
    text = f"{head}: max |Δ| = {trace.max_abs_diff:.3g}"
    if trace.max_abs_diff > HUGE or not math.isfinite(trace.max_abs_diff) or not agrees:
        text += f", max rel Δ = {trace.max_rel_diff:.3g}"
    if trace.nonfinite_mismatch:
        text += f", {trace.nonfinite_mismatch} non-finite mismatches"
    elif trace.nonfinite:
        text += f" ({trace.nonfinite} Inf/NaN, same as torch)"
    return text


#: How long a trace runs before the status bar shows what is computing, progress and Cancel.
REVEAL_MS = 150


class StatusBar(QStatusBar):
    """Verification badge, compute time, trace memory; progress and Cancel while busy."""

    def __init__(self, state: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.badge = QLabel("no trace yet", self)
        self.badge.setToolTip(
            "Every gate recomputed from the module's weights, compared with "
            "torch's own output, h_n and c_n"
        )
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
        # A quick trace (most edits: ~10 ms) should not flash a progress bar, and showing and
        # hiding status widgets relayouts the bar each time, so they appear only once a trace
        # has run for REVEAL_MS.
        self._reveal = QTimer(self)
        self._reveal.setSingleShot(True)
        self._reveal.setInterval(REVEAL_MS)
        self._reveal.timeout.connect(self._show_busy)
        self._busy("")
        self.cancel_button.clicked.connect(state.cancel)  # through the document, not the runner
        state.sigSnapshotChanged.connect(self._snapshot)
        state.sigJobChanged.connect(self._job)
        state.sigFailed.connect(lambda msg: self.showMessage(f"trace failed: {msg}", 15000))
        state.sigStatus.connect(lambda msg: self.showMessage(msg, 8000))

    def _job(self, job: JobStatus) -> None:
        if job.text != self.busy.text() or not job.running:
            self._busy(job.text)
        self._progress(job.progress)

    def _snapshot(self, snap: Snapshot) -> None:
        tr = snap.trace
        self.badge.setText(badge_text(tr))
        agrees = tr.max_rel_diff <= 1e-4 and not tr.nonfinite_mismatch
        self.badge.setStyleSheet(GOOD if tr.verified else PENDING if agrees else BAD)
        took = f"{snap.seconds * 1000:.0f} ms" if snap.seconds < 1 else f"{snap.seconds:.2f} s"
        self.seconds.setText(f"traced in {took}")
        self.memory.setText(f"trace {human(tr.nbytes)}")

    def _busy(self, what: str) -> None:
        self.busy.setText(what)
        if what:
            if not self.progress.isVisible() and not self._reveal.isActive():
                self.progress.setValue(0)
                self._reveal.start()
            return
        self._reveal.stop()
        for w in (self.busy, self.progress, self.cancel_button):
            w.setVisible(False)

    def _show_busy(self) -> None:
        self.clearMessage()
        for w in (self.busy, self.progress, self.cancel_button):
            w.setVisible(True)

    def _progress(self, p: float) -> None:
        value = round(p * 1000)
        if self.progress.isVisible() and value != self.progress.value():
            self.progress.setValue(value)
