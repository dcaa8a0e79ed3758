"""The Gradients view in the window: computed only while its tab is open, linked to the
selection, its curves equal to the record's norms, saturation clicks select units."""

from __future__ import annotations

import numpy as np
import pytest
from app_helpers import SMALL, front, wait_traced
from PySide6.QtCore import QPointF, Qt

from rnnviz.config.options import RunOptions
from rnnviz.config.spec import Spec
from rnnviz.document.document import COMPARE, GRAD


def open_gradients(qtbot, window, page: int = 0):
    view = window.gradients_view
    window.deck.show_view(view)
    view.pages.setCurrentIndex(page)
    qtbot.waitUntil(lambda: window.state.result(GRAD) is not None, timeout=60_000)
    wait_traced(qtbot, window.runner)
    return view


def test_opening_the_tab_runs_a_grad_job_and_draws_every_lane(qtbot, window):
    state = window.state
    assert GRAD not in state.wanted() and state.result(GRAD) is None
    view = open_gradients(qtbot, window)
    gt = state.result(GRAD).grads
    assert view.result is state.result(GRAD)
    lanes = [(la, d) for la in range(SMALL.num_layers) for d in SMALL.directions]
    h_curves = {k: c for k, c in view.norms.curves.items() if k.startswith("h ")}
    c_curves = {k: c for k, c in view.norms.curves.items() if k.startswith("c ")}
    assert len(h_curves) == len(lanes) == 4 and len(c_curves) == 4  # LSTM: ‖∂L/∂c_t‖ too
    for la, d in lanes:
        name = f"layer {la} {'forward' if d == 'fwd' else 'backward'}"
        x, y = view.norms.curves[f"h {name}"].getOriginalDataset()
        assert len(x) == SMALL.seq_len
        expected = gt.norms(la, d)
        np.testing.assert_array_equal(view.norms.data[f"h {name}"], expected)
        shown = expected > 0
        np.testing.assert_allclose(y[shown], expected[shown], rtol=1e-12)
        assert np.isnan(y[~shown]).all()  # zeros are gaps on a log axis, not fake values
        np.testing.assert_array_equal(view.norms.data[f"c {name}"], gt.c_norms(la, d))
    # The badge beside the forward one carries the gradient verdict.
    badge = window.status.grad_badge
    assert badge.isVisibleTo(window) and badge.text().startswith("gradients match torch: max |Δ| =")


def test_moving_t_moves_the_cursors_and_the_chain(qtbot, window):
    view = open_gradients(qtbot, window)
    view.pages.setCurrentIndex(1)
    window.state.select(t=1, layer=1, direction="bwd")
    assert view.norms.cursor_t() == 1
    assert round(view.heatmap.t_line.value()) == 1
    chain = view.chain.data["∏‖J‖₂ from t to s (upper bound)"]
    np.testing.assert_array_equal(chain[0], np.arange(1, SMALL.seq_len))  # bwd: t, t+1, …
    assert chain[1][0] == 1.0  # no step yet at s = t: the empty product
    # What actually reached s: the LSTM state (h, c)'s gradient relative to t's, from the
    # GradTrace; c's part is what arrives from the next step (backward lane: s − 1).
    got = view.chain.data["‖∂L/∂(h,c)_s‖ ÷ ‖∂L/∂(h,c)_t‖ (what reached s)"][1]
    gt = window.state.result(GRAD).grads
    dc = gt.dc[(1, "bwd")][:, 0].astype(np.float64)
    f = gt.trace.gates[(1, "bwd", "f")][:, 0].astype(np.float64)
    carry = np.zeros_like(dc)
    carry[1:] = f[:-1] * dc[:-1]
    sq = (gt.dh[(1, "bwd")][:, 0].astype(np.float64) ** 2).sum(1) + (carry**2).sum(1)
    norms = np.sqrt(sq)[1:]
    # Top backward lane under loss "last": nothing flows to t=1, so the ratio is undefined.
    want = norms / norms[0] if norms[0] > 0 else np.full(len(norms), np.nan)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    window.timeline.step_forward()
    assert view.norms.cursor_t() == 2
    assert "From t = 2 (layer 1 backward" in view.chain_text.text()
    np.testing.assert_array_equal(
        view.heatmap.data, window.state.result(GRAD).grads.dh[(1, "bwd")][:, 0, :]
    )


