"""The gate view's numbers are the recorded values on every colour scale.

On "signed log" the colours map sign(v)·log10(1 + |v|), but the titles, the bar captions and
the bar tick labels used to give those logs as if they were values (`i … [0.0804…0.252]`
for an input gate at 0.2…0.79; `a [±38.5]`, ticks −30…30 for values up to 3.2e38). Here the
drawn tick labels are read back from the axes and mapped through the transform, and titles
and captions are checked against the trace's own arrays."""

from __future__ import annotations

import re

import numpy as np
import pytest
from app_helpers import SMALL, axis_draw_specs, front, shown_view, wait_traced

from rnnviz.analysis.scales import (
    finite_range,
    scale_groups,
    signed_log,
    signed_log_inverse,
    signed_log_ticks,
    tick_text,
)
from rnnviz.app.drawing.formats import render_gates
from rnnviz.app.views.gate_view import GateView
from rnnviz.config.presets import preset
from rnnviz.document.document import Document

pytestmark = pytest.mark.gui


def _drawn_ticks(axis) -> list[tuple[float, str, float]]:
    """(position the label is centred on, in the axis's own units; label; label width px)
    of every tick label the axis draws, as pyqtgraph lays them out for painting."""
    specs = axis_draw_specs(axis)
    assert specs
    lo, hi = axis.range
    width = axis.mapRectFromParent(axis.geometry()).width()
    return [
        (lo + rect.center().x() / width * (hi - lo), text, rect.width()) for rect, _, text in specs
    ]


def _sl(v: float) -> float:
    return float(np.sign(v) * np.log10(1.0 + abs(v)))


def _title_range(view: GateView, gate: str) -> str:
    return re.search(r"\[([^\]]*)\]", view.plots[gate].titleLabel.text).group(1)


def _real_span(arrays: list[np.ndarray], symmetric: bool) -> str:
    got = finite_range(arrays)
    assert got is not None
    lo, hi = got
    if symmetric:
        m = max(abs(lo), abs(hi))
        return f"±{m:.3g}"
    return f"{lo:.3g}…{hi:.3g}"


def _lane(state: Document, gate: str) -> np.ndarray:
    """The trace's own array of `gate` for the selected lane and batch row."""
    sel = state.selection
    return state.snapshot.trace.gates[(sel.layer, sel.direction, gate)][:, sel.batch, :]


def _check_signed_log_bar(view: GateView, gate: str) -> list[float]:
    """Every drawn label of `gate`'s bar is a value whose signed log is where it is drawn
    (within a pixel), labels do not overprint, and there are at least two; the values."""
    axis = view.bar_axes[gate]
    assert axis.signed_log
    assert tuple(axis.range) == pytest.approx(view.bars[gate].levels())
    ticks = _drawn_ticks(axis)
    assert len(ticks) >= 2, (gate, ticks)
    lo, hi = axis.range
    px = (hi - lo) / axis.width()
    values = []
    for pos, text, _ in ticks:
        v = float(text)  # a plain number, nothing like "×10^k" to misread
        assert _sl(v) == pytest.approx(pos, abs=1.5 * px), (gate, text, pos)
        values.append(v)
    for (p0, _, w0), (p1, _, w1) in zip(ticks, ticks[1:]):
        assert (p1 - p0) / px >= (w0 + w1) / 2, (gate, ticks)  # no two labels overlap
    return values


def test_relu_explode_bars_read_in_values_up_to_1e38(qtbot):
    p = preset("relu-explode")
    assert p.gate_scale == "signed-log"
    state, view = shown_view(qtbot, GateView, p.spec, p.options, size=(1000, 620))
    view.set_scale_mode("signed-log")
    qtbot.wait(20)
    for gate in ("a", "h"):
        values = _check_signed_log_bar(view, gate)
        # The decades an exploding run spans are labelled as such, and 0 in the middle.
        assert 0.0 in values and max(values) >= 1e20, values
        arr = _lane(state, gate)
        m = float(np.max(np.abs(arr[np.isfinite(arr)])))
        assert m > 1e37  # the preset does reach float32's limit in layer 0
        assert _title_range(view, gate) == f"±{m:.3g}"
        caption = view.bar_axes[gate].labelText
        assert "signed-log" in caption and caption.endswith(f"±{m:.3g}"), caption
        assert "38.5" not in caption + _title_range(view, gate)


