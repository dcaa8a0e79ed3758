"""The views follow the newest epoch while training runs, at a bounded rate.

Training hands the document a partial history every few milliseconds. Showing every epoch
as it lands would trace each one and repaint every view each time (the window then spends
its time repainting, not answering). The follower instead shows the newest epoch at most
every `INTERVAL_MS`, and never asks for a new epoch while the last asked-for trace is still
computing: the traces run on the runner's trace lane, off the GUI thread, and only the
epoch that is actually shown is traced. The final epoch is always shown.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer

from rnnviz.document.document import Document, ResultKey
from rnnviz.document.training import (
    TRAIN,
    epoch_trace_pending,
    following,
    newest_epoch,
    show_epoch,
    shown_epoch,
)

#: Shortest time between two epochs shown while following (ms).
INTERVAL_MS = 100
#: A trace that has not landed after this long (failed, say) no longer holds the follower.
STUCK_S = 2.0


class EpochFollower(QObject):
    """Shows the newest epoch of the document's training at most every `interval_ms`."""

    def __init__(
        self, doc: Document, interval_ms: int = INTERVAL_MS, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.doc = doc
        self.interval_ms = interval_ms
        self._last = 0.0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._fire)
        #: How many epochs were shown while following (tests and the benchmark read it).
        self.shown = 0
        doc.sigResultChanged.connect(self._result)
        # A trace landing may free the follower to show a newer epoch it held back.
        doc.sigSnapshotChanged.connect(lambda _snap: self._kick())

    def _result(self, key: ResultKey) -> None:
        if key.kind == TRAIN:
            self._kick()

    def _kick(self) -> None:
        if self._timer.isActive() or not following(self.doc):
            return
        newest = newest_epoch(self.doc)
        if newest == 0 or shown_epoch(self.doc) == newest:
            return
        wait = self.interval_ms - (time.perf_counter() - self._last) * 1000
        self._timer.start(max(0, round(wait)))

    def _fire(self) -> None:
        doc = self.doc
        if not following(doc):
            return
        if epoch_trace_pending(doc) and time.perf_counter() - self._last < STUCK_S:
            return  # the pending trace's arrival kicks again
        newest = newest_epoch(doc)
        if newest and shown_epoch(doc) != newest:
            self._last = time.perf_counter()
            if show_epoch(doc, newest):
                self.shown += 1
