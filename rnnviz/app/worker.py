"""Run traces off the GUI thread: debounce edits, cancel superseded runs, drop stale results.

The first edit after a quiet spell is traced at once (a click on a spin box arrow repaints
within a frame or two); edits that follow it inside the debounce time restart a short timer,
and only the last of such a burst is traced when the timer fires. Before each start the
runner checks the memory budget (microseconds, on the GUI thread) and hands
`compute_snapshot` to a single worker thread. Each request carries an id: starting a new one
sets the previous one's cancel flag (the core checks it between chunks and raises
`Cancelled`), and a result whose id is not the latest is dropped, so a burst of edits always
ends with the snapshot of the final spec. torch is first imported on the worker thread, so
the window is on screen before that slow import starts.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from rnnviz.app.state import AppState
from rnnviz.budget import check_budget
from rnnviz.options import RunOptions
from rnnviz.spec import Spec, SpecError

#: How long edits must pause before a trace starts; spinbox arrows repeat faster than this.
DEBOUNCE_MS = 120
#: Smallest progress step worth a signal: a long trace ticks thousands of times.
PROGRESS_STEP = 0.01
#: Multiply-accumulates of a forward pass below which the trace runs on one torch thread.
#: Measured here: a default-size trace took 8–40 ms on two OpenMP threads while the GUI
#: thread painted on the other core, and 5–9 ms on one; large traces keep every thread.
ONE_THREAD_MACS = 5e7


_DEFAULT_THREADS: list[int] = []


def _set_torch_threads(spec: Spec) -> None:
    """One torch thread for small traces (their kernels are too short to share, and a second
    spinning OpenMP thread competes with the GUI thread for the other core), all for large.
    Only the worker thread calls torch in the app, so the process-wide setting is ours."""
    import torch

    from rnnviz.shapes import shapes

    if not _DEFAULT_THREADS:
        _DEFAULT_THREADS.append(torch.get_num_threads())
    want = 1 if shapes(spec).macs < ONE_THREAD_MACS else _DEFAULT_THREADS[0]
    if torch.get_num_threads() != want:
        torch.set_num_threads(want)


class TraceRunner(QObject):
    """Watches an AppState and keeps its snapshot in step with its spec and options.

    - sigStatus(str): a one-line message for the status bar ("trace cancelled", errors).
    - sigIdle(): no request is running or waiting (tests and screenshot mode wait on it).
    Results go to `state.set_snapshot`; `state.sigBusy`, `sigProgress` and `sigFailed` report
    the run itself.
    """

    sigStatus = Signal(str)
    sigIdle = Signal()
    # Internal: emitted on the worker thread, delivered queued on the GUI thread.
    _sigResult = Signal(int, object)
    _sigProgress = Signal(int, float)
    _sigEnded = Signal(int, str, str)  # request id, kind (cancelled|failed), message

    def __init__(self, state: AppState, debounce_ms: int = DEBOUNCE_MS,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self._pool: ThreadPoolExecutor | None = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="rnnviz-trace")
        self._latest = 0  # id of the newest request; only its result is kept
        self._running: dict[int, threading.Event] = {}  # submitted, not yet ended
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(debounce_ms)
        self._timer.timeout.connect(self._on_timer)
        self._pending = False  # an edit arrived since the last start
        self._kick = QTimer(self)
        self._kick.setSingleShot(True)
        self._kick.setInterval(0)
        self._kick.timeout.connect(self._lead)
        self._sigResult.connect(self._on_result, Qt.ConnectionType.QueuedConnection)
        self._sigProgress.connect(self._on_progress, Qt.ConnectionType.QueuedConnection)
        self._sigEnded.connect(self._on_ended, Qt.ConnectionType.QueuedConnection)
        state.sigSpecChanged.connect(self.schedule)
        state.sigOptionsChanged.connect(self.schedule)

    # ---- requests ------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """True while a request is waiting for the debounce timer or running."""
        return self._timer.isActive() or bool(self._running)

    def schedule(self, *_: Any) -> None:
        """Trace the state's current spec: at once after a quiet spell, else once edits pause
        for the debounce time."""
        if self._pool is None:
            return
        leading = not self._timer.isActive() and not self._running
        self._pending = True
        self._timer.start()  # the quiet spell that ends a burst
        if leading:
            # Next turn of the event loop, not inside the edit's own signal: the editor
            # finishes handling its edit before a budget refusal is reported.
            self._kick.start()

    def _lead(self) -> None:
        if self._pending:
            self.start_now()
            self._timer.start()  # later edits of this burst wait for the quiet spell

    def _on_timer(self) -> None:
        if self._pending:
            self.start_now()
        else:
            self._finish_if_idle()

    def start_now(self) -> int:
        """Trace the state's spec and options now, superseding any running trace.

        Returns the request id (0 if refused by the budget or after shutdown)."""
        self._timer.stop()
        self._pending = False
        if self._pool is None:
            return 0
        spec, options = self.state.spec, self.state.options
        self._latest += 1
        rid = self._latest
        for flag in self._running.values():
            flag.set()
        try:
            check_budget(spec)
        except SpecError as exc:
            # Refused before any allocation: shown like an invalid field, old snapshot stays.
            self.state.report_error(exc.field, exc.message)
            self._finish_if_idle()
            return 0
        flag = threading.Event()
        self._running[rid] = flag
        self.state.sigBusy.emit(f"tracing {spec.title()} on seq_len {spec.seq_len} × "
                                f"batch {spec.batch_size} …")
        self.state.sigProgress.emit(0.0)
        self._pool.submit(self._compute, rid, spec, options, flag)
        return rid

    def cancel(self) -> None:
        """Abandon the running trace (and any waiting edit); the last snapshot stays."""
        self._timer.stop()
        self._pending = False
        for flag in self._running.values():
            flag.set()
        if not self._running:
            self._finish_if_idle()

    def shutdown(self) -> None:
        """Cancel everything and join the worker thread; no signal arrives afterwards."""
        self.cancel()
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        self._running.clear()

    # ---- worker thread ---------------------------------------------------------------------
    def _compute(self, rid: int, spec: Spec, options: RunOptions, flag: threading.Event) -> None:
        """Runs on the worker thread; talks to the GUI only through queued signals."""
        if flag.is_set():  # superseded while waiting in the queue
            self._sigEnded.emit(rid, "cancelled", "")
            return
        last = [-1.0]

        def progress(p: float) -> None:
            if p - last[0] >= PROGRESS_STEP or p >= 1.0:
                last[0] = p
                self._sigProgress.emit(rid, float(p))

        try:
            from rnnviz.snapshot import compute_snapshot  # imports torch the first time
            from rnnviz.tracing import Cancelled
        except Exception as exc:  # a broken torch install must not kill the window
            self._sigEnded.emit(rid, "failed", f"cannot load torch: {exc}")
            return
        try:
            _set_torch_threads(spec)
            snap = compute_snapshot(spec, options, progress=progress, cancel=flag.is_set)
        except Cancelled:
            self._sigEnded.emit(rid, "cancelled", "")
        except SpecError as exc:
            self._sigEnded.emit(rid, "spec", f"{exc.field}\n{exc.message}")
        except MemoryError:
            self._sigEnded.emit(rid, "failed", f"out of memory tracing {spec.title()}")
        except Exception as exc:  # shown in the status bar; the window keeps running
            self._sigEnded.emit(rid, "failed", f"{type(exc).__name__}: {exc}")
        else:
            self._sigResult.emit(rid, snap)

    # ---- GUI thread ----------------------------------------------------------------------------
    def _on_progress(self, rid: int, p: float) -> None:
        if rid == self._latest and rid in self._running:
            self.state.sigProgress.emit(p)

    def _on_result(self, rid: int, snap: object) -> None:
        self._running.pop(rid, None)
        # With a newer edit waiting, this result already shows an old spec: drop it.
        if rid == self._latest and self._pool is not None and not self._pending:
            self.state.set_snapshot(snap)  # type: ignore[arg-type]
        self._finish_if_idle()

    def _on_ended(self, rid: int, kind: str, message: str) -> None:
        self._running.pop(rid, None)
        if rid == self._latest and self._pool is not None:
            if kind == "cancelled":
                self.sigStatus.emit("trace cancelled; showing the last finished trace")
            elif kind == "spec":
                field, _, text = message.partition("\n")
                self.state.report_error(field, text)
            else:
                self.state.sigFailed.emit(message)
        self._finish_if_idle()

    def _finish_if_idle(self) -> None:
        if not self._running and not self._timer.isActive():
            self.state.sigBusy.emit("")
            self.sigIdle.emit()
