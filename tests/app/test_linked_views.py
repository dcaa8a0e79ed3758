"""The whole window: one edit or one click moves every view together (issue "The desktop app")."""

from __future__ import annotations

import numpy as np
from app_helpers import SMALL, front, wait_traced
from PySide6.QtCore import Qt

from rnnviz.analysis.graph import cell_id


def test_all_four_views_are_real(window):
    from rnnviz.app.views.equations_view import EquationsView
    from rnnviz.app.views.gate_view import GateView
    from rnnviz.app.views.graph_view import GraphView
    from rnnviz.app.views.shapes_view import ShapesView

    assert isinstance(window.graph_view, GraphView) and isinstance(window.gate_view, GateView)
    assert isinstance(window.shapes_view, ShapesView)
    assert isinstance(window.equations_view, EquationsView)


def test_hidden_size_spinbox_updates_table_edges_and_heatmaps(qtbot, window):
    spin = window.config_panel.widgets["hidden_size"]
    assert front(window, window.gate_view).image_shape("f") == (SMALL.seq_len, 6)
    with qtbot.waitSignal(window.state.sigSnapshotChanged, timeout=60_000):
        spin.setValue(9)
        window.runner.start_now()
    wait_traced(qtbot, window.runner)
    assert window.state.snapshot.spec.hidden_size == 9
    assert front(window, window.shapes_view).tensor_cells()["h_n"] == ("(4, 1, 9)", "(4, 1, 9) ✓")
    labels = {text for _, text in window.graph_view.scene.edge_labels}
    assert {"h (1, 9)", "c (1, 9)"} <= labels and "h (1, 6)" not in labels
    assert window.gate_view.image_shape("f") == (SMALL.seq_len, 9)
    assert window.gate_view.image_shape("c") == (SMALL.seq_len, 9)
    assert front(window, window.equations_view).unit_spin.maximum() == 8


def test_stepping_moves_the_cursor_in_every_view(qtbot, window):
    state = window.state
    state.select(t=0)
    window.timeline.step_forward()
    window.timeline.step_forward()
    assert state.selection.t == 2
    assert window.graph_view.scene.current_t == 2
    # The tabs behind the graph catch up when shown.
    assert front(window, window.gate_view).cursor_t() == 2
    assert "t = 2" in front(window, window.equations_view).header.text()
    assert window.timeline.slider.value() == 2
    tr = state.snapshot.trace
    i_line = window.equations_view.lines[0]
    assert i_line.recorded == float(tr.gates[(0, "fwd", "i")][2, 0, state.selection.unit])


def test_clicking_a_graph_cell_selects_it_in_the_gate_and_equation_views(qtbot, window):
    view = window.graph_view
    view.actual_size()
    node = view.scene.node_items[cell_id(1, "bwd", 4)]
    view.canvas.centerOn(node)
    qtbot.mouseClick(
        view.canvas.viewport(),
        Qt.MouseButton.LeftButton,
        pos=view.canvas.mapFromScene(node.scenePos()),
    )
    sel = window.state.selection
    assert (sel.layer, sel.direction, sel.t) == (1, "bwd", 4)
    gates = front(window, window.gate_view)
    assert gates.layer_spin.value() == 1 and gates.direction_combo.currentData() == "bwd"
    assert gates.cursor_t() == 4
    np.testing.assert_array_equal(
        gates.images["f"].image, window.state.snapshot.trace.gates[(1, "bwd", "f")][:, 0, :]
    )
    assert "layer 1, backward, t = 4" in front(window, window.equations_view).header.text()
    shapes = front(window, window.shapes_view)
    assert shapes.param_tree.currentItem() is shapes.layer_items[(1, "bwd")]


def test_clicking_a_heatmap_pixel_moves_the_graph_and_equations(qtbot, window):
    gates = window.gate_view
    window.deck.show_view(gates)  # a tab: brought to the front, as a click on it would
    qtbot.wait(50)
    vb = gates.plots["o"].getViewBox()
    from PySide6.QtCore import QPointF

    pos = gates.canvas.mapFromScene(vb.mapViewToScene(QPointF(3, 4)))
    qtbot.mouseClick(gates.canvas.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.waitUntil(
        lambda: (window.state.selection.t, window.state.selection.unit) == (3, 4), timeout=2000
    )
    assert window.graph_view.scene.current_t == 3
    assert front(window, window.equations_view).unit_spin.value() == 4
    assert all(line.unit == 4 for line in window.equations_view.lines)


def test_invalid_combination_keeps_every_view_on_the_last_good_trace(qtbot, window):
    good = window.state.snapshot
    images = front(window, window.gate_view).images["i"].image
    window.config_panel.widgets["proj_size"].setValue(6)  # proj_size must be < hidden_size
    assert window.config_panel.errors["proj_size"].isVisible()
    wait_traced(qtbot, window.runner)
    assert window.state.snapshot is good
    assert window.gate_view.images["i"].image is images
    assert front(window, window.shapes_view).tensor_cells()["h_n"][0] == "(4, 1, 6)"
