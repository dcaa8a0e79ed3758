"""Equations with live numbers: every line equals the trace, and torch computing the same step."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnviz.analysis.equations import fmt, fmt_diff, max_abs_diff, substitute, value_diff
from rnnviz.config.presets import preset
from rnnviz.config.spec import Spec
from rnnviz.document.snapshot import compute_snapshot
from rnnviz.engine.tracing import build_module, make_inputs, trace

TOL = 1e-5


def _all_lines(tr):
    spec = tr.spec
    for layer in range(spec.num_layers):
        for d in spec.directions:
            for t in range(spec.seq_len):
                for b in range(spec.batch_size):
                    for u in range(spec.hidden_size):
                        yield (layer, d, t, u, b), substitute(tr, layer, d, t, u, b)


@pytest.mark.parametrize(
    ("spec", "count"),
    [
        (Spec("lstm", 5, 6, 2, bidirectional=True, batch_first=True, seq_len=4, batch_size=2), 6),
        (Spec("lstm", 5, 6, 2, bidirectional=True, proj_size=3, seq_len=3), 6),
        (Spec("lstm", 3, 4, bias=False, seq_len=3), 6),
        (Spec("gru", 5, 6, 2, bidirectional=True, seq_len=4), 4),
        (Spec("gru", 3, 4, bias=False, batch_first=True, seq_len=3, batch_size=2), 4),
        (Spec("rnn", 5, 6, 2, seq_len=4), 2),
        (Spec("rnn", 3, 4, nonlinearity="relu", bias=False, bidirectional=True, seq_len=3), 2),
    ],
)
def test_every_line_matches_the_trace(spec, count):
    tr = compute_snapshot(spec).trace
    for where, lines in _all_lines(tr):
        assert len(lines) == count
        assert max_abs_diff(lines) <= TOL, where
        layer, d, t, u, b = where
        for line in lines:
            if line.gate in spec.trace_gates:
                assert line.recorded == float(tr.gates[(layer, d, line.gate)][t, b, line.unit])


def test_bias_terms_follow_bias_flag():
    on = substitute(compute_snapshot(Spec("gru", 3, 4, seq_len=2)).trace, 0, "fwd", 1, 0)
    off = substitute(
        compute_snapshot(Spec("gru", 3, 4, seq_len=2, bias=False)).trace, 0, "fwd", 1, 0
    )
    assert "b_ir" in on[0].symbolic and [t.label for t in on[0].terms][1] == "b_ir"
    assert "b_" not in off[0].symbolic and all(not t.label.startswith("b") for t in off[0].terms)
    assert "r_t ⊙ (W_hn h_(t−1) + b_hn)" in on[2].symbolic  # b_hn inside r ⊙ (…), as torch


def _torch_gates(module, x, hx, layer_in, h_prev, c_prev, sfx):
    """The gates of one step computed by torch from the module's weights."""
    w_ih, w_hh = getattr(module, f"weight_ih{sfx}"), getattr(module, f"weight_hh{sfx}")
    pre = layer_in @ w_ih.T + h_prev @ w_hh.T
    if module.bias:
        pre = pre + getattr(module, f"bias_ih{sfx}") + getattr(module, f"bias_hh{sfx}")
    return pre


@pytest.mark.parametrize("direction", ["fwd", "bwd"])
def test_lstm_numbers_equal_torch_computing_the_step(direction):
    torch.manual_seed(3)
    module = torch.nn.LSTM(4, 5, bidirectional=True)
    x = torch.randn(6, 2, 4)
    h0, c0 = torch.randn(2, 2, 5), torch.randn(2, 2, 5)
    tr = trace(module, x, (h0, c0))
    d = 0 if direction == "fwd" else 1
    sfx = "_l0" + ("_reverse" if d else "")
    t = 2
    with torch.no_grad():
        out, _ = module(x, (h0, c0))
        # torch's own h_{t−1}: the module output of the previous step in this direction
        h_prev = out[t + 1 if d else t - 1, :, 5 * d : 5 * (d + 1)]
        pre = _torch_gates(module, x, None, x[t], h_prev, None, sfx)
        i, f, g, o = pre.chunk(4, dim=1)
        i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
    for unit in range(5):
        lines = {line.gate: line for line in substitute(tr, 0, direction, t, unit, batch=1)}
        for name, ref in zip("ifgo", (i, f, g, o)):
            assert lines[name].recomputed == pytest.approx(float(ref[1, unit]), abs=1e-6)
        assert lines["h"].recorded == pytest.approx(float(out[t, 1, 5 * d + unit]), abs=1e-7)


