"""The gate heatmaps: real traces, real widgets, what the view holds after each change."""

from __future__ import annotations

import numpy as np
import pytest
from app_helpers import SMALL, shown_view
from PySide6.QtCore import QPoint, QPointF, Qt

from rnnviz.analysis.scales import (
    NONFINITE_COLOURS,
    finite_absmax,
    nonfinite_counts,
    nonfinite_overlay,
    scale_groups,
)
from rnnviz.app.views.gate_view import GateView, format_value
from rnnviz.config.options import RunOptions
from rnnviz.config.presets import preset
from rnnviz.config.spec import Spec
from rnnviz.document.document import Document
from rnnviz.document.snapshot import compute_snapshot


def _view(qtbot, spec=SMALL, options=None):
    return shown_view(qtbot, GateView, spec, options, size=(1000, 520))


def _pixel(view, gate, t, unit):
    """Widget coordinates of the centre of heatmap pixel (t, unit) of `gate`."""
    vb = view.plots[gate].getViewBox()
    scene = vb.mapViewToScene(QPointF(t, unit))
    return view.canvas.mapFromScene(scene)


def test_before_the_first_snapshot_it_says_computing(qtbot):
    view = GateView(Document(SMALL))
    qtbot.addWidget(view)
    assert view.stack.currentWidget() is view.placeholder
    assert "computing" in view.placeholder.text()
    assert view.sizeHint().width() >= 900 and view.sizeHint().height() >= 600


@pytest.mark.parametrize(
    ("spec", "gates"),
    [
        (Spec("lstm", 3, 4, seq_len=5), "i f g o c h"),
        (Spec("gru", 3, 4, seq_len=5), "r z n h"),
        (Spec("rnn", 3, 4, seq_len=5), "a h"),
    ],
)
def test_one_heatmap_per_gate_holding_the_traces_arrays(qtbot, spec, gates):
    state, view = _view(qtbot, spec)
    assert list(view.plots) == gates.split()
    tr = state.snapshot.trace
    for gate, img in view.images.items():
        np.testing.assert_array_equal(img.image, tr.gates[(0, "fwd", gate)][:, 0, :])
        assert view.image_shape(gate) == (spec.seq_len, 4)
    titles = {g: p.titleLabel.text for g, p in view.plots.items()}
    assert "遗忘门" in titles.get("f", "遗忘门") and "memory tape" in titles.get("c", "memory tape")
    # Whose numbers each panel shows: torch's own h, rnnviz's recomputation elsewhere.
    for gate, title in titles.items():
        assert title.endswith("· torch's" if gate == "h" else "· recomputed"), title


def test_hidden_size_change_changes_heatmap_height(qtbot):
    state, view = _view(qtbot)
    assert view.image_shape("i") == (6, 6)
    spec = SMALL.replace(hidden_size=9)
    state.set_spec(spec)
    state.set_snapshot(compute_snapshot(spec, state.options))
    assert view.image_shape("i") == (6, 9) and view.image_shape("c") == (6, 9)


def test_proj_size_gives_h_fewer_units_than_the_gates(qtbot):
    spec = Spec("lstm", 3, 6, proj_size=2, seq_len=4)
    _, view = _view(qtbot, spec)
    assert view.image_shape("i") == (4, 6) and view.image_shape("h") == (4, 2)


def test_step_moves_every_cursor_and_replaces_no_image(qtbot):
    state, view = _view(qtbot)
    before = view.image_updates
    images = {g: img.image for g, img in view.images.items()}
    for t in (1, 4, 5):
        state.select(t=t, unit=3)
        assert view.cursor_t() == t and view.cursor_unit() == 3
    assert view.image_updates == before
    assert all(view.images[g].image is images[g] for g in images)
    tr = state.snapshot.trace
    assert format_value(tr.gates[(0, "fwd", "c")][5, 0, 3]) in view.caption.text()


def test_layer_direction_batch_pickers_write_and_follow_the_selection(qtbot):
    spec = SMALL.replace(batch_size=3)
    state, view = _view(qtbot, spec)
    view.layer_spin.setValue(1)
    view.direction_combo.setCurrentIndex(1)
    view.batch_spin.setValue(2)
    sel = state.selection
    assert (sel.layer, sel.direction, sel.batch) == (1, "bwd", 2)
    tr = state.snapshot.trace
    np.testing.assert_array_equal(view.images["f"].image, tr.gates[(1, "bwd", "f")][:, 2, :])
    state.select(layer=0, direction="fwd", batch=1)  # from elsewhere (e.g. a graph click)
    assert view.layer_spin.value() == 0 and view.direction_combo.currentData() == "fwd"
    assert view.batch_spin.value() == 1
    np.testing.assert_array_equal(view.images["f"].image, tr.gates[(0, "fwd", "f")][:, 1, :])


def test_unidirectional_disables_the_direction_picker(qtbot):
    _, view = _view(qtbot, Spec("gru", 2, 3, seq_len=3))
    assert not view.direction_combo.isEnabled() and view.direction_combo.count() == 1


