"""The thin Qt adapter between the Qt-free runner and the GUI thread.

The runner (`rnnviz.document.runner`) computes on a worker thread and hands every change of
the document to a poster: a callable that runs a function on the document's thread. This one
emits a queued signal, so the function runs on the GUI thread on the next turn of its event
loop, whichever thread posted it. (superqt's `ensure_main_thread` does the same with a
decorator; a queued signal is all we need.)
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal

from rnnviz.document.document import Document
from rnnviz.document.runner import DEBOUNCE_S, Runner


class QtPoster(QObject):
    """Call it with a function from any thread; the function runs on this object's thread."""

    _sigCall = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._sigCall.connect(self._call, Qt.ConnectionType.QueuedConnection)

    def __call__(self, fn: Callable[[], None]) -> None:
        self._sigCall.emit(fn)

    @staticmethod
    def _call(fn: Callable[[], None]) -> None:
        fn()


class TraceRunner(Runner):
    """The runner with its results delivered on the GUI thread."""

    def __init__(
        self, doc: Document, debounce_s: float = DEBOUNCE_S, parent: QObject | None = None
    ) -> None:
        self.poster = QtPoster(parent)
        super().__init__(doc, self.poster, debounce_s)
