"""The status bar: does the recomputation match torch, what it cost, and what is running.

The badge is the trace's one verdict (`Trace.verdict`: its state picks the colour, its text
and explanation are shown as they are); nothing here is computed or reworded.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QStatusBar,
    QWidget,
)

from rnnviz.app.widgets import ElidedLabel
from rnnviz.config.budget import human
from rnnviz.document.document import GRAD, Document, JobStatus
from rnnviz.document.snapshot import Snapshot
from rnnviz.engine.record import Trace

GOOD = "background: #2e7d32; color: white; border-radius: 3px; padding: 1px 6px;"
BAD = "background: #c62828; color: white; border-radius: 3px; padding: 1px 6px;"
AMBER = "background: #b36b00; color: white; border-radius: 3px; padding: 1px 6px;"
PARTIAL = "background: #55707d; color: white; border-radius: 3px; padding: 1px 6px;"
#: A trace whose other lanes are still being recomputed, agreeing so far: neither green nor
#: red, and never "matches".
PENDING = "background: #6b7280; color: white; border-radius: 3px; padding: 1px 6px;"
#: What the gradient badge compares (its tooltip, before what its state means).
GRAD_TIP = (
    "rnnviz's own backward recursion through time (∂L/∂x, ∂L/∂h0, ∂L/∂c0, every ∂L/∂θ) "
    "compared with torch.autograd.grad through the real module"
)
#: Badge style per verdict state (rnnviz.engine.verdict.STATES; the gradients' ok, amber
#: and differs are three of them).
STYLES = {"ok": GOOD, "partial": PARTIAL, "amber": AMBER, "differs": BAD, "pending": PENDING}


def badge_text(trace: Trace) -> str:
    """The trace's one verdict line (`trace.verdict.text`), e.g. 'matches torch: max |Δ| =
    5.96e-08' — the same words the Shapes tab and `rnnviz trace` print."""
    return trace.verdict.text


#: What the status line calls a job of each result kind while it is being cancelled.
_JOB_NAMES = {
    "trace": "the trace",
    "train": "the training",
    "grad": "the gradients",
    "compare": "the comparison",
}

#: How long a trace runs before the status bar shows what is computing, progress and Cancel.
REVEAL_MS = 150


