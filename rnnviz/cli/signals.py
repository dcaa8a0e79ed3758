"""Signals for the command line: an interrupted command cleans up and says one line.

SIGTERM and SIGHUP are turned into an `Interrupted` exception (SIGINT into KeyboardInterrupt,
as Python's own handler does), so every `finally`/`except BaseException` on the way out runs — in
particular `rnnviz.io.atomic.atomic_open` removes its temporary file, which for a big
`trace --out` can be gigabytes. `main` turns either into one line and status 128 + signal
(130 for Ctrl-C), as shells do.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from types import FrameType

from rnnviz.io.atomic import raise_when_safe

#: The catchable signals that end a command by default (SIGINT is Python's KeyboardInterrupt).
CLEANUP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class Interrupted(BaseException):
    """A terminating signal arrived; raised from the handler so cleanup code runs.

    A BaseException, like KeyboardInterrupt, so `except Exception` does not swallow it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def name(self) -> str:
        """The signal's name, e.g. 'SIGTERM'."""
        return signal.Signals(self.signum).name


def _raise(signum: int, frame: FrameType | None) -> None:
    raise_when_safe(KeyboardInterrupt() if signum == signal.SIGINT else Interrupted(signum))


@contextlib.contextmanager
def cleanup_on_signals() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise `Interrupted` and SIGINT KeyboardInterrupt
    (as Python's own handler does), each held while a temporary file is being created (see
    `rnnviz.io.atomic.raise_when_safe`); handlers are restored after. Outside the main thread
    (embedded use) signals are left alone, and so is a SIGINT someone else handles."""
    previous = {}
    try:
        for sig in CLEANUP_SIGNALS:
            previous[sig] = signal.signal(sig, _raise)
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            previous[signal.SIGINT] = signal.signal(signal.SIGINT, _raise)
    except ValueError:  # not the main thread
        pass
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
