"""The trace runner: edits become snapshots off the GUI thread; stale and cancelled runs vanish."""

from __future__ import annotations

import threading

from app_helpers import SLOW, SMALL, wait_traced

from rnnviz.app.qt_post import TraceRunner
from rnnviz.config.options import RunOptions
from rnnviz.document.document import Document


def test_edit_produces_snapshot_of_new_spec(qtbot, traced):
    state, runner = traced
    with qtbot.waitSignal(state.sigSnapshotChanged, timeout=60_000) as blocker:
        assert state.edit_spec(hidden_size=9)
    snap = blocker.args[0]
    assert snap.spec.hidden_size == 9
    assert state.snapshot is snap
    assert snap.trace.verified
    assert snap.trace.gates[(0, "fwd", "h")].shape == (6, 1, 9)


def test_stale_results_are_dropped(qtbot, traced):
    state, runner = traced
    landed = []
    state.sigSnapshotChanged.connect(landed.append)
    # Each start_now supersedes the one before (no debounce), so all but the last are stale.
    for h in (7, 8, 9, 10, 11):
        state.edit_spec(hidden_size=h)
        runner.start_now()
    state.edit_spec(seq_len=4)
    runner.start_now()
    wait_traced(qtbot, runner)
    assert [s.spec for s in landed] == [SMALL.replace(hidden_size=11, seq_len=4)]
    assert state.snapshot.spec == state.spec


def test_debounce_merges_a_burst_of_edits(qtbot, traced):
    state, runner = traced
    landed = []
    state.sigSnapshotChanged.connect(landed.append)
    for h in range(7, 15):
        state.edit_spec(hidden_size=h)
    wait_traced(qtbot, runner)
    assert [s.spec.hidden_size for s in landed] == [14]


def test_cancel_keeps_last_snapshot(qtbot, traced):
    state, runner = traced
    before = state.snapshot
    messages, busy = [], []
    state.sigStatus.connect(messages.append)
    state.sigJobChanged.connect(lambda job: busy.append(job.text))
    state.set_spec(SLOW)
    runner.start_now()
    assert runner.busy and "tracing LSTM(64, 256, num_layers=2)" in busy[-1]
    state.cancel()  # the Cancel button's path: through the document
    wait_traced(qtbot, runner)
    assert state.snapshot is before
    assert busy[-1] == ""
    assert any("cancelled" in m for m in messages)
    # A later edit traces normally again.
    with qtbot.waitSignal(state.sigSnapshotChanged, timeout=60_000):
        state.set_spec(SMALL.replace(hidden_size=4))
    assert state.snapshot.spec.hidden_size == 4


def test_over_budget_is_refused_like_a_spec_error(qtbot, traced, monkeypatch):
    state, runner = traced
    before = state.snapshot
    monkeypatch.setenv("RNNVIZ_MEMORY_BUDGET", "1M")
    errors = []
    state.sigSpecError.connect(lambda f, m: errors.append((f, m)))
    state.edit_spec(hidden_size=512, seq_len=400)
    wait_traced(qtbot, runner)
    assert errors and errors[-1][0] == "size" and "memory budget" in errors[-1][1]
    assert state.snapshot is before


def test_shutdown_mid_trace_joins_the_worker(qtbot):
    state = Document(SLOW, RunOptions())
    runner = TraceRunner(state)
    runner.start_now()
    qtbot.waitUntil(lambda: state.job.progress > 0, timeout=60_000)
    workers = [t for t in threading.enumerate() if t.name.startswith("rnnviz-trace")]
    assert workers
    runner.shutdown()
    assert not any(t.is_alive() for t in workers)
    assert state.snapshot is None
    assert runner.start_now() == 0  # refuses work after shutdown


def test_first_edit_after_a_pause_starts_at_once(qtbot, traced):
    from PySide6.QtCore import QCoreApplication

    state, runner = traced
    state.edit_spec(hidden_size=9)
    QCoreApplication.processEvents()  # one turn of the loop, far less than the debounce time
    assert runner._running, "the leading edit waited for the debounce timer"
    state.edit_spec(hidden_size=10)  # inside the burst: waits for the quiet spell
    QCoreApplication.processEvents()
    assert runner._pending and runner._timer  # waits for the quiet spell, not started
    wait_traced(qtbot, runner)
    assert state.snapshot.spec.hidden_size == 10
