"""The window verifies the lane on screen first and the other lanes arrive after; a lane not
verified yet is never drawn as if it were, and selecting it gets it computed."""

from __future__ import annotations

import pytest
from app_helpers import front

import rnnviz.document.jobs as jobs
from rnnviz.app.views.status import badge_text
from rnnviz.config.options import RunOptions
from rnnviz.config.spec import Spec
from rnnviz.document.document import Document
from rnnviz.engine.tracing import trace_spec

SPEC = Spec("lstm", 5, 6, 3, bidirectional=True, seq_len=8, batch_size=2)

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture
def streaming(monkeypatch):
    """Every spec streams (the default threshold keeps small specs in one piece)."""
    monkeypatch.setattr(jobs, "STREAM_MACS", 0)


def test_the_selected_lane_comes_first_and_the_others_arrive(qtbot, streaming):
    from rnnviz.app.window import MainWindow

    state = Document(SPEC, RunOptions())
    state.set_spec(SPEC, RunOptions(), {"layer": 2, "direction": "bwd"})
    win = MainWindow(state)
    win.persist = False
    qtbot.addWidget(win)
    win.show()
    front(win, win.gate_view)  # drawn from the first result on (a hidden tab draws nothing)
    landed = []
    badges = []
    drawn = []

    def on_snapshot(snap):
        landed.append(snap.trace)
        badges.append(win.status.badge.text())
        drawn.append(win.gate_view.image_updates)

    # Connected after the views: each entry records what the window showed for that trace.
    state.sigSnapshotChanged.connect(on_snapshot)
    win.runner.start_now()
    qtbot.waitUntil(
        lambda: bool(landed) and landed[-1].complete and not win.runner.busy, timeout=60_000
    )
    first, last = landed[0], landed[-1]
    assert first.verified_lanes == {(2, "bwd")}  # the lane on screen, alone, first
    assert not first.verified
    assert badges[0].startswith("verified 1 of 6 lanes (layer 2 bwd)")
    assert "matches torch" not in badges[0]
    assert last.complete and last.verified and badges[-1].startswith("matches torch")
    # The window's result is the full trace, bit for bit.
    full = trace_spec(SPEC)
    for key, arr in full.gates.items():
        assert (last.gates[key] == arr).all(), key
    # The gate view drew the selected lane from the first result on, and did not redraw it
    # when the other lanes landed (the same arrays).
    assert win.gate_view.stack.currentWidget() is win.gate_view.canvas
    assert len(drawn) >= 2 and drawn[-1] == drawn[0]
    win.close()


def test_a_pending_lane_is_shown_as_not_recomputed_and_then_drawn(qtbot, streaming):
    from rnnviz.app.views.equations_view import EquationsView
    from rnnviz.app.views.gate_view import GateView
    from rnnviz.document.snapshot import compute_snapshot

    state = Document(SPEC, RunOptions())
    part = compute_snapshot(SPEC, lanes=[(0, "fwd")])
    state.set_snapshot(part)
    gates = GateView(state)
    eqs = EquationsView(state)
    qtbot.addWidget(gates)
    qtbot.addWidget(eqs)
    gates.show()
    eqs.show()
    assert gates.stack.currentWidget() is gates.canvas
    asked = []
    state.sigWantedChanged.connect(lambda: asked.append(True))
    state.select(layer=1, direction="bwd")
    assert gates.stack.currentWidget() is gates.placeholder
    assert "not recomputed yet" in gates.placeholder.text()
    assert "verified 1 of 6 lanes (layer 0 fwd)" in gates.placeholder.text()
    assert gates.data == {}  # nothing of another lane left to hover or caption
    assert "not recomputed yet" in eqs.text() and eqs.lines == []
    assert asked  # nothing was running: the view asked for the lane
    # The status badge is neither green "matches" nor red "DIFFERS" for a partial trace.
    text = badge_text(part.trace)
    assert "matches torch" not in text and "DIFFERS" not in text
    # The lane lands: both views draw it.
    from rnnviz.document.snapshot import complete_snapshot

    state.set_snapshot(complete_snapshot(part, [(1, "bwd")]))
    assert gates.stack.currentWidget() is gates.canvas
    assert set(gates.data) == set(SPEC.trace_gates)
    assert eqs.lines