def test_click_on_a_pixel_selects_unit_and_timestep(qtbot):
    state, view = _view(qtbot)
    qtbot.wait(50)  # let the layout settle so the view boxes have their final geometry
    pos = _pixel(view, "g", 4, 2)
    qtbot.mouseClick(view.canvas.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.waitUntil(lambda: (state.selection.t, state.selection.unit) == (4, 2), timeout=2000)
    assert view.cursor_t() == 4 and view.cursor_unit() == 2


def test_hover_shows_the_exact_recorded_value(qtbot):
    state, view = _view(qtbot)
    qtbot.wait(50)
    pos = _pixel(view, "o", 3, 5)
    view._moved(view.canvas.mapToScene(QPoint(pos)))
    value = state.snapshot.trace.gates[(0, "fwd", "o")][3, 0, 5]
    assert view.hover.text().endswith(f"unit 5, t 3 = {format_value(value)}")
    assert "output gate" in view.hover.text()


def test_scales_sigma_fixed_tanh_fixed_cell_state_own(qtbot):
    _, view = _view(qtbot)
    by_gate = {g: grp for grp in view.groups for g in grp.gates}
    assert by_gate["i"].levels == (0.0, 1.0) and by_gate["i"] is by_gate["f"] is by_gate["o"]
    assert by_gate["g"].levels == (-1.0, 1.0) and by_gate["g"] is by_gate["h"]
    c = view.data["c"]
    assert by_gate["c"].levels == pytest.approx((-np.abs(c).max(), np.abs(c).max()))
    assert set(view.bars) == set(SMALL.trace_gates)  # one bar per heatmap
    assert {g: tuple(bar.levels()) for g, bar in view.bars.items()} == {
        g: by_gate[g].levels for g in SMALL.trace_gates
    }
    view.scale_combo.setCurrentIndex(1)  # stretched: σ range is the data's
    sig = next(grp for grp in view.groups if "i" in grp.gates)
    lo = min(view.data[g].min() for g in "ifo")
    hi = max(view.data[g].max() for g in "ifo")
    assert sig.levels == pytest.approx((lo, hi)) and 0 < lo < hi < 1


def test_exploding_relu_rnn_draws_nonfinite_in_their_own_colours(qtbot):
    p = preset("relu-explode")
    state, view = _view(qtbot, p.spec, p.options)
    shown = {}
    for layer in range(p.spec.num_layers):
        state.select(layer=layer)
        counts = nonfinite_counts(view.data["h"])
        if counts:
            shown = counts
            break
    assert shown, "the preset should overflow somewhere"
    assert view.nonfinite_legend_visible() and "NaN" in view.legend.text()
    over = view.overlays["h"].image
    arr = view.data["h"]
    nan_t, nan_u = np.argwhere(np.isnan(arr))[0]
    assert (
        tuple(over[nan_t, nan_u, :3]) == NONFINITE_COLOURS["NaN"] and over[nan_t, nan_u, 3] == 255
    )
    assert over[np.isfinite(arr)][:, 3].max() == 0
    grp = next(g for g in view.groups if "h" in g.gates)
    assert np.isfinite(grp.levels[1]) and grp.levels[1] == finite_absmax(arr)
    view.scale_combo.setCurrentIndex(2)  # signed log: still finite levels, hover real value
    grp = next(g for g in view.groups if "h" in g.gates)
    assert 0 < grp.levels[1] < 40


def test_legend_follows_the_data_on_screen(qtbot):
    p = preset("relu-explode")
    state, view = _view(qtbot, p.spec, p.options)
    assert view.nonfinite_legend_visible()
    finite = Spec("rnn", 8, 32, 6, nonlinearity="relu", seq_len=80)
    state.set_spec(finite, RunOptions())
    state.set_snapshot(compute_snapshot(finite, RunOptions()))
    assert not any(nonfinite_counts(a) for a in view.data.values())
    assert not view.nonfinite_legend_visible() and not view.overlays


def test_overlay_and_counts_pure():
    a = np.array([[0.0, np.nan], [np.inf, -np.inf]], dtype=np.float32)
    assert nonfinite_counts(a) == {"NaN": 1, "+Inf": 1, "−Inf": 1}
    rgba = nonfinite_overlay(a)
    assert (
        rgba is not None
        and rgba[0, 0, 3] == 0
        and tuple(rgba[1, 1, :3]) == NONFINITE_COLOURS["−Inf"]
    )
    assert nonfinite_overlay(np.zeros((2, 2), np.float32)) is None
    assert finite_absmax(a) == 0.0
    groups = scale_groups(Spec("rnn", 2, 3, nonlinearity="relu"), {"a": a, "h": a})
    assert [g.gates for g in groups] == [("a",), ("h",)]  # relu h is unbounded: own scale


def test_figure_mode_hides_the_controls_and_names_the_spec(qtbot):
    state, view = _view(qtbot)
    view.set_figure_mode(True)
    assert view.layer_spin.isHidden() and view.scale_combo.isHidden()
    assert view.caption.text().startswith(SMALL.title())
    view.set_figure_mode(False)
    assert not view.layer_spin.isHidden() and view.caption.text().startswith("LSTM ·")


def test_zoomed_in_on_time_the_view_pans_to_keep_the_cursor(qtbot):
    spec = Spec("gru", 2, 3, seq_len=400)
    state, view = _view(qtbot, spec)
    first = view.plots["r"]
    first.setXRange(0, 40, padding=0)
    state.select(t=20)
    assert first.getViewBox().viewRange()[0] == pytest.approx([0, 40])  # inside: no pan
    state.select(t=300)
    x0, x1 = first.getViewBox().viewRange()[0]
    assert x0 <= 300 <= x1 and x1 - x0 == pytest.approx(40, rel=0.01)
    x0z, x1z = view.plots["h"].getViewBox().viewRange()[0]  # x is linked: every plot follows
    assert x0z <= 300 <= x1z
