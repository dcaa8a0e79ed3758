"""How many threads torch may use for a run: one for small runs, all for large ones.

A small trace's kernels are too short to share between threads, and a second spinning OpenMP
thread competes with the GUI thread for the other core. Measured here: a default-size trace
took 8–40 ms on two OpenMP threads while the GUI thread painted on the other core, and 5–9 ms
on one; large traces keep every thread. The setting is process-wide, so it belongs to the
engine that runs torch, not to the window.
"""

from __future__ import annotations

from rnnviz.config.spec import Spec

#: Multiply-accumulates of a forward pass below which a run uses one torch thread.
ONE_THREAD_MACS = 5e7

_DEFAULT_THREADS: list[int] = []


def default_threads() -> int:
    """torch's own intra-op thread count, read once, before rnnviz sets any. Every thread
    that sets a count calls this first: a thread that has not used torch yet inherits the
    count last set by any thread (the training lane's 1), so reading it afterwards on the
    trace lane would record 1 as the default."""
    import torch

    if not _DEFAULT_THREADS:
        _DEFAULT_THREADS.append(torch.get_num_threads())
    return _DEFAULT_THREADS[0]


def threads_for(spec: Spec) -> int:
    """How many intra-op threads torch gets for running `spec` (see the module's docstring):
    1 below ONE_THREAD_MACS, else as many as torch had before rnnviz first set any."""
    default = default_threads()
    return 1 if spec.macs < ONE_THREAD_MACS else default


def set_threads_for(spec: Spec) -> int:
    """Set torch's intra-op threads for running `spec` (`threads_for`); returns the number set."""
    import torch

    want = threads_for(spec)
    if torch.get_num_threads() != want:
        torch.set_num_threads(want)
    return want
