"""The runner's debounce timer: one thread that posts a callback once a deadline passes (no Qt)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

#: Runs a function on the document's thread (see rnnviz.document.runner).
Post = Callable[[Callable[[], None]], None]


class Alarm:
    """One lazily started thread that posts a callback once a deadline passes.

    A `threading.Timer` per edit would start a thread per keystroke; this one thread sleeps
    on a condition until the newest deadline, and is joined on `close`."""

    def __init__(self, post: Post) -> None:
        self._post = post
        self._cond = threading.Condition()
        self._deadline: float | None = None
        self._callback: Callable[[], None] | None = None
        self._closed = False
        self._thread: threading.Thread | None = None

    def set(self, delay: float, callback: Callable[[], None]) -> None:
        """Post `callback` after `delay` seconds, replacing any pending one."""
        with self._cond:
            self._deadline = time.monotonic() + delay
            self._callback = callback
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="rnnviz-debounce", daemon=True
                )
                self._thread.start()
            self._cond.notify()

    def clear(self) -> None:
        """Forget the pending callback."""
        with self._cond:
            self._deadline = self._callback = None
            self._cond.notify()

    def close(self) -> None:
        """Stop the thread and join it; nothing is posted afterwards."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join()

    def _loop(self) -> None:
        with self._cond:
            while not self._closed:
                if self._deadline is None:
                    self._cond.wait()
                    continue
                left = self._deadline - time.monotonic()
                if left > 0:
                    self._cond.wait(left)
                    continue
                callback, self._deadline, self._callback = self._callback, None, None
                if callback is not None:
                    self._post(callback)
