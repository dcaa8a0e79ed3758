"""A gate heatmap export from the window while lanes are pending: the dialog waits for the
runner's complete trace (off the GUI thread) and writes every lane verified, or says why it
cannot (cancelled, failed, refused, configuration changed) and writes nothing."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

import rnnviz.document.jobs as jobs
import rnnviz.document.snapshot as snapshot_module
from rnnviz.app.dialogs.export_dialog import ExportDialog
from rnnviz.app.qt_post import TraceRunner
from rnnviz.config.options import RunOptions
from rnnviz.config.spec import Spec
from rnnviz.document.document import GRAD, Document
from rnnviz.document.snapshot import compute_snapshot
from rnnviz.io.export import export_bytes

SPEC = Spec("lstm", 5, 6, 3, bidirectional=True, seq_len=8, batch_size=2)

pytestmark = [pytest.mark.gui, pytest.mark.filterwarnings("ignore::UserWarning")]


@pytest.fixture
def torch_threads(monkeypatch):
    """The thread of every compute_snapshot/complete_snapshot call from here on (the runner's
    job and export_bytes both look them up in their module when they run)."""
    seen: list[tuple[str, int]] = []
    compute, complete = snapshot_module.compute_snapshot, snapshot_module.complete_snapshot

    def computing(*args, **kwargs):
        seen.append(("compute", threading.get_ident()))
        return compute(*args, **kwargs)

    def completing(*args, **kwargs):
        seen.append(("complete", threading.get_ident()))
        return complete(*args, **kwargs)

    monkeypatch.setattr(snapshot_module, "compute_snapshot", computing)
    monkeypatch.setattr(snapshot_module, "complete_snapshot", completing)
    return seen


def test_a_gates_export_with_lanes_pending_waits_for_the_runner(
    qtbot, tmp_path, monkeypatch, torch_threads
):
    monkeypatch.setattr(jobs, "STREAM_MACS", 0)  # this small spec streams lane by lane
    state = Document(SPEC, RunOptions())
    # What the window holds after its trace job was cancelled: one lane verified of six.
    part = compute(SPEC, [(0, "fwd")])
    torch_threads.clear()
    state.set_snapshot(part)
    state.select(layer=2, direction="bwd", t=3)  # a lane still pending
    runner = TraceRunner(state)
    try:
        dialog = ExportDialog(state, directory=str(tmp_path))
        qtbot.addWidget(dialog)
        dialog.set_format("gates-svg")
        with qtbot.waitSignal(dialog.sigExported, timeout=60_000) as sig:
            qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
            assert dialog.waiting and not dialog.export_button.isEnabled()
            assert "Waiting for the trace" in dialog.message.text()
        qtbot.waitUntil(lambda: not runner.busy, timeout=60_000)
    finally:
        runner.shutdown()
    gui = threading.get_ident()
    # (b) torch ran on the runner's worker thread only, and it did complete lanes.
    assert torch_threads and all(ident != gui for _, ident in torch_threads), torch_threads
    # Only the five pending lanes, from the recorded forward: the trace is not run again.
    assert [what for what, _ in torch_threads] == ["complete"] * 5
    # (a) the file is the heatmaps of the complete trace, every lane verified.
    snap = state.snapshot
    assert snap.trace.complete and snap.trace.verified
    assert snap.trace.lanes_verified == snap.trace.lanes_total == 6
    data = Path(sig.args[0]).read_bytes()
    assert b"not recomputed" not in data
    full = compute(SPEC, "all")
    # ... of the lane the window showed (layer 2 bwd, pending when Export was pressed).
    want = export_bytes(SPEC, "gates-svg", snapshot=full, timestep=3, selection=state.selection)
    assert data == want
    assert b"layer 2 \xc2\xb7 backward" in data
    assert not dialog.waiting


def waiting_alone(qtbot, tmp_path) -> tuple[Document, ExportDialog]:
    """A gates-png export of a trace with one lane of six verified, waiting, with no runner:
    nothing lands by itself and nothing runs on this thread."""
    state = Document(SPEC, RunOptions())
    state.set_snapshot(compute(SPEC, [(0, "fwd")]))
    dialog = ExportDialog(state, directory=str(tmp_path))
    qtbot.addWidget(dialog)
    dialog.set_format("gates-png")
    assert not dialog.export()
    return state, dialog


def test_cancel_stops_waiting_and_writes_nothing(qtbot, tmp_path):
    state, dialog = waiting_alone(qtbot, tmp_path)
    assert dialog.waiting and not state.snapshot.trace.complete
    dialog.reject()
    assert not dialog.waiting and not list(tmp_path.iterdir())


@pytest.fixture
def waiting(qtbot, tmp_path, monkeypatch):
    """A window state holding a cancelled trace (one lane of six verified), its runner idle,
    and an export dialog on gates-svg; shuts the runner down after the test."""
    monkeypatch.setattr(jobs, "STREAM_MACS", 0)
    state = Document(SPEC, RunOptions())
    state.set_snapshot(compute(SPEC, [(0, "fwd")]))
    runners: list[TraceRunner] = []

    def open_dialog(*wanted: str) -> tuple[Document, TraceRunner, ExportDialog]:
        for kind in wanted:
            state.want(kind)
        runners.append(TraceRunner(state))
        dialog = ExportDialog(state, directory=str(tmp_path))
        qtbot.addWidget(dialog)
        dialog.set_format("gates-svg")
        return state, runners[-1], dialog

    yield open_dialog
    for runner in runners:
        runner.shutdown()


def ended(qtbot, dialog: ExportDialog, runner: TraceRunner) -> str:
    """Wait until the dialog stops waiting and the runner is idle; the dialog's message."""
    qtbot.waitUntil(lambda: not dialog.waiting and not runner.busy, timeout=60_000)
    assert dialog.export_button.isEnabled() and dialog.format_box.isEnabled()
    return dialog.message.text()


