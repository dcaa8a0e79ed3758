"""A gate heatmap export from the window while lanes are pending: the dialog waits for the
runner's complete trace (off the GUI thread) and writes every lane verified."""

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
from rnnviz.document.document import Document
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
    assert any(what == "complete" for what, _ in torch_threads)
    # (a) the file is the heatmaps of the complete trace, every lane verified.
    snap = state.snapshot
    assert snap.trace.complete and snap.trace.verified
    assert snap.trace.lanes_verified == snap.trace.lanes_total == 6
    data = Path(sig.args[0]).read_bytes()
    assert b"not recomputed" not in data
    full = compute(SPEC, "all")
    assert data == export_bytes(SPEC, "gates-svg", snapshot=full, timestep=3)
    assert not dialog.waiting


def test_cancel_stops_waiting_and_writes_nothing(qtbot, tmp_path):
    state = Document(SPEC, RunOptions())
    state.set_snapshot(compute(SPEC, [(0, "fwd")]))
    dialog = ExportDialog(state, directory=str(tmp_path))
    qtbot.addWidget(dialog)
    dialog.set_format("gates-png")
    assert not dialog.export()  # no runner here: it waits, and nothing runs on this thread
    assert dialog.waiting and not state.snapshot.trace.complete
    dialog.reject()
    assert not dialog.waiting and not list(tmp_path.iterdir())


def compute(spec: Spec, lanes):
    """A snapshot of `spec` with `lanes` verified, computed by the test itself."""
    return compute_snapshot(spec, RunOptions(), lanes=lanes)