def test_lstm_on_signed_log_titles_captions_and_ticks_are_real_values(qtbot):
    state, view = shown_view(qtbot, GateView, SMALL, size=(1000, 620))
    fixed = {g: _title_range(view, g) for g in SMALL.trace_gates}
    view.set_scale_mode("signed-log")
    qtbot.wait(20)
    sig = [_lane(state, g) for g in "ifo"]
    tanh = [_lane(state, g) for g in "gh"]
    for gate in SMALL.trace_gates:
        arrays = sig if gate in "ifo" else tanh if gate in "gh" else [_lane(state, "c")]
        want = _real_span(arrays, symmetric=gate not in "ifo")
        assert _title_range(view, gate) == want, gate
        caption = view.bar_axes[gate].labelText
        assert "signed-log" in caption and caption.endswith(want.replace("…", " … ")), caption
        values = _check_signed_log_bar(view, gate)
        got = finite_range(arrays)
        assert got is not None
        if gate not in "ifo":  # a ±max scale: every label within ±max|value|
            got = (-max(map(abs, got)), max(map(abs, got)))
        assert all(got[0] - 1e-6 <= v <= got[1] + 1e-6 for v in values), (gate, values, got)
    # The σ gates' values are 0…1 numbers (their logs would be below 0.302).
    lo, hi = finite_range(sig)
    assert hi > 0.302 and _title_range(view, "i") == f"{lo:.3g}…{hi:.3g}"
    # c has its own ±max scale on both: the signed-log title gives the fixed one's number.
    assert _title_range(view, "c") == fixed["c"]
    # The colours are still the signed log of the values.
    grp = next(g for g in view.groups if "i" in g.gates)
    assert grp.levels == pytest.approx((float(signed_log(np.float32(lo))), _sl(hi)), rel=1e-6)


def test_fixed_and_stretched_bars_keep_their_plain_labels(qtbot):
    state, view = shown_view(qtbot, GateView, SMALL, size=(1000, 620))
    captions = {g: view.bar_axes[g].labelText for g in SMALL.trace_gates}
    assert captions["i"] == "i: σ range 0 … 1" and captions["h"] == "h: tanh range -1 … 1"
    assert _title_range(view, "f") == "0…1" and _title_range(view, "g") == "±1"
    for mode in ("fixed", "stretched"):
        view.set_scale_mode(mode)
        qtbot.wait(20)
        for gate, axis in view.bar_axes.items():
            assert not axis.signed_log and axis.real_ticks() == []
            ticks = _drawn_ticks(axis)
            lo, hi = axis.range
            px = (hi - lo) / axis.width()
            assert len(ticks) >= 2
            for pos, text, _ in ticks:  # linear: a label is the value where it is drawn
                assert float(text) == pytest.approx(pos, abs=1.5 * px), (mode, gate, text)
    assert "stretched to the data" in view.bar_axes["i"].labelText
    view.set_scale_mode("fixed")
    assert {g: view.bar_axes[g].labelText for g in SMALL.trace_gates} == captions


def _main_window(qtbot, key: str, scale: str, size: tuple[int, int]):
    from rnnviz.app.window import MainWindow

    p = preset(key)
    win = MainWindow(Document(p.spec, p.options))
    win.persist = False
    qtbot.addWidget(win)
    win.set_gate_scale(scale)
    win.resize(*size)
    win.show()
    qtbot.waitExposed(win)
    with qtbot.waitSignal(win.state.sigSnapshotChanged, timeout=60_000):
        win.runner.start_now()
    wait_traced(qtbot, win.runner)
    view = front(win, win.gate_view)
    qtbot.waitUntil(lambda: view.stack.currentWidget() is view.canvas, timeout=10_000)
    qtbot.wait(50)
    return win, view


@pytest.mark.parametrize("key", ["lstm-5-6-2", "relu-explode"])
def test_captions_fit_under_their_bars_at_1280x720(qtbot, key):
    win, view = _main_window(qtbot, key, "signed-log", (1280, 720))
    try:
        assert view.scale_mode() == "signed-log"
        rects = {}
        for gate, axis in view.bar_axes.items():
            _check_signed_log_bar(view, gate)
            # Whole (not elided) and inside its own bar, so no two captions run together.
            assert axis.caption_shown() == axis.labelText, axis.caption_shown()
            label = axis.label.sceneBoundingRect()
            bar = view.bars[gate].sceneBoundingRect()
            assert bar.left() - 2 <= label.left() and label.right() <= bar.right() + 2, gate
            rects[gate] = label
        for a, ra in rects.items():
            for b, rb in rects.items():
                assert a == b or not ra.intersects(rb), (a, b)
        scene_right = view.canvas.mapToScene(view.canvas.viewport().rect()).boundingRect()
        assert all(r.right() <= scene_right.right() for r in rects.values())
    finally:
        win.close()


