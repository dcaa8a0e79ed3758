"""Gradient plots' legends and curves say what they draw: a curve a log axis cannot show is
named as such, and the chain's bound curves start at t with 0 steps (power 0)."""

from __future__ import annotations

import numpy as np

from rnnviz.app.views.grad_panels import ChainPlot, NormPlot
from rnnviz.config.options import RunOptions
from rnnviz.config.spec import Spec
from rnnviz.grad.reach import reached
from rnnviz.grad.result import grad_result


def _labels(plot) -> list[str]:
    return [label.text for _sample, label in plot.getPlotItem().legend.items]


def test_a_curve_with_nothing_to_draw_says_so_in_its_legend(qtbot):
    plot = NormPlot()
    qtbot.addWidget(plot)
    plot.add_curve("RNN relu", np.zeros(6), (200, 0, 0))
    plot.add_curve("LSTM", np.array([0.0, 0.5, 1.0, 0.0, 2.0, 3.0]), (0, 0, 200))
    plot.add_curve("GRU", np.array([0.0, np.nan, 0.0]), (0, 200, 0))
    labels = _labels(plot)
    assert labels == [
        "RNN relu (no curve: every value is 0)",
        "LSTM",
        "GRU (no curve: every value is 0 or NaN)",
    ]
    # The data and the keys stay the curve's own.
    np.testing.assert_array_equal(plot.data["RNN relu"], np.zeros(6))
    assert not np.isfinite(plot.curves["RNN relu"].getOriginalDataset()[1]).any()


def test_chain_plot_puts_bound_and_reached_on_the_same_step_counts(qtbot):
    spec = Spec("rnn", 3, 5, 1, seq_len=7, batch_size=1)
    res = grad_result(spec, RunOptions(seed=2), "last")
    cf = res.chains[(0, "fwd", 0)]
    t = 6
    steps = cf.steps(t, "fwd")
    got = reached(res.grads, 0, "fwd", 0, steps)
    plot = ChainPlot()
    qtbot.addWidget(plot)
    plot.show_chain(
        steps, cf.factor[steps], cf.running_product(t, "fwd"), cf.step_bound[steps], cf.bound, got
    )
    x, prod = plot.data["∏‖J‖₂ from t to s (upper bound)"]
    _, powers = plot.data["bound (‖W_hh‖₂·max φ′)^k"]
    _, shown = plot.data["‖∂L/∂h_s‖ ÷ ‖∂L/∂h_t‖ (what reached s)"]
    np.testing.assert_array_equal(x, steps)
    k = t - x  # steps from t to s
    np.testing.assert_allclose(powers, cf.bound**k, rtol=1e-12)
    assert prod[0] == 1.0 and shown[0] == 1.0
    # Each curve bounds the next: what reached ≤ ∏‖J‖₂ ≤ (‖W_hh‖₂)^k, at every s.
    assert np.all(shown <= prod * (1 + 1e-6)) and np.all(prod <= powers * (1 + 1e-9))


def test_a_chain_whose_gradient_at_t_is_zero_says_why_reached_has_no_curve(qtbot):
    """Layer 1 backward of a bidirectional LSTM under loss "last": the loss reads that lane
    only at its first step, so ∂L/∂(h,c) at t = 2 is 0 and "what reached s" is 0/0 at every
    s. Its legend entry stood beside no curve, on screen and in exported plots."""
    spec = Spec("lstm", 5, 6, 2, bidirectional=True, seq_len=6, batch_size=1)
    res = grad_result(spec, RunOptions(seed=0), "last")
    cf = res.chains[(1, "bwd", 0)]
    t = 2
    steps = cf.steps(t, "bwd")
    got = reached(res.grads, 1, "bwd", 0, steps)
    assert np.isnan(got).all()  # 0/0: nothing reached t, so no ratio anywhere
    plot = ChainPlot()
    qtbot.addWidget(plot)
    plot.show_chain(steps, cf.factor[steps], cf.running_product(t, "bwd"), None, None, got, "(h,c)")
    name = "‖∂L/∂(h,c)_s‖ ÷ ‖∂L/∂(h,c)_t‖ (what reached s)"
    assert f"{name} (no curve: every value is NaN)" in _labels(plot)
    assert "∏‖J‖₂ from t to s (upper bound)" in _labels(plot)  # drawable: named as before
    np.testing.assert_array_equal(plot.data[name][1], got)
