"""A view behind another tab draws nothing until it is shown, then shows the present: the
window's latencies do not pay for views nobody sees, and nothing shown is stale."""

from __future__ import annotations

import numpy as np
from app_helpers import front, wait_traced


def test_hidden_tabs_draw_nothing_then_catch_up(qtbot, window):
    gates, eqs, shapes = window.gate_view, window.equations_view, window.shapes_view
    front(window, window.graph_view)
    assert not gates.isVisible() and not eqs.isVisible()
    updates = gates.image_updates
    window.state.select(layer=1, direction="bwd", t=4, unit=2)
    with qtbot.waitSignal(window.state.sigSnapshotChanged, timeout=60_000):
        window.config_panel.widgets["hidden_size"].setValue(7)
        window.runner.start_now()
    wait_traced(qtbot, window.runner)
    assert gates.image_updates == updates  # neither the step nor the new trace drew
    assert "h_n" not in shapes.tensor_cells()  # never shown yet: no table filled
    front(window, gates)
    snap = window.state.snapshot
    assert snap.spec.hidden_size == 7
    np.testing.assert_array_equal(
        gates.images["f"].image, snap.trace.gates[(1, "bwd", "f")][:, 0, :]
    )
    assert gates.cursor_t() == 4 and gates.cursor_unit() == 2
    assert gates.layer_spin.value() == 1 and gates.direction_combo.currentData() == "bwd"
    header = front(window, eqs).header.text()
    assert "layer 1, backward, t = 4, unit 2" in header
    assert eqs.lines[0].recorded == float(snap.trace.gates[(1, "bwd", "i")][4, 0, 2])
    cells = front(window, shapes).tensor_cells()
    assert cells["h_n"] == ("(4, 1, 7)", "(4, 1, 7) ✓")
    assert shapes.param_tree.currentItem() is shapes.layer_items[(1, "bwd")]
