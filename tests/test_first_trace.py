"""The window's first trace made in a child process (rnnviz.document.first_trace): the runner's
first trace job takes it instead of tracing, the record is the one it would have made bit for
bit (a partial one finished here as any partial trace), and anything else — another key, a
failed child, a cancel — leaves the job to trace in this process as before."""

from __future__ import annotations

import shutil

import pytest
from test_lanes import assert_same_trace

from rnnviz.config.options import RunOptions
from rnnviz.config.spec import Spec
from rnnviz.document.document import TRACE, Document
from rnnviz.document.first_trace import CHILD_TRACE_BYTES, first_trace
from rnnviz.document.jobs import LOADING_TORCH
from rnnviz.engine.threads import set_threads_for
from rnnviz.engine.trace_child import TraceChild
from rnnviz.engine.tracing import trace_spec

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

SPEC = Spec("lstm", 5, 6, 3, bidirectional=True, seq_len=8, batch_size=2)


def _full(spec: Spec, options: RunOptions):
    set_threads_for(spec)
    return trace_spec(spec, options)


def _adopted(runs, options: RunOptions, focus=(0, "fwd"), child=None):
    """A document, its runner (held by the test's loop) and the FirstTrace it adopted, from
    `child` (default: a real one) asked for SPEC under `options` with `focus` on screen."""
    doc = Document(SPEC, options)
    first = first_trace(child or TraceChild.start(), doc.spec, doc.options, focus)
    assert first is not None
    runner, loop = runs(doc)
    runner.adopt_first_trace(first)
    return doc, first, runner, loop


def test_the_first_trace_job_takes_the_childs_whole_trace(runs):
    doc, first, runner, loop = _adopted(runs, RunOptions(seed=3))
    lines = []
    doc.sigJobChanged.connect(lambda *_: lines.append(doc.job.text))
    doc.want(TRACE)
    loop.pump(lambda: doc.snapshot is not None and not runner.busy)
    assert first.used
    # While it waits, the line says what for (the child's torch import), not "tracing".
    assert LOADING_TORCH in lines and lines[-1] == ""
    assert doc.snapshot.trace.complete
    assert_same_trace(doc.snapshot.trace, _full(SPEC, RunOptions(seed=3)))
    assert doc.snapshot.graph.number_of_nodes() > 0 and doc.snapshot.report is not None


def test_a_partial_first_trace_shows_at_once_and_is_finished_here(calls, runs):
    # `calls` streams every spec lane by lane (STREAM_MACS 0): the child verifies the lane
    # on screen only, and the runner verifies the other five from its recorded forward.
    doc, first, runner, loop = _adopted(runs, RunOptions(), (2, "bwd"))
    shown = []
    doc.sigSnapshotChanged.connect(shown.append)
    doc.want(TRACE)
    loop.pump(lambda: doc.snapshot is not None and doc.snapshot.trace.complete and not runner.busy)
    assert first.used
    assert "compute" not in calls and calls.count("complete") == 5
    assert shown[0].trace.verified_lanes == {(2, "bwd")}  # the child's record, shown first
    assert_same_trace(doc.snapshot.trace, _full(SPEC, RunOptions()))


def test_a_first_trace_of_another_configuration_is_dropped(calls, runs):
    doc, first, runner, loop = _adopted(runs, RunOptions())
    doc.edit_spec(hidden_size=7)  # before the job starts: the child's trace is of hidden 6
    doc.want(TRACE)
    loop.pump(lambda: doc.snapshot is not None and doc.snapshot.trace.complete and not runner.busy)
    assert not first.used and first.child._proc.poll() is not None  # ended, not waited for
    assert doc.snapshot.spec.hidden_size == 7 and calls[0] == "compute"


def test_a_failed_child_leaves_the_job_to_trace_here(runs):
    false = shutil.which("false")
    assert false is not None
    doc, first, runner, loop = _adopted(runs, RunOptions(), child=TraceChild.start(false))
    doc.want(TRACE)
    loop.pump(lambda: doc.snapshot is not None and doc.snapshot.trace.complete and not runner.busy)
    assert not first.used and "exit status 1" in first.child.error
    assert_same_trace(doc.snapshot.trace, _full(SPEC, RunOptions()))


def big_bytes(spec: Spec) -> int:
    from rnnviz.config.budget import estimate

    return estimate(spec, graph_nodes=False).total


def test_a_trace_too_large_to_send_is_not_asked_of_the_child():
    child = TraceChild.start()
    assert child is not None
    big = Spec("lstm", 512, 1024, 4, bidirectional=True, seq_len=1000, batch_size=8)
    assert first_trace(child, big, RunOptions(), (0, "fwd")) is None
    assert child._proc.wait(timeout=10) != 0  # ended (killed), not left tracing
    assert big_bytes(big) > CHILD_TRACE_BYTES


def test_shutting_down_ends_an_unused_child(runs):
    _, first, runner, _ = _adopted(runs, RunOptions())
    runner.shutdown()  # the window closed before its first trace
    assert first.child._proc.poll() is not None and not first.used


def test_a_first_trace_the_budget_refuses_is_not_asked_of_the_child():
    from rnnviz.config.budget import budget_limit

    child = TraceChild.start()
    assert child is not None
    with budget_limit(1 << 20):  # 1 MiB: the runner refuses this spec, so must the child
        big = Spec("lstm", 64, 256, 2, bidirectional=True, seq_len=200, batch_size=4)
        assert first_trace(child, big, RunOptions(), (0, "fwd")) is None
    assert child._proc.wait(timeout=10) != 0  # ended (killed), not left tracing


def test_a_failing_adopted_trace_leaves_the_job_to_trace_here(runs):
    class Broken:
        key = None
        status = "loading torch (once a session) …"

        def wait(self, cancel):
            raise RuntimeError("building the snapshot failed")

        def close(self):
            pass

    doc = Document(SPEC, RunOptions())
    runner, loop = runs(doc)
    broken = Broken()
    broken.key = doc.key(TRACE)
    runner.adopt_first_trace(broken)
    doc.want(TRACE)
    loop.pump(lambda: doc.snapshot is not None and doc.snapshot.trace.complete and not runner.busy)
    assert_same_trace(doc.snapshot.trace, _full(SPEC, RunOptions()))