def test_an_export_waiting_while_gradients_are_missing_completes(qtbot, waiting):
    state, runner, dialog = waiting(GRAD)  # the Gradients tab is open, no result yet
    with qtbot.waitSignal(dialog.sigExported, timeout=60_000):
        assert not dialog.export()
    qtbot.waitUntil(lambda: not runner.busy, timeout=60_000)
    assert state.snapshot.trace.complete and state.result(GRAD) is not None


def test_a_refused_trace_ends_the_wait_and_says_why(qtbot, waiting, monkeypatch, tmp_path):
    state, runner, dialog = waiting()
    part = state.snapshot
    monkeypatch.setenv("RNNVIZ_MEMORY_BUDGET", "1K")
    assert not dialog.export()
    text = ended(qtbot, dialog, runner)
    assert "refused" in text and "memory budget" in text and "Nothing was written" in text
    assert state.snapshot is part and not list(tmp_path.iterdir())


def test_cancelling_the_trace_ends_the_wait_and_keeps_the_last_result(qtbot, waiting, tmp_path):
    state, runner, dialog = waiting()
    part = state.snapshot
    assert not dialog.export()
    state.cancel()  # the status bar's Cancel: through the document
    text = ended(qtbot, dialog, runner)
    assert "cancelled" in text and "Nothing was written" in text
    assert state.snapshot is part and not list(tmp_path.iterdir())


def test_an_edit_while_waiting_ends_the_wait_and_writes_nothing(qtbot, waiting, tmp_path):
    state, runner, dialog = waiting()
    assert not dialog.export()
    assert state.edit_spec(hidden_size=7)
    assert not dialog.waiting and "configuration changed" in dialog.message.text()
    qtbot.waitUntil(
        lambda: state.snapshot.spec.hidden_size == 7 and state.snapshot.trace.complete,
        timeout=60_000,
    )
    assert not list(tmp_path.iterdir())  # the new trace landing exports nothing


def test_another_trace_landing_ends_the_wait(qtbot, tmp_path):
    state, dialog = waiting_alone(qtbot, tmp_path)
    assert dialog.waiting
    other = SPEC.replace(hidden_size=4)
    state.set_snapshot(compute(other, "all"))  # e.g. a loaded trace replaces what is shown
    assert not dialog.waiting and "another configuration" in dialog.message.text()
    assert not list(tmp_path.iterdir())


def test_no_wait_when_the_window_is_on_another_configuration(qtbot, tmp_path):
    """The dialog exports the trace on screen, and the runner traces only the document's
    configuration: when the two differ, waiting could never end, so it says so at once."""
    state = Document(SPEC, RunOptions())
    state.set_snapshot(compute(SPEC, [(0, "fwd")]))
    assert state.edit_spec(hidden_size=7)  # e.g. its trace was refused by the budget
    dialog = ExportDialog(state, directory=str(tmp_path))
    qtbot.addWidget(dialog)
    dialog.set_format("gates-svg")
    assert not dialog.export() and not dialog.waiting
    assert "another configuration" in dialog.message.text()
    assert dialog.export_button.isEnabled() and not list(tmp_path.iterdir())


def compute(spec: Spec, lanes):
    """A snapshot of `spec` with `lanes` verified, computed by the test itself."""
    return compute_snapshot(spec, RunOptions(), lanes=lanes)