class StatusBar(QStatusBar):
    """Verification badge, compute time, trace memory; progress and Cancel while busy."""

    def __init__(self, state: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        # The verdicts elide too, their whole text in the tooltip: with relu-explode's
        # "agrees … up to float32's limit" beside "gradients DIFFER …" the two set the window's
        # minimum width to 2,081 px. Preferred: whole whenever the bar has room.
        self.badge = ElidedLabel("no trace yet", self)
        self.badge.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.badge.set_tip(
            "Every gate recomputed from the module's weights, compared with "
            "torch's own output, h_n and c_n"
        )
        self.seconds = QLabel(self)
        self.seconds.setToolTip("Wall time of the last trace (build, run, recompute, graph)")
        self.memory = QLabel(self)
        self.memory.setToolTip("Memory the recorded trace keeps alive")
        # Elided (whole as its tooltip): a long job line beside a long badge would otherwise
        # set the window's minimum width beyond a 1280 px screen. Preferred, not Ignored: it
        # takes its whole width when there is room, so the bar and Cancel sit right after it.
        self.busy = ElidedLabel("", self)
        self.busy.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.setMaximumWidth(160)
        self.progress.setTextVisible(False)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setToolTip("Stop this trace; the last finished one stays on screen")
        self.addWidget(self.busy)
        self.addWidget(self.progress)
        self.addWidget(self.cancel_button)
        self.grad_badge = ElidedLabel("", self)
        self.grad_badge.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.grad_badge.set_tip(GRAD_TIP)
        self.grad_badge.setVisible(False)
        for w in (self.seconds, self.memory, self.badge, self.grad_badge):
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
        # Training's epoch count lives in its history: the job line follows each epoch.
        state.sigResultChanged.connect(
            lambda key: self._job(self.state.job) if key.kind == "train" else None
        )
        state.sigFailed.connect(
            lambda msg: self.showMessage(
                f"{_JOB_NAMES.get(state.failed_kind, 'the job').removeprefix('the ')} "
                f"failed: {msg}",
                15000,
            )
        )
        state.sigStatus.connect(lambda msg: self.showMessage(msg, 8000))
        # The gradient badge shows only while a gradient result of the current spec exists.
        for sig in (state.sigResultChanged, state.sigSpecChanged, state.sigOptionsChanged):
            sig.connect(self._grad)
        state.sigParamsChanged.connect(self._grad)

    def _grad(self, *_: object) -> None:
        res = self.state.result(GRAD)
        if res is None:
            self.grad_badge.setVisible(False)
            return
        # Imported only here: it imports torch, which a window's first trace (made in a
        # child process) is drawn without (rnnviz.document.first_trace).
        from rnnviz.grad.text import GRAD_EXPLANATION, grad_badge_text

        gt = res.grads
        state = gt.grad_state
        self.grad_badge.setText(grad_badge_text(gt))
        self.grad_badge.set_tip(f"{GRAD_TIP}. {GRAD_EXPLANATION[state]}")
        self.grad_badge.setStyleSheet(STYLES[state])
        self.grad_badge.setVisible(True)

    def job_line(self) -> str:
        """Every running job, one part each: 'training epoch 7/15 · tracing …' (from the
        document's per-kind job state), or the single job line when only one kind runs."""
        from rnnviz.document.training import TRAIN, history

        parts = []
        for kind, status in self.state.jobs.items():
            if status.cancelling:
                # The job the user cancelled only winds down: its own line would promise
                # lanes or epochs that will not come.
                parts.append(f"cancelling {_JOB_NAMES.get(kind, kind)} …")
            elif kind == TRAIN:
                hist = history(self.state)
                n = len(hist.epochs) if hist is not None else 0
                total = hist.total if hist is not None else 0
                paused = TRAIN in self.state.paused
                if total and paused and hist is not None and hist.paused:
                    parts.append(f"training paused at epoch {n}/{total}")
                elif total:
                    pausing = ", pausing …" if paused else ""
                    parts.append(f"training epoch {n}/{total}{pausing}")
                else:
                    parts.append(status.text)
            else:
                parts.append(status.text)
        job = self.state.job
        return " · ".join(p for p in parts if p) or ("cancelling …" if job.cancelling else job.text)

    def _job(self, job: JobStatus) -> None:
        text = self.job_line() if job.running else ""
        if text != self.busy.text() or not job.running:
            self._busy(text)
        # One bar for what may be several jobs: it follows the first job of the line, and
        # says whose progress it is when there are several (a trace's 80% must not read as
        # the gradients' progress beside them).
        running = [(k, s) for k, s in self.state.jobs.items() if s.running]
        kind, progress = (running[0][0], running[0][1].progress) if running else ("", job.progress)
        name = _JOB_NAMES.get(kind, "the job")
        self.progress.setTextVisible(len(running) > 1)
        self.progress.setFormat(f"{name.removeprefix('the ')} %p%")
        self.progress.setToolTip(f"progress of {name}")
        self._progress(progress)
        # Cancel again does nothing new while everything running is already cancelling.
        statuses = list(self.state.jobs.values()) or [job]
        self.cancel_button.setEnabled(not all(s.cancelling for s in statuses))

    def _snapshot(self, snap: Snapshot) -> None:
        tr = snap.trace
        verdict = tr.verdict
        self.badge.setText(badge_text(tr))
        self.badge.setStyleSheet(STYLES[verdict.state])
        self.badge.set_tip(verdict.explanation)
        took = f"{snap.seconds * 1000:.0f} ms" if snap.seconds < 1 else f"{snap.seconds:.2f} s"
        self.seconds.setText(f"traced in {took}")
        self.memory.setText(f"trace {human(tr.nbytes)}")
        # A crowded status bar squeezes these first: the whole text stays as the tooltip.
        self.seconds.setToolTip(self.seconds.text())
        self.memory.setToolTip(self.memory.text())

    def _busy(self, what: str) -> None:
        self.busy.setText(what)
        if what:
            if not self.progress.isVisible() and not self._reveal.isActive():
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
        # Kept current while hidden too (before the reveal, or under a notice such as
        # "cancelled; …"): the bar must reappear at the job's progress, which a resumed job
        # starts well above 0, not at a stale value until the next tick.
        value = round(p * 1000)
        if value != self.progress.value():
            self.progress.setValue(value)