def test_clicking_a_saturation_point_selects_its_unit(qtbot, window):
    state = window.state
    state.edit_spec(seq_len=30, num_layers=1, bidirectional=False, hidden_size=8)
    state.edit_options(weight_scale=3.0)
    view = open_gradients(qtbot, window, page=2)
    qtbot.waitUntil(lambda: view.result.spec.seq_len == 30, timeout=60_000)
    state.select(unit=0)
    plot = view.saturation
    left, right = plot.points["f"]
    # A unit whose point no other gate's or unit's point covers.
    pts = [
        (g, u, lx, ry)
        for g, (lv, rv) in plot.points.items()
        for u, (lx, ry) in enumerate(zip(lv, rv))
    ]
    unique = [
        (g, u, lx, ry)
        for g, u, lx, ry in pts
        if u != 0 and sum(abs(lx - a) < 0.03 and abs(ry - b) < 0.03 for _, _, a, b in pts) == 1
    ]
    assert unique, "no saturation point stands alone in this configuration"
    _, unit, lx, ry = unique[0]
    vb = plot.getPlotItem().getViewBox()
    pos = plot.mapFromScene(vb.mapViewToScene(QPointF(lx, ry)))
    qtbot.mouseClick(plot.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.waitUntil(lambda: state.selection.unit == unit, timeout=5_000)
    # Selected everywhere: the gate view's unit line follows.
    assert front(window, window.gate_view).cursor_unit() == unit


def test_hidden_view_computes_no_gradients_on_edit(qtbot, window):
    state = window.state
    open_gradients(qtbot, window)
    window.deck.show_view(window.shapes_view)  # Shapes: the Gradients view is hidden
    assert GRAD not in state.wanted()
    with qtbot.waitSignal(state.sigSnapshotChanged, timeout=60_000):
        state.edit_spec(hidden_size=7)
    wait_traced(qtbot, window.runner)
    assert state.snapshot.spec.hidden_size == 7
    assert state.result(GRAD) is None
    assert all(k.spec.hidden_size == 6 for k in state.results if k.kind == GRAD)
    assert not window.status.grad_badge.isVisibleTo(window)


def test_loss_combo_and_compare_page(qtbot, window):
    state = window.state
    view = open_gradients(qtbot, window)
    view.loss_combo.setCurrentIndex(view.loss_combo.findData("sum"))
    qtbot.waitUntil(
        lambda: state.result(GRAD) is not None and view.result.grads.loss == "sum", timeout=60_000
    )
    assert COMPARE not in state.wanted()
    view.pages.setCurrentWidget(view.compare)
    assert COMPARE in state.wanted()
    qtbot.waitUntil(lambda: view.compare.result is not None, timeout=120_000)
    wait_traced(qtbot, window.runner)
    assert [e.label for e in view.compare.result.entries] == ["RNN tanh", "RNN relu", "LSTM", "GRU"]
    assert view.compare.result.loss == "sum"
    assert set(view.compare.plot.curves) == {"RNN tanh", "RNN relu", "LSTM", "GRU"}
    gru = view.compare.result.entry("GRU")
    np.testing.assert_array_equal(view.compare.plot.data["GRU"], gru.norms[(0, "fwd")])
    view.compare.scale_spin.setValue(2.0)  # the document's weight scale, shared
    assert state.options.weight_scale == 2.0
    window.deck.show_view(window.shapes_view)
    assert COMPARE not in state.wanted() and GRAD not in state.wanted()


def test_export_png_svg_csv(qtbot, window, tmp_path):
    from rnnviz.app.drawing.grad_render import save_plot

    view = open_gradients(qtbot, window)
    for name in ("n.png", "n.svg", "n.csv"):
        save_plot(view, tmp_path / name)
    assert (tmp_path / "n.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in (tmp_path / "n.svg").read_bytes()
    rows = (tmp_path / "n.csv").read_text().splitlines()
    assert rows[0].startswith("t,h_l0_fwd,c_l0_fwd") and len(rows) == SMALL.seq_len + 1


def test_standalone_view_with_options(qtbot):
    from rnnviz.app.views.gradients_view import GradientsView
    from rnnviz.document.document import Document
    from rnnviz.grad.result import grad_result

    spec = Spec("gru", 3, 4, 1, seq_len=5)
    doc = Document(spec, RunOptions())
    doc.set_result(doc.key(GRAD), grad_result(spec, RunOptions()))
    view = GradientsView(doc)
    qtbot.addWidget(view)
    assert set(view.norms.curves) == {"h layer 0"}
    assert "gradients match torch" in view.caption.text()


def test_the_norm_legends_sit_under_the_plots_not_over_the_curves(qtbot, window):
    """The legend floated in the plot's top-right corner, over the curves' last steps (where
    the loss is and the norms are largest); it is now laid out under the x axis."""
    view = open_gradients(qtbot, window)
    view.resize(1000, 700)
    for plot in (view.norms, view.chain):
        item = plot.getPlotItem()
        qtbot.waitUntil(lambda item=item: item.legend.items != [], timeout=5_000)
        item.layout.activate()
        legend = item.legend.sceneBoundingRect()
        data = item.vb.sceneBoundingRect()
        assert legend.height() > 0 and legend.top() >= data.bottom(), (legend, data)
        names = [label.text for _sample, label in item.legend.items]
        assert names == [c.name() for c in plot.curves.values()]


def test_log_axis_labels_never_overprint(qtbot):
    """On a short log range pyqtgraph labels every 2…9 × 10^k tick, a few pixels apart near
    each decade's top; LogAxis leaves out the labels that would touch one already placed."""
    import pyqtgraph as pg
    from PySide6.QtGui import QFont, QFontMetricsF

    from rnnviz.app.views.axes import LogAxis

    gap = QFontMetricsF(QFont()).height()

    def labelled(axis: pg.AxisItem, lo: float, hi: float, size: float) -> list[float]:
        axis.setLogMode(False, True)
        levels = axis.tickValues(lo, hi, size)
        out = []
        for spacing, values in levels:
            for v, text in zip(values, axis.tickStrings(values, 1.0, spacing)):
                if text:
                    out.append(v * size / (hi - lo))  # pixels along the axis
        return sorted(out)

    def closest(px: list[float]) -> float:
        return min(b - a for a, b in zip(px, px[1:]))

    lo, hi, size = np.log10(0.07), np.log10(2.5), 220.0  # the 1280×720 window's norms plot
    plain = labelled(pg.AxisItem("left"), lo, hi, size)
    assert closest(plain) < gap / 2  # the overprint this fixes
    thinned = labelled(LogAxis("left"), lo, hi, size)
    assert closest(thinned) >= gap
    # The decades keep their labels (1 and 0.1 here), and some minor ones stay.
    decades = [round(p * (hi - lo) / size, 9) for p in thinned]
    assert 0.0 in decades and -1.0 in decades and len(thinned) >= 4


def test_log_axis_labels_a_range_shorter_than_its_minor_ticks(qtbot):
    """2.0 … 2.26 holds one of pyqtgraph's log ticks ("2"): a y axis with one label cannot be
    read. LogAxis gives such a range evenly spaced ticks with the digits that tell them
    apart, at any magnitude; longer ranges keep pyqtgraph's ticks."""
    from rnnviz.app.views.axes import LogAxis

    def labels(lo: float, hi: float) -> list[tuple[float, str]]:
        axis = LogAxis("left")
        axis.setLogMode(False, True)
        lo_l, hi_l = np.log10(lo), np.log10(hi)
        out = []
        for spacing, values in axis.tickValues(lo_l, hi_l, 220.0):
            for v, text in zip(values, axis.tickStrings(values, 1.0, spacing)):
                if text and lo_l <= v <= hi_l:
                    out.append((10**v, text))
        return out

    short = labels(2.0, 2.26)
    assert len(short) >= 3 and len({t for _, t in short}) == len(short)
    for value, text in short:
        assert float(text) == pytest.approx(value, rel=1e-9)  # each label is its tick's value
    tiny = labels(2.0e-20, 2.3e-20)
    assert len(tiny) >= 3 and all(float(t) == pytest.approx(v, rel=1e-9) for v, t in tiny)
    wide = labels(0.07, 2.5)  # pyqtgraph's own ticks: the decades 0.1 and 1 among them
    assert {"0.1", "1"} <= {t for _, t in wide}


def test_heatmap_paints_nonfinite_gradients_and_never_divides_by_zero(qtbot):
    """signed_decades maps NaN/±Inf to 0, so they were drawn white, like a zero gradient;
    and with no nonzero finite value the colour bar read "… / 0". NaN/±Inf now get the
    Gates view's overlay colours and counts, and the label says what there is."""
    from rnnviz.analysis.scales import NONFINITE_COLOURS
    from rnnviz.app.views.grad_panels import GradHeatmap

    heat = GradHeatmap(lambda *_: None, lambda _t: None)
    qtbot.addWidget(heat)
    heat.set_data(np.zeros((5, 3)), "∂L/∂h_t")
    assert heat.bar.getAxis("right").labelText == "all ∂L/∂h are 0"
    assert not heat.overlay.isVisible()
    a = np.zeros((5, 3))
    a[2, 1], a[4, 0] = np.nan, np.inf
    heat.set_data(a, "∂L/∂h_t")
    assert heat.bar.getAxis("right").labelText == "no finite nonzero ∂L/∂h"
    assert heat.overlay.isVisible()
    rgba = heat.overlay.image
    assert tuple(rgba[2, 1, :3]) == NONFINITE_COLOURS["NaN"] and rgba[2, 1, 3] == 255
    assert tuple(rgba[4, 0, :3]) == NONFINITE_COLOURS["+Inf"] and rgba[0, 0, 3] == 0
    title = heat.plot.titleLabel.text
    assert "NaN (1)" in title and "+Inf (1)" in title
    a[0, 0] = 2e-9
    heat.set_data(a, "∂L/∂h_t")
    assert heat.bar.getAxis("right").labelText == "sign · log₁₀(|∂L/∂h| / 2e-09)"


def test_a_lone_drawable_step_keeps_its_marker(qtbot):
    """Beyond 40 steps the norm curves have no markers; a step whose neighbours a log axis
    cannot place (0, NaN, ±Inf) had no segment either and vanished (relu-explode's one
    nonzero norm)."""
    from rnnviz.app.views.grad_panels import NormPlot

    plot = NormPlot()
    qtbot.addWidget(plot)
    y = np.zeros(80)
    y[79], y[10:13] = 5.8, 1.0
    curve = plot.add_curve("h layer 5", y, (0, 0, 0))
    sizes = curve.opts["symbolSize"]
    assert curve.opts["symbol"] == "o" and sizes[79] > 0
    assert sizes[11] == 0 and sizes[0] == 0  # inside a segment, and undrawable: no marker
    smooth = plot.add_curve("h layer 0", np.linspace(1, 2, 80), (0, 0, 0))
    assert smooth.opts["symbol"] is None


def test_saturation_page_says_what_its_points_are(qtbot, window):
    """The page drew an empty plot with an unlabelled line for an Elman RNN, and 96 LSTM
    points at (0, 0) that looked like one; its x label said "of steps" for T·B values."""
    state = window.state
    state.edit_spec(cell="lstm", seq_len=40, num_layers=1, bidirectional=False, hidden_size=8)
    view = open_gradients(qtbot, window, page=2)
    qtbot.waitUntil(lambda: view.result.spec.seq_len == 40, timeout=60_000)
    plot = view.saturation
    item = plot.getPlotItem()
    assert "values" in item.getAxis("bottom").labelText
    labels = [label.text for _, label in plot.legend.items]
    assert labels[0].startswith("x + y = 1") and labels[1:] == ["gate i", "gate f", "gate o"]
    assert plot.isVisibleTo(view)
    text = view.saturation_text.text()
    for gate, (left, right) in plot.points.items():
        spots = len(set(zip(left.tolist(), right.tolist())))
        if spots < len(left):
            assert f"{gate}: " in text and f"{len(left)} points at" in text
    state.edit_spec(cell="rnn")
    qtbot.waitUntil(lambda: view.result.spec.cell == "rnn", timeout=60_000)
    wait_traced(qtbot, window.runner)
    assert not plot.isVisibleTo(view)
    assert "no σ gates" in view.saturation_text.text()
    state.edit_spec(cell="gru")
    qtbot.waitUntil(lambda: view.result.spec.cell == "gru", timeout=60_000)
    assert plot.isVisibleTo(view) and set(plot.points) == {"r", "z"}


def test_a_gradient_that_vanished_to_zero_is_said_not_to_be_drawn(qtbot):
    """grad-vanishing over 400 steps: ‖∂L/∂h_t‖ underflows to exactly 0 from t = 234 back.
    The curve stops there; the plot's title says why, and where float32 has few bits left,
    with the counts the norms have."""
    from rnnviz.app.views.gradients_view import GradientsView
    from rnnviz.config.presets import preset
    from rnnviz.document.document import Document
    from rnnviz.grad.result import grad_result

    p = preset("grad-vanishing")
    spec = p.spec.replace(seq_len=400)
    doc = Document(spec, p.options)
    doc.set_result(doc.key(GRAD), grad_result(spec, p.options))
    view = GradientsView(doc)
    qtbot.addWidget(view)
    norms = doc.result(GRAD).grads.norms(0, "fwd")
    zeros = int((norms == 0).sum())
    tiny = int(((norms > 0) & (norms < np.finfo(np.float32).tiny)).sum())
    assert zeros > 100 and tiny > 0  # the case this is about
    title = view.norms.getPlotItem().titleLabel.text
    assert f"{zeros} norms exactly 0, not drawn" in title
    assert f"{tiny} below 1.2e-38, where float32 keeps only a few significant bits" in title
    assert "gradients match torch" in view.caption.text()


def test_norms_note_says_nothing_when_every_norm_is_normal():
    from rnnviz.grad.text import norms_note

    assert norms_note([np.array([1e-30, 2.0, 5.0], np.float32)]) == ""
    one = norms_note([np.array([0.0, 1.0], np.float32), np.array([3e-39, 1.0], np.float32)])
    assert one.startswith("1 norm exactly 0, not drawn") and "1 below 1.2e-38" in one
    assert "2.2e-308" in norms_note([np.array([1e-310, 1.0])], np.float64)
