"""Issue 12 item 3: every heatmap has its own colour bar, directly under it, whose caption
names that gate alone and whose range is that gate's scale; in the window and the exports."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from app_helpers import shown_view

from rnnviz.analysis.scales import scale_groups
from rnnviz.app.drawing.formats import render_gates
from rnnviz.app.views.gate_view import GateView, format_value
from rnnviz.config.options import RunOptions
from rnnviz.config.presets import preset
from rnnviz.config.spec import Spec
from rnnviz.document.snapshot import compute_snapshot

CASES = {
    "lstm": (Spec("lstm", 5, 6, seq_len=6), RunOptions()),
    "gru": (Spec("gru", 5, 6, seq_len=6), RunOptions()),
    "rnn-tanh": (Spec("rnn", 5, 6, seq_len=6), RunOptions()),
    "rnn-relu": (Spec("rnn", 5, 6, nonlinearity="relu", seq_len=6), RunOptions()),
    "relu-explode": (preset("relu-explode").spec, preset("relu-explode").options),
}
SVG_NS = "{http://www.w3.org/2000/svg}"


def _names_gate_alone(caption: str, gate: str, gates: tuple[str, ...]) -> bool:
    """The caption starts with `gate` and names no other gate as a word."""
    words = set(re.findall(r"\b[a-z]\b", caption))
    return caption.startswith((f"{gate}:", f"{gate} (")) and not (words & set(gates)) - {gate}


@pytest.mark.parametrize("name", CASES)
def test_each_heatmap_has_its_own_bar_right_under_it(qtbot, name) -> None:
    spec, opts = CASES[name]
    state, view = shown_view(qtbot, GateView, spec, opts, (1000, 620))
    qtbot.wait(20)
    gates = spec.trace_gates
    assert set(view.bars) == set(gates)
    group_of = {g: grp for grp in view.groups for g in grp.gates}
    for gate in gates:
        bar, plot = view.bars[gate], view.plots[gate]
        caption = bar.getAxis("bottom").labelText
        assert _names_gate_alone(caption, gate, gates), caption
        assert tuple(bar.levels()) == group_of[gate].levels
        pr, br = plot.sceneBoundingRect(), bar.sceneBoundingRect()
        # Directly under its own plot: inside its column, just below it, above nothing else.
        assert pr.left() - 1 <= br.left() and br.right() <= pr.right() + 1, gate
        assert 0 <= br.top() - pr.bottom() < 20, gate
        for other in gates:
            if other != gate:
                o = view.plots[other].sceneBoundingRect()
                between = pr.bottom() <= o.top() < br.top()
                assert not between and not (
                    o.left() < br.center().x() < o.right() and pr.bottom() < o.bottom() <= br.top()
                )
    if spec.nonlinearity == "relu":
        assert view.bars["h"].getAxis("bottom").labelText.startswith("h (relu, unbounded)")
        assert "relu h h" not in " ".join(grp.caption for grp in view.groups)


def test_captions_name_one_gate_for_every_cell() -> None:
    for spec, _ in CASES.values():
        for grp in scale_groups(spec, {}):
            for gate in grp.gates:
                assert _names_gate_alone(grp.caption_for(gate), gate, spec.trace_gates)
            with pytest.raises(ValueError):
                grp.caption_for("zz")
    rnn = {g: grp for grp in scale_groups(CASES["rnn-tanh"][0], {}) for g in grp.gates}
    assert rnn["a"].caption_for("a").startswith("a (pre-activation): own scale")
    assert rnn["h"].caption_for("h") == "h: tanh range -1 … 1"


def _svg_lines(data: bytes) -> list[str]:
    """Text of each <g> of the SVG (Qt splits one label into runs per font)."""
    root = ET.fromstring(data)
    out = []
    for g in root.iter(SVG_NS + "g"):
        runs = [("".join(t.itertext())).strip() for t in g.findall(SVG_NS + "text")]
        if runs:
            out.append(" ".join(r for r in runs if r))
    return out


@pytest.mark.parametrize("name", CASES)
def test_exported_gates_carry_one_caption_per_heatmap(qapp, name) -> None:
    spec, opts = CASES[name]
    snap = compute_snapshot(spec, opts)
    lines = _svg_lines(render_gates(snap, "svg"))
    groups = scale_groups(
        spec, {g: snap.trace.gates[(0, "fwd", g)][:, 0] for g in spec.trace_gates}
    )
    for grp in groups:
        for gate in grp.gates:
            want = " ".join(grp.caption_for(gate).split())
            assert sum(" ".join(line.split()) == want for line in lines) == 1, (want, lines)


def test_seq_len_1_batch_3_draws_every_row_side_by_side(qtbot) -> None:
    p = preset("rnn-5-6-2")  # tutorial 000: seq_len 1, batch 3
    state, view = shown_view(qtbot, GateView, p.spec, p.options, (1000, 620))
    assert view.rows_check.isChecked()
    assert view.image_shape("h") == (3, p.spec.hidden_size)
    gates = state.snapshot.trace.gates
    for b in range(3):
        assert (view.data["h"][b] == gates[(0, "fwd", "h")][0, b]).all()
    state.select(batch=2, unit=4)
    assert view.t_lines["h"].value() == 2 and view.cursor_t() == 0
    assert view.bars["h"].getAxis("bottom").labelText.startswith("h: tanh range")
    # One row at a time again on request; a longer sequence starts with one row.
    view.rows_check.setChecked(False)
    assert view.image_shape("h") == (1, p.spec.hidden_size)
    longer = Spec("rnn", 5, 6, seq_len=4, batch_size=3)
    state.set_spec(longer, RunOptions())
    state.set_snapshot(compute_snapshot(longer, RunOptions()))
    assert not view.rows_check.isChecked() and view.image_shape("h") == (4, 6)
    view.rows_check.setChecked(True)
    assert view.image_shape("h") == (12, 6)
    state.select(batch=1, t=3)
    assert view.t_lines["h"].value() == 7
    view._moved(view.plots["h"].getViewBox().mapViewToScene(pg_point(7, 2)))
    assert "batch 1, unit 2, t 3" in view.hover.text()


def test_the_heading_says_every_row_is_drawn_when_it_is(qtbot) -> None:
    """With every batch row side by side the heading names them all, and the row the value
    after the dash is read from; with one row it names that row (it said 'batch 0' for a
    figure showing b0, b1 and b2)."""
    p = preset("rnn-5-6-2")  # seq_len 1, batch 3: all rows by default
    state, view = shown_view(qtbot, GateView, p.spec, p.options, (1000, 620))
    h = state.snapshot.trace.gates[(0, "fwd", "h")]
    assert view.rows_check.isChecked()
    assert view.caption.text().startswith("RNN · layer 0 · all 3 batch rows — batch 0, unit 0, t 0")
    state.select(batch=2, unit=4)
    want = f"all 3 batch rows — batch 2, unit 4, t 0: h = {format_value(h[0, 2, 4])}"
    assert view.caption.text().endswith(want), view.caption.text()
    view.rows_check.setChecked(False)
    assert "· batch 2 — unit 4, t 0: h = " in view.caption.text()
    assert "batch rows" not in view.caption.text()
    # The exported figure says the same; its heading is the caption, with the colour scale.
    lines = _svg_lines(render_gates(compute_snapshot(p.spec, p.options), "svg"))
    heading = [line for line in lines if line.startswith("RNN(5, 6, num_layers=2)")]
    assert len(heading) == 1, lines
    assert "· all 3 batch rows · fixed colour scale — batch 0, unit 0, t 0: h = " in heading[0]
    assert "· batch 0 ·" not in heading[0]


def pg_point(x: float, y: float):
    from PySide6.QtCore import QPointF

    return QPointF(x, y)
