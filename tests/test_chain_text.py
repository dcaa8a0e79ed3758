"""The Chain page's numbers and words: the bound ∏‖J‖₂ and what actually reached cover the same
steps (checked against torch's own gradients), the text counts them right, the Compare page's
decay ratios say what they are, and the grad-* presets' descriptions quote their own numbers."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from rnnviz.config.options import RunOptions
from rnnviz.config.presets import preset
from rnnviz.config.spec import Spec
from rnnviz.engine.tracing import build_module
from rnnviz.grad.chain import chain, compare
from rnnviz.grad.gradients import spec_inputs
from rnnviz.grad.reach import decay_kind, reached, reached_initial, state_grad_norms
from rnnviz.grad.result import grad_result
from rnnviz.grad.text import chain_text, decay_header, decay_lines

# (spec, loss, lanes where only the recursion carries the gradient from any t on)
BOUNDED = [
    (Spec("rnn", 3, 6, 1, seq_len=9, batch_size=2), "last", [(0, "fwd")]),
    (Spec("rnn", 3, 5, 1, nonlinearity="relu", seq_len=8, batch_size=2), "last", [(0, "fwd")]),
    (Spec("gru", 3, 6, 1, seq_len=9, batch_size=2), "last", [(0, "fwd")]),
    (Spec("lstm", 3, 5, 1, seq_len=9, batch_size=2), "last", [(0, "fwd")]),
    (Spec("lstm", 3, 5, 1, seq_len=7, batch_size=1, proj_size=3), "last", [(0, "fwd")]),
    (Spec("gru", 2, 4, 2, seq_len=7, batch_size=2), "last", [(1, "fwd")]),
    (
        Spec("lstm", 3, 4, 1, seq_len=7, batch_size=2, bidirectional=True),
        "hn",
        [(0, "fwd"), (0, "bwd")],
    ),
    (Spec("rnn", 3, 5, 1, seq_len=8, batch_size=1, bidirectional=True), "hn", [(0, "bwd")]),
]


@pytest.mark.parametrize("spec,loss,lanes", BOUNDED)
@pytest.mark.parametrize("seed,scale", [(0, 1.0), (1, 2.5), (2, 0.6)])
def test_what_reached_never_exceeds_the_bound_over_the_same_steps(spec, loss, lanes, seed, scale):
    res = grad_result(spec, RunOptions(seed=seed, weight_scale=scale), loss)
    assert res.grads.grad_verified
    checked = 0
    for layer, d in lanes:
        for b in range(spec.batch_size):
            cf = res.chains[(layer, d, b)]
            for t in range(spec.seq_len):
                steps = cf.steps(t, d)
                bound = cf.running_product(t, d)
                got = reached(res.grads, layer, d, b, steps)
                assert len(bound) == len(got) == len(steps)
                assert bound[0] == 1.0  # 0 steps at s = t
                if not np.isfinite(got[0]):
                    continue  # no gradient at t
                checked += 1
                assert got[0] == 1.0
                assert np.all(got <= bound * (1 + 1e-6)), (t, d, got / bound)
                end = reached_initial(res.grads, layer, d, b, t)
                assert end <= cf.initial_product(t, d) * (1 + 1e-6)
    assert checked >= spec.seq_len  # the bound was really tested, not skipped


def test_the_old_count_broke_the_bound():
    """With k + 1 factors set against k steps (the bug) the bound fell below what reached."""
    res = grad_result(Spec("gru", 3, 6, 1, seq_len=9, batch_size=2), RunOptions(seed=0), "last")
    cf = res.chains[(0, "fwd", 0)]
    steps = cf.steps(8, "fwd")
    got = reached(res.grads, 0, "fwd", 0, steps)
    inclusive = np.cumprod(cf.factor[steps])
    assert (got > inclusive).any()
    assert np.all(got <= cf.running_product(8, "fwd") * (1 + 1e-6))


def test_lstm_state_gradient_is_torchs_state_adjoint():
    """‖∂L/∂(h_s, c_s)‖ with the state as the independent input of the rest of the run:
    torch's gradient w.r.t. the initial state of the module run over x[s+1:] from (h_s, c_s),
    L = Σ output[T−1], equals `state_grad_norms` (not the total ∂L/∂c_s the Norms page shows)."""
    spec = Spec("lstm", 3, 4, 1, seq_len=6, batch_size=1)
    options = RunOptions(seed=3)
    res = grad_result(spec, options, "last")
    module = build_module(spec, options).double()
    x, (h0, c0) = spec_inputs(spec, options)
    x, hx = x.double(), (h0.double(), c0.double())
    norms = state_grad_norms(res.grads, 0, "fwd", 0)
    total_c = res.grads.c_norms(0, "fwd")
    differs = False
    for s in range(spec.seq_len - 1):
        with torch.no_grad():
            _, (h, c) = module(x[: s + 1], hx)
        h.requires_grad_(True)
        c.requires_grad_(True)
        rest, _ = module(x[s + 1 :], (h, c))
        gh, gc = torch.autograd.grad(rest[-1].sum(), (h, c))
        want = float(torch.sqrt((gh**2).sum() + (gc**2).sum()))
        assert norms[s] == pytest.approx(want, rel=1e-5)
        assert float(torch.linalg.vector_norm(gh)) == pytest.approx(res.grads.norms(0, "fwd")[s])
        differs = differs or abs(float(torch.linalg.vector_norm(gc)) - total_c[s]) > 1e-3
    assert differs  # the total ∂L/∂c_s is another vector
    # At T−1 the state feeds only the loss, through h: (1, …, 1, 0, …, 0).
    assert norms[-1] == pytest.approx(np.sqrt(spec.hidden_size), rel=1e-6)


def _counts(line: str) -> list[tuple[int, str, str]]:
    number = r"(\d+(?:\.\d+)?(?:e[-+]\d+)?)"
    return re.findall(r"(\d+) step\(s\) \((s = \d+|\(h₀, c₀\)|h₀)\): " + number, line)


@pytest.mark.parametrize(
    "spec,layer,d,t",
    [
        (Spec("rnn", 3, 6, 1, seq_len=30, batch_size=1), 0, "fwd", 29),
        (Spec("lstm", 5, 6, 2, seq_len=5, batch_size=3), 1, "fwd", 4),
        (Spec("gru", 3, 4, 1, seq_len=12, batch_size=1, bidirectional=True), 0, "bwd", 0),
    ],
)
def test_chain_text_gives_bound_and_reached_after_the_same_steps(spec, layer, d, t):
    res = grad_result(spec, RunOptions(seed=1), "last" if d == "fwd" else "hn")
    cf = res.chains[(layer, d, 0)]
    steps = cf.steps(t, d)
    n = len(steps)
    text = chain_text(res, layer, d, 0, t)
    lines = text.split("<br>")
    assert f"{n - 1} step(s) to s = {steps[-1]}, then one more into the initial state" in lines[0]
    bound_line = next(x for x in lines if x.startswith("Running product"))
    reached_line = next(x for x in lines if x.startswith("What actually reached"))
    bounds, gots = _counts(bound_line), _counts(reached_line)
    assert [(k, s) for k, s, _ in bounds] == [(k, s) for k, s, _ in gots]
    assert len(bounds) >= 2
    prod = cf.running_product(t, d)
    got = reached(res.grads, layer, d, 0, steps)
    sign = 1 if d == "bwd" else -1
    for (k, s, b), (_, _, g) in zip(bounds[:-1], gots[:-1]):
        k = int(k)
        assert s == f"s = {t + sign * k}"
        assert b == f"{prod[k]:.3g}" and g == f"{got[k]:.3g}"
        assert float(g) <= float(b) * (1 + 1e-2)
    k, s, b = bounds[-1]
    assert int(k) == n and "h₀" in s  # the last: every factor, into the initial state
    assert b == f"{cf.initial_product(t, d):.3g}"
    assert gots[-1][2] == f"{reached_initial(res.grads, layer, d, 0, t):.3g}"
    assert "never exceeds the bound" in reached_line


def test_chain_text_says_when_no_gradient_reaches_t():
    spec = Spec("lstm", 3, 4, 1, seq_len=6, batch_size=1, bidirectional=True)
    res = grad_result(spec, RunOptions(), "last")
    text = chain_text(res, 0, "bwd", 0, 2)
    assert "nan" not in text.lower()
    assert 'no ratio — ‖∂L/∂(h, c)<sub>t</sub>‖ = 0: under loss "last"' in text
    assert float(state_grad_norms(res.grads, 0, "bwd", 0)[2]) == 0.0


def test_decay_lines_explain_each_lane_and_never_print_nan():
    p = preset("bilstm-2")
    cmp = compare(p.spec, p.options, "last")
    lines = decay_lines(cmp)
    head = decay_header(cmp)
    assert all("nan" not in x for x in lines)
    kinds = {(la, d): decay_kind(p.spec, "last", la, d) for la in (0, 1) for d in ("fwd", "bwd")}
    assert kinds == {
        (0, "fwd"): "mixed",
        (0, "bwd"): "mixed",
        (1, "fwd"): "decay",
        (1, "bwd"): "none",
    }
    # The "small = vanished, large = exploded" reading is offered for l1 fwd only.
    assert "l1 fwd: the loss enters only at the last step" in head
    assert "l0 bwd" not in head
    tanh = cmp.entry("RNN tanh")
    n = tanh.norms[(1, "fwd")]
    row = lines[0]
    assert row.startswith("RNN tanh: decay ")
    assert f"l1 fwd {n[0] / n[-1]:.3g}," in row and "l1 bwd —;" in row
    nb = tanh.norms[(0, "bwd")]
    assert f"l0 bwd {nb[-1] / nb[0]:.3g}°" in row  # first step in its own order: input T−1
    assert np.isnan(tanh.decay[(1, "bwd")])  # the data keeps NaN; the words explain it
    assert any(x.startswith("°: gradient enters this lane from the layer above") for x in lines)
    assert any(x.startswith('—: no ratio: loss "last" reads a top backward lane') for x in lines)


def test_decay_under_loss_hn_is_a_decay_in_both_directions():
    spec = Spec("rnn", 3, 5, 1, seq_len=8, batch_size=1, bidirectional=True)
    cmp = compare(spec, RunOptions(), "hn")
    lines = decay_lines(cmp)
    assert not any(x.startswith(("°", "—")) for x in lines)
    nb = cmp.entry("GRU").norms[(0, "bwd")]
    # h_n of the backward lane is its step at input 0: the gradient runs 0 → T−1.
    assert f"l0 bwd {nb[-1] / nb[0]:.3g};" in lines[3]
    assert "l0 fwd, l0 bwd: the loss enters only at the last step" in decay_header(cmp)


def test_grad_preset_descriptions_quote_their_own_numbers():
    p = preset("grad-vanishing")
    res = grad_result(p.spec, p.options, "last")
    cf = res.chains[(0, "fwd", 0)]
    steps = cf.steps(99, "fwd")
    f = cf.factor[steps]
    desc = p.description
    assert f"from {f.min():.2f} to {f.max():.2f}" in desc  # 0.90 to 1.10
    assert f"median {np.median(f):.2f}, {(f < 1).sum()} of {len(f)} below 1" in desc
    bound = cf.running_product(99, "fwd")[99]  # 99 steps, t = 99 to s = 0
    assert 2.5 < bound < 3.5 and "99 steps to t = 0 is about 3" in desc
    n = res.grads.norms(0, "fwd")
    assert f"{n[-1]:.1f} at t = 99" in desc and 5.5e-28 < n[0] < 6.5e-28
    # The vanishing is the product's directions: the true product is tiny.
    ch = chain(res.grads, 0, "fwd")
    assert ch.product[-2] < 1e-26 < 1 < bound
    p = preset("grad-exploding")
    res = grad_result(p.spec, p.options, "last")
    f = res.chains[(0, "fwd", 0)].factor
    assert f.min() > 1 and f"is {f.min():.1f} to {f.max():.1f}" in p.description
