"""Issue 12 in the window: a Cell drawn as a Cell in every view, one verdict in the badge and
the Shapes tab, recomputed values labelled as rnnviz's, tutorial 001's numbers on screen."""

from __future__ import annotations

import pytest
from app_helpers import front

from rnnviz.analysis.equations import substitute
from rnnviz.config.options import RunOptions
from rnnviz.config.presets import preset
from rnnviz.config.spec import Spec


def _load(qtbot, window, spec, options):
    with qtbot.waitSignal(window.state.sigSnapshotChanged, timeout=60_000) as blocker:
        window.state.set_spec(spec, options)
    return blocker.args[0]


def test_rnncell_preset_is_a_cell_in_every_view(qtbot, window):
    p = preset("rnncell-4-2")
    snap = _load(qtbot, window, p.spec, p.options)
    assert window.config_panel.title.text() == "RNNCell(4, 2)"
    assert window.windowTitle().startswith("rnnviz — RNNCell(4, 2)")
    assert "RNNCell(4, 2) called once per step" in window.graph_view.caption.text()
    scene = window.graph_view.scene
    labels = {n: item.childItems()[0].text() for n, item in scene.node_items.items()}
    assert labels["cell_l0_fwd_t0"] == "RNNCell t=0" and labels["h0_l0_fwd"] == "hx"
    assert not any(k.startswith("hn_") for k in labels)
    shapes = front(window, window.shapes_view)
    assert "RNNCell(4, 2)" in shapes.title.text()
    cells = shapes.tensor_cells()
    assert set(cells) == {"x", "x_t", "hx", "h_t"}
    assert cells["hx"] == ("(1, 2)", "(1, 2) ✓")
    assert cells["h_t"] == ("(1, 2)", "(1, 2) each call ✓")
    assert "for x_t in x: h = cell(x_t, h)" in shapes.calls_label.text()
    names = [shapes.param_tree.topLevelItem(0).child(0).child(i).text(0) for i in range(4)]
    assert names == ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
    assert "RNN(4, 2)" in shapes.counterpart_heading.text()
    assert "weight_ih_l0" in shapes.counterpart_label.text()
    assert "RNNCell" in front(window, window.gate_view).caption.text()
    assert "layer" not in window.gate_view.caption.text()
    window.state.select(t=1)
    assert "RNNCell(4, 2) — call t = 1" in front(window, window.equations_view).header.text()
    assert snap.trace.api == "cell"


def test_tutorial_001_numbers_in_the_window(qtbot, window):
    """torch.manual_seed(0); RNNCell(4, 2); randn(3, 1, 4); zeros h: the first call prints
    h = (-0.6982, -0.2092). The preset shows those digits in the gate view's readout."""
    p = preset("rnncell-4-2")
    snap = _load(qtbot, window, p.spec, p.options)
    h0 = snap.trace.tensors["h_t"][0, 0]
    assert f"{h0[0]:.4f}" == "-0.6982" and f"{h0[1]:.4f}" == "-0.2092"
    window.state.select(t=0, unit=0)
    assert "h = -0.6981" in front(window, window.gate_view).caption.text()
    window.state.select(t=0, unit=1)
    assert "h = -0.2091" in window.gate_view.caption.text()


def test_toggle_switches_module_and_cell_keeping_the_rest(qtbot, window):
    p = preset("rnncell-4-2")
    _load(qtbot, window, p.spec, p.options)
    panel = window.config_panel
    assert panel.api_button.text() == "Show as RNN(4, 2)"
    with qtbot.waitSignal(window.state.sigSnapshotChanged, timeout=60_000) as blocker:
        panel.api_button.click()
    snap = blocker.args[0]
    assert snap.options == RunOptions(stepper="module", seeding="tutorial")
    assert snap.spec == p.spec and snap.trace.api == "module"
    assert "RNN(4, 2)" in front(window, window.shapes_view).title.text()
    assert panel.api_button.text() == "Show as RNNCell(4, 2)"
    # The same weights: the module's output is the cell's h_t.
    assert f"{snap.trace.tensors['output'][0, 0, 0]:.4f}" == "-0.6982"
    # A 2-layer module has no Cell counterpart: the toggle says why instead of failing.
    _load(qtbot, window, Spec("rnn", 5, 6, 2), RunOptions())
    assert not panel.api_button.isEnabled() and "num_layers" in panel.api_button.toolTip()


def test_batch_first_cell_one_verdict_no_contradiction(qtbot, window):
    spec = Spec("lstm", 64, 128, seq_len=10, batch_size=3, batch_first=True)
    snap = _load(qtbot, window, spec, RunOptions(stepper="cell", input_kind="rand"))
    cells = front(window, window.shapes_view).tensor_cells()
    assert cells["x"] == ("(3, 10, 64)", "(3, 10, 64) ✓")
    assert all("✗" not in got for _, got in cells.values())
    assert "FAILS" not in window.shapes_view.identity_label.text()
    assert window.status.badge.text() == snap.trace.verdict.text
    assert snap.trace.verdict.text in window.shapes_view.verdict_label.text()
    assert "for t in range(x.size(1))" in window.shapes_view.calls_label.text()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_relu_explode_labels_recomputed_values_and_warns_in_amber(qtbot, window):
    p = preset("relu-explode")
    snap = _load(qtbot, window, p.spec, p.options)
    # Layer 1, t 61, unit 13: rnnviz's float32 a overflowed to -inf where torch's h is 1.8e37.
    lines = substitute(snap.trace, 1, "fwd", 61, 13)
    a, h = lines
    assert a.recorded_by == "rnnviz" and h.recorded_by == "torch"
    assert a.recorded == float("-inf") and h.recorded > 1e37 and h.overflowed
    window.state.select(layer=1, t=61, unit=13)
    text = front(window, window.equations_view).text()
    assert "rnnviz recomputed (torch does not expose it): -inf" in text
    assert "torch returned: 1.80699e+37" in text
    assert "✗" not in text and "float32's limit" in text


def test_memory_line_says_the_parameters_are_held_twice(qtbot, window):
    """RNN(5, 6, 2) has 162 float32 parameters, 648 B; the estimate holds them twice (the
    module's and the trace's copy), and the line says so instead of "parameters 1.3 KiB"."""
    p = preset("rnn-5-6-2")
    snap = _load(qtbot, window, p.spec, p.options)
    count = sum(a.size for a in snap.trace.params.values())
    assert count == 162
    text = window.config_panel.memory.text()
    assert "parameters 2 × 648 B" in text
