"""The document, its jobs and the runner, without Qt: plain Python, psygnal events, real torch.

A queue stands in for the GUI thread's event loop: the runner posts every change of the
document to it, and `pump` runs what was posted on the test's own thread, as the Qt adapter
does on the GUI thread. `test_runs_without_qt` runs this file again in a fresh interpreter
with no Qt plugin and asserts, after every test, that PySide6 was never imported.
"""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

import pytest

from rnnviz.config.options import RunOptions
from rnnviz.config.spec import Spec
from rnnviz.document.document import TRACE, Document, ResultKey
from rnnviz.document.jobs import JOBS, Job
from rnnviz.document.runner import Runner
from rnnviz.document.selection import Selection

SMALL = Spec("lstm", 3, 4, num_layers=2, bidirectional=True, seq_len=5, batch_size=2)
SLOW = Spec("lstm", 64, 256, num_layers=2, seq_len=3000, batch_size=4)
_NO_QT = os.environ.get("RNNVIZ_ASSERT_NO_QT") == "1"


@pytest.fixture(autouse=True)
def _no_qt_loaded():
    yield
    if _NO_QT:
        assert not [m for m in sys.modules if m.split(".")[0] in ("PySide6", "shiboken6")]


class Loop:
    """The poster and a pump: what the runner posts runs here, on the test's thread."""

    def __init__(self) -> None:
        self.q: queue.Queue = queue.Queue()

    def __call__(self, fn) -> None:
        self.q.put(fn)

    def pump(self, until, timeout: float = 60.0) -> None:
        end = time.monotonic() + timeout
        while not until():
            if time.monotonic() > end:
                raise TimeoutError("the runner did not get there in time")
            with contextlib.suppress(queue.Empty):
                self.q.get(timeout=0.05)()


@pytest.fixture
def doc_runner():
    doc = Document(SMALL, RunOptions())
    loop = Loop()
    runner = Runner(doc, loop, debounce_s=0.05)
    yield doc, runner, loop
    runner.shutdown()


# ---- the document alone ----------------------------------------------------------------------
def test_edits_emit_and_refusals_keep_the_spec():
    doc = Document(SMALL)
    changed, errors = [], []
    doc.sigSpecChanged.connect(changed.append)
    doc.sigSpecError.connect(lambda f, m: errors.append((f, m)))
    assert doc.edit_spec(hidden_size=7)
    assert changed == [SMALL.replace(hidden_size=7)]
    assert not doc.edit_spec(proj_size=7)  # proj_size must be < hidden_size
    assert doc.spec.hidden_size == 7 and doc.spec.proj_size == 0
    assert errors[-1][0] == "proj_size" and errors[-1][1]
    assert doc.edit_spec(hidden_size=8)
    assert errors[-1] == ("", "")  # an accepted edit clears the error


def test_a_landed_trace_updates_views_once_with_the_selection_clamped():
    from rnnviz.document.snapshot import compute_snapshot

    doc = Document(SMALL.replace(seq_len=9))
    doc.select(t=8, layer=1, direction="bwd")
    snap = compute_snapshot(SMALL, RunOptions())  # 5 steps: t=8 no longer exists
    events = []
    doc.sigSnapshotChanged.connect(lambda s: events.append(("snap", doc.selection)))
    doc.sigSelectionChanged.connect(lambda s: events.append(("sel", s)))
    doc.set_snapshot(snap)
    # One event, and the selection it reads is already clamped into the new trace.
    assert events == [("snap", Selection(layer=1, direction="bwd", t=4))]
    assert doc.result(TRACE) is None  # the document's spec (9 steps) is not what landed
    assert doc.results[ResultKey(TRACE, SMALL, RunOptions())] is snap


def test_a_session_selection_survives_until_its_trace_lands():
    from rnnviz.document.snapshot import compute_snapshot

    doc = Document(SMALL)
    doc.set_snapshot(compute_snapshot(SMALL, RunOptions()))
    longer = SMALL.replace(seq_len=40)
    doc.set_spec(longer, RunOptions(), {"t": 33, "batch": 1})
    assert doc.selection.t == 33 and doc.selection.batch == 1  # not clamped to the 5-step trace
    doc.set_snapshot(compute_snapshot(longer, RunOptions()))
    assert doc.selection.t == 33


def test_wanted_kinds_are_counted_per_view():
    doc = Document(SMALL)
    assert doc.wanted() == (TRACE,) and doc.missing() == (TRACE,)
    doc.want("grad")
    doc.want("grad")
    doc.want("grad", False)
    assert doc.wanted() == (TRACE, "grad")
    doc.want("grad", False)
    assert doc.wanted() == (TRACE,)