def test_gru_n_gate_equals_torch_grucell():
    torch.manual_seed(4)
    cell = torch.nn.GRUCell(3, 4)
    x = torch.randn(5, 1, 3)
    tr = trace(cell, x)
    with torch.no_grad():
        h = torch.zeros(1, 4)
        for t in range(3):
            h = cell(x[t], h)
        h_next = cell(x[3], h)
    lines = {ln.gate: ln for ln in substitute(tr, 0, "fwd", 3, 2)}
    assert lines["h"].recomputed == pytest.approx(float(h_next[0, 2]), abs=1e-6)


def test_layer_above_reads_both_directions_of_the_layer_below():
    spec = Spec("rnn", 3, 4, 2, bidirectional=True, seq_len=3)
    tr = compute_snapshot(spec).trace
    line = substitute(tr, 1, "bwd", 0, 1)[0]
    w = tr.params["weight_ih_l1_reverse"][1].astype(np.float64)
    below = np.concatenate([tr.gates[(0, "fwd", "h")][0, 0], tr.gates[(0, "bwd", "h")][0, 0]])
    assert line.terms[0].value == pytest.approx(float(w @ below), abs=1e-9)
    assert line.terms[2].label == "W_hh·h_1"  # backward: the step before t = 0 is t = 1
    first = substitute(tr, 1, "bwd", 2, 1)[0]
    assert first.terms[2].label.endswith("h0")


@settings(max_examples=25, deadline=None)
@given(
    cell=st.sampled_from(["lstm", "gru", "rnn"]),
    layers=st.integers(1, 2),
    bi=st.booleans(),
    bf=st.booleans(),
    bias=st.booleans(),
    seq=st.integers(1, 4),
    batch=st.integers(1, 2),
    hidden=st.integers(1, 4),
    proj=st.integers(0, 3),
    seed=st.integers(0, 50),
)
def test_hypothesis_lines_match(cell, layers, bi, bf, bias, seq, batch, hidden, proj, seed):
    proj = proj if cell == "lstm" and proj < hidden else 0
    spec = Spec(
        cell,
        3,
        hidden,
        layers,
        bidirectional=bi,
        batch_first=bf,
        bias=bias,
        seq_len=seq,
        batch_size=batch,
        proj_size=proj,
    )
    module = build_module(
        spec, __import__("rnnviz.config.options", fromlist=["RunOptions"]).RunOptions(seed=seed)
    )
    x, hx = make_inputs(spec, seed, init="randn")
    tr = trace(module, x, hx)
    for where, lines in _all_lines(tr):
        assert max_abs_diff(lines) <= TOL, where


def test_exploding_values_print_as_inf_and_nan_without_raising():
    p = preset("relu-explode")
    tr = compute_snapshot(p.spec, p.options).trace
    texts = []
    for layer in range(p.spec.num_layers):
        for t in range(0, p.spec.seq_len, 3):
            for unit in range(0, p.spec.hidden_size, 4):
                for line in substitute(tr, layer, "fwd", t, unit):
                    texts.append(line.numeric)
                    # Δ is undefined only where overflow reached this equation: at float's
                    # limit the order of summation decides between Inf, NaN and a number
                    # (torch's h is 0 where our pre-activation sums Inf − Inf to NaN).
                    if not line.rel_diff <= TOL:
                        assert line.overflowed, line
    joined = " ".join(texts)
    assert tr.nonfinite > 0
    assert "inf" in joined and "nan" in joined


def test_formatting_and_nan_aware_difference():
    assert fmt(float("nan")) == "nan" and fmt(float("-inf")) == "-inf" and fmt(0.5) == "0.5"
    assert value_diff(math.nan, math.nan) == 0 and value_diff(math.inf, math.inf) == 0
    assert value_diff(math.inf, 1.0) == math.inf and value_diff(1.0, 1.5) == 0.5
    assert fmt_diff(0.0) == "0" and fmt_diff(2.4e-8) == "2.4e-08"


def test_out_of_range_selection_is_an_index_error():
    tr = compute_snapshot(Spec("gru", 3, 4, seq_len=2)).trace
    with pytest.raises(IndexError):
        substitute(tr, 0, "fwd", 2, 0)
    with pytest.raises(IndexError):
        substitute(tr, 0, "bwd", 0, 0)