def test_a_caption_too_long_for_its_bar_is_elided_with_the_whole_text_as_tooltip(qtbot):
    state, view = shown_view(qtbot, GateView, SMALL, size=(560, 520))
    view.set_scale_mode("stretched")
    qtbot.wait(20)
    axis = view.bar_axes["i"]
    full = axis.labelText
    assert full.startswith("i: σ range stretched to the data")
    shown = axis.caption_shown()
    assert shown != full and shown.endswith("…") and full.startswith(shown[:-1])
    assert axis.label.toolTip() == full
    view.resize(1400, 700)
    qtbot.waitUntil(lambda: axis.caption_shown() == full, timeout=5_000)
    assert axis.label.toolTip() == ""


def test_signed_log_ticks_pure():
    # float32's range: powers of ten by tens, 0 in the middle.
    top = _sl(3.4e38)
    ticks = signed_log_ticks(-top, top, 9.0)
    assert [tick_text(v) for _, v in ticks] == [
        "-1e30",
        "-1e20",
        "-1e10",
        "0",
        "1e10",
        "1e20",
        "1e30",
    ]
    for lo, hi, gap in [
        (-top, top, 2.0),
        (0.08, 0.25, 0.03),
        (-0.34, 0.34, 0.1),
        (0.2, 0.21, 1e-3),
    ]:
        ticks = signed_log_ticks(lo, hi, gap)
        assert len(ticks) >= 2
        positions = [pos for pos, _ in ticks]
        assert positions == sorted(positions) and min(np.diff(positions)) >= gap
        for pos, v in ticks:
            assert lo - 1e-9 <= pos <= hi + 1e-9 and pos == pytest.approx(_sl(v))
            assert float(tick_text(v)) == pytest.approx(v, rel=1e-12)
    # σ values 0.2…0.79 are labelled as such, not as their logs 0.08…0.25.
    texts = [tick_text(v) for _, v in signed_log_ticks(_sl(0.2035), _sl(0.786), 0.03)]
    assert set(texts) <= {"0.3", "0.4", "0.5", "0.6", "0.7"} and "0.5" in texts
    # No room for two: one, never two overprinting.
    assert len(signed_log_ticks(0.0, 0.3, 1.0)) == 1
    assert signed_log_inverse(_sl(-123.0)) == pytest.approx(-123.0)
    assert tick_text(-2.5e10) == "-2.5e10" and tick_text(5e-5) == "5e-5"


def test_scale_groups_give_real_ranges_and_log_levels():
    spec = SMALL
    data = {g: np.full((3, 6), 0.5, np.float32) for g in spec.trace_gates}
    data["i"][0, 0], data["o"][1, 1] = 0.2, 0.8
    data["c"][2, 2] = -1e30
    groups = {g: grp for grp in scale_groups(spec, data, stretch=True, log=True) for g in grp.gates}
    assert groups["i"].values == pytest.approx((0.2, 0.8)) and groups["i"].short == "0.2…0.8"
    assert groups["i"].levels == pytest.approx((_sl(0.2), _sl(0.8)), rel=1e-6)
    assert groups["c"].short == "±1e+30" and groups["c"].levels[1] == pytest.approx(30.0)
    assert groups["c"].caption_for("c") == "c (memory tape): signed-log scale ±1e+30"
    assert groups["i"].caption_for("i") == "i: signed-log scale, data 0.2 … 0.8"


def test_gates_svg_on_signed_log_prints_values_not_logs(qapp):
    from rnnviz.document.snapshot import compute_snapshot

    p = preset("relu-explode")
    snap = compute_snapshot(p.spec, p.options)
    svg = render_gates(snap, "svg", scale_mode="signed-log").decode()
    texts = " ".join(re.findall(r">([^<]*)</text>", svg))
    assert "1e20" in texts and "1e30" in texts
    assert "signed-log scale ±3.21e+38" in texts  # the caption, whole
    assert "38.5" not in texts and "log₁₀" not in texts