def test_cancel_goes_through_the_document():
    doc = Document(SMALL)
    asked = []
    doc.sigCancelRequested.connect(lambda: asked.append(True))
    doc.set_job("tracing …", 0.5)
    doc.cancel()
    assert asked == [True] and doc.job.cancelling and doc.job.running
    doc.set_job("")
    assert not doc.job.running and not doc.job.cancelling


# ---- the runner ---------------------------------------------------------------------------
def test_an_edit_is_traced_off_thread_and_lands_through_the_poster(doc_runner):
    doc, runner, loop = doc_runner
    threads = []
    doc.sigSnapshotChanged.connect(lambda s: threads.append(threading.current_thread()))
    doc.edit_spec(hidden_size=5)
    loop.pump(lambda: doc.snapshot is not None and not runner.busy)
    assert doc.snapshot.spec == SMALL.replace(hidden_size=5)
    assert doc.snapshot.trace.verified
    assert threads == [threading.current_thread()]  # delivered on the document's thread
    assert doc.result(TRACE) is doc.snapshot
    assert doc.job == type(doc.job)()  # idle again


def test_stale_results_are_dropped(doc_runner):
    doc, runner, loop = doc_runner
    landed = []
    doc.sigSnapshotChanged.connect(landed.append)
    for h in (5, 6, 7, 8):
        doc.edit_spec(hidden_size=h)
        runner.start_now()
    loop.pump(lambda: not runner.busy)
    assert [s.spec.hidden_size for s in landed] == [8]


def test_a_burst_of_edits_is_debounced_to_its_last(doc_runner):
    doc, runner, loop = doc_runner
    landed = []
    doc.sigSnapshotChanged.connect(landed.append)
    for h in range(5, 12):
        doc.edit_spec(hidden_size=h)
    loop.pump(lambda: not runner.busy)
    assert landed[-1].spec.hidden_size == 11
    assert len(landed) <= 2  # the leading edit may land, then only the last of the burst


def test_cancel_keeps_the_last_result_and_says_so(doc_runner):
    doc, runner, loop = doc_runner
    runner.start_now()
    loop.pump(lambda: doc.snapshot is not None and not runner.busy)
    good = doc.snapshot
    notices = []
    doc.sigStatus.connect(notices.append)
    doc.set_spec(SLOW)
    runner.start_now()
    loop.pump(lambda: doc.job.progress > 0)
    doc.cancel()
    loop.pump(lambda: not runner.busy)
    assert doc.snapshot is good
    assert any("cancelled" in n for n in notices)
    assert not doc.job.running


def test_over_budget_is_refused_before_any_work(doc_runner, monkeypatch):
    doc, runner, loop = doc_runner
    monkeypatch.setenv("RNNVIZ_MEMORY_BUDGET", "1M")
    errors = []
    doc.sigSpecError.connect(lambda f, m: errors.append((f, m)))
    doc.edit_spec(hidden_size=512, seq_len=400)
    loop.pump(lambda: not runner.busy)
    assert errors and "memory budget" in errors[-1][1]
    assert doc.snapshot is None


@dataclass
class _Counter:
    calls: int = 0


def test_only_wanted_kinds_are_computed():
    doc = Document(SMALL)
    loop = Loop()
    counter = _Counter()

    def run_extra(spec, options, progress, cancel):
        counter.calls += 1
        progress(1.0)
        return ("extra", spec.hidden_size)

    jobs = dict(JOBS, extra=Job(lambda s, o: None, lambda s, o: "extra …", run_extra))
    runner = Runner(doc, loop, debounce_s=0.05, jobs=jobs)
    try:
        doc.edit_spec(hidden_size=5)
        loop.pump(lambda: doc.snapshot is not None and not runner.busy)
        assert counter.calls == 0  # no open view wants "extra"
        doc.want("extra")  # a view opens: the missing result is computed
        loop.pump(lambda: doc.result("extra") is not None and not runner.busy)
        assert doc.result("extra") == ("extra", 5) and counter.calls == 1
        doc.want("extra", False)  # and closes: edits compute only the trace
        doc.edit_spec(hidden_size=6)
        loop.pump(lambda: doc.snapshot.spec.hidden_size == 6 and not runner.busy)
        assert counter.calls == 1
    finally:
        runner.shutdown()


