"""The window's first trace, traced in a child process while the window is built.

`import torch` (1-2 s, holding the GIL) is most of the time to a window's first trace. In the
window's own process it can only start once the window has painted (started earlier, it
slowed the paint by as much and the trace came no sooner). A child process
(`rnnviz.engine.trace_child`) imports torch on the other core from the launch's first moment
and traces the first configuration; the runner's first trace job takes its Trace
(`Runner.adopt_first_trace`) and builds the Snapshot here, without torch. The window's own
torch import then starts once that trace is on screen.

The child runs the same `trace_spec` on the same lanes as the runner's job would
(`first_lanes`), so the record is the one the window would have made, bit for bit; a
partial one is finished in the window's process, as any partial trace is. If the child
fails, or the configuration changes before it answers, the job traces in-process as usual.
"""

from __future__ import annotations

from collections.abc import Callable

from rnnviz.config.budget import estimate
from rnnviz.config.options import RunOptions
from rnnviz.config.spec import Spec, SpecError
from rnnviz.document.document import TRACE, ResultKey
from rnnviz.document.jobs import JOBS, LOADING_TORCH, first_lanes
from rnnviz.document.snapshot import Snapshot, snapshot_of
from rnnviz.engine.trace_child import TraceChild

#: Estimated trace bytes above which the first trace is not sent between processes: the
#: pickle copies every array twice more, and so large a trace takes longer than the import.
CHILD_TRACE_BYTES = 64 << 20


class FirstTrace:
    """A child process's trace of one (spec, options) for the runner's first trace job."""

    def __init__(self, child: TraceChild, spec: Spec, options: RunOptions, focus: tuple[int, str]):
        self.child = child
        self.key = ResultKey(TRACE, spec, options)
        child.request(spec, options, first_lanes(spec, lambda: focus))
        #: Set once `wait` has returned a snapshot: the record came from the child.
        self.used = False
        #: The status line while the job waits: the child is loading torch, then tracing.
        self.status = LOADING_TORCH

    def wait(self, cancel: Callable[[], bool]) -> Snapshot | None:
        """The first trace's Snapshot once the child has sent it; None (the caller traces
        itself) if the child failed or `cancel()` turned true first."""
        trace = self.child.result(cancel)
        if trace is None:
            self.child.close()
            return None
        self.child.release()
        self.used = True
        return snapshot_of(self.key.spec, self.key.options, trace, trace.seconds)

    def close(self) -> None:
        """The trace is no longer wanted: end the child."""
        self.child.close()


def first_trace(
    child: TraceChild | None, spec: Spec, options: RunOptions, focus: tuple[int, str]
) -> FirstTrace | None:
    """Ask `child` for the first trace of (spec, options) with `focus` the lane on screen;
    None (and the child ended) when there is no child or the trace is too large to send
    (CHILD_TRACE_BYTES)."""
    if child is None:
        return None
    try:
        # The trace job's own check (the options, the memory budget in force): a child must
        # not trace what the window's runner refuses.
        JOBS[TRACE].check(spec, options)
    except SpecError:
        child.close()
        return None
    if estimate(spec, graph_nodes=False).total > CHILD_TRACE_BYTES:
        child.close()
        return None
    return FirstTrace(child, spec, options, focus)
