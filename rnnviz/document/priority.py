"""The worker threads' scheduling priority: below the GUI thread's, so a long trace on every
core leaves the window responsive."""

from __future__ import annotations

import threading

#: How much nicer than the caller the worker threads run (Linux; elsewhere skipped). torch's OpenMP
#: threads are made by the worker that first runs an op and inherit its niceness, so a trace
#: on both cores then yields to the GUI thread (and to the X server) when they need a core,
#: instead of sharing it evenly: the window stays responsive during a long trace.
WORKER_NICE = 5


def background_priority() -> None:
    """Lower the calling thread's scheduling priority by WORKER_NICE (a thread pool's
    initializer). Only Linux has per-thread niceness through setpriority; raising it needs no
    privilege, and a failure leaves the thread as it was."""
    import os
    import sys

    if sys.platform.startswith("linux"):
        try:
            tid = threading.get_native_id()
            # Relative to the thread's own niceness: a process started with `nice` stays
            # below it, and lowering priority never needs a privilege.
            os.setpriority(
                os.PRIO_PROCESS, tid, min(os.getpriority(os.PRIO_PROCESS, tid) + WORKER_NICE, 19)
            )
        except OSError:
            pass