def test_shutdown_joins_every_thread():
    doc = Document(SLOW)
    loop = Loop()
    runner = Runner(doc, loop, debounce_s=0.05)
    runner.start_now()
    loop.pump(lambda: doc.job.progress > 0)
    workers = [t for t in threading.enumerate() if t.name.startswith("rnnviz-")]
    runner.shutdown()
    assert workers and not any(t.is_alive() for t in workers)
    assert runner.start_now() == 0


@pytest.mark.skipif(_NO_QT, reason="this is the run it starts")
def test_runs_without_qt():
    env = dict(os.environ, RNNVIZ_ASSERT_NO_QT="1")
    env.pop("QT_QPA_PLATFORM", None)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            __file__,
            "-q",
            "-p",
            "no:pytest-qt",
            "-p",
            "no:cacheprovider",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and "failed" not in proc.stdout


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread niceness is Linux's")
def test_workers_run_below_the_gui_threads_priority():
    """Every worker thread (the trace lane and another lane) runs at WORKER_NICE, so torch's
    OpenMP threads, made by the worker and inheriting its niceness, yield a core to the GUI
    thread during a long trace; the caller's own thread keeps its priority."""
    from rnnviz.document.priority import WORKER_NICE

    doc = Document(SMALL)
    loop = Loop()
    seen: dict[str, int] = {}

    def nice_of_worker(kind):
        def run(spec, options, progress, cancel):
            seen[kind] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
            progress(1.0)
            return kind

        return run

    jobs = dict(
        JOBS,
        on_trace_lane=Job(lambda s, o: None, lambda s, o: "…", nice_of_worker("trace lane")),
        on_own_lane=Job(lambda s, o: None, lambda s, o: "…", nice_of_worker("own"), lane="own"),
    )
    before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    runner = Runner(doc, loop, debounce_s=0.05, jobs=jobs)
    try:
        doc.want("on_trace_lane")
        doc.want("on_own_lane")
        doc.edit_spec(hidden_size=5)
        loop.pump(lambda: len(seen) == 2 and not runner.busy)
    finally:
        runner.shutdown()
    want = min(before + WORKER_NICE, 19)
    assert seen == {"trace lane": want, "own": want}
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == before


def test_a_held_runner_starts_nothing_until_released(doc_runner):
    """The window's launch holds the first trace until the window has painted: edits and
    asks made meanwhile, and a start already posted, wait for `release`, then run once."""
    doc, runner, loop = doc_runner
    landed = []
    doc.sigSnapshotChanged.connect(landed.append)
    runner.schedule()  # a start posted before the hold, as the window's set-up posts one
    runner.hold()
    doc.edit_spec(hidden_size=5)
    doc.edit_spec(hidden_size=6)
    time.sleep(3 * runner._debounce_s)  # longer than any debounce the runner might wait
    with contextlib.suppress(queue.Empty):
        while True:
            loop.q.get_nowait()()
    assert not landed and not doc.job.running and not runner.busy
    runner.release()
    loop.pump(lambda: bool(landed) and not runner.busy)
    assert [s.spec.hidden_size for s in landed] == [6]


TORCH_LOADED_PROBE = """
import sys, threading
from rnnviz.document.jobs import torch_loaded
before = torch_loaded()
importer = threading.Thread(target=__import__, args=("torch",))
importer.start()
while "torch" not in sys.modules:
    pass
during = torch_loaded()  # in sys.modules at once, but still being imported
importer.join()
print(before, during, torch_loaded())
"""


def test_torch_counts_as_loaded_only_once_its_import_has_finished():
    out = subprocess.run(
        [sys.executable, "-c", TORCH_LOADED_PROBE],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout.split()
    assert out == ["False", "False", "True"]


def test_a_sessions_first_trace_says_it_loads_torch_then_that_it_traces(monkeypatch):
    """While torch's import runs (the window starts it once it has painted), the status
    line says so instead of "tracing"; then it says what it traces, then the result lands."""
    from rnnviz.document import jobs

    monkeypatch.setattr(jobs, "torch_loaded", lambda: False)
    stream = jobs.JOBS[TRACE].stream
    assert stream is not None
    steps = list(stream(SMALL, RunOptions(), lambda p: None, lambda: False, lambda: (0, "fwd")))
    assert steps[0] == (None, jobs.LOADING_TORCH)
    assert steps[1] == (None, jobs._describe_trace(SMALL, RunOptions()))
    assert steps[-1][0] is not None and steps[-1][0].trace.complete
