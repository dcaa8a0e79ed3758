"""Progress and cancellation for long runs: the callbacks the runner passes and the meter that
checks them between chunks of work. No torch here, so the runner can import it cheaply."""

from __future__ import annotations

from collections.abc import Callable


class Cancelled(Exception):
    """The caller's `cancel()` returned True; the trace was abandoned between chunks."""


Progress = Callable[[float], None]
Cancel = Callable[[], bool]


class Meter:
    """Progress in [0, 1] over a known number of units, and the cancellation check."""

    def __init__(self, units: int, progress: Progress | None, cancel: Cancel | None) -> None:
        self.units, self.done = max(units, 1), 0
        self.progress, self.cancel = progress, cancel

    def tick(self) -> None:
        """One unit of work done: check for a cancel, report progress."""
        self.done += 1
        self.check()
        if self.progress is not None:
            self.progress(min(self.done / self.units, 1.0))

    def check(self) -> None:
        """Raise Cancelled if asked to; costs nothing to call between any two pieces of work."""
        if self.cancel is not None and self.cancel():
            raise Cancelled()
