"""Gradients through time: rnnviz's recursion against torch's autograd, step loops and FD."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnviz.config.options import RunOptions
from rnnviz.config.spec import Spec
from rnnviz.engine.record import TraceFileError
from rnnviz.engine.tracing import Cancelled, trace
from rnnviz.grad.chain import chain, compare, step_jacobians
from rnnviz.grad.gradients import gradients, gradients_spec, saturation
from rnnviz.io.trace_file import load_gradients, save_gradients, save_trace

pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections:UserWarning")

RTOL = 1e-5
#: The largest relative difference any Hypothesis example produced (reported in GRAD_NOTES).
WORST: list[float] = [0.0]


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    scale = float(np.abs(b).max())
    d = float(np.abs(a.astype(np.float64) - b).max())
    return d / scale if scale else d


@st.composite
def configs(draw):
    cell = draw(st.sampled_from(["rnn", "lstm", "gru"]))
    nl = draw(st.sampled_from(["tanh", "relu"])) if cell == "rnn" else "tanh"
    stepper = draw(st.sampled_from(["module", "module", "cell"]))
    hidden = draw(st.integers(1, 5))
    if stepper == "cell":
        layers, bi, proj = 1, False, 0
    else:
        layers, bi = draw(st.integers(1, 3)), draw(st.booleans())
        proj = draw(st.integers(0, hidden - 1)) if cell == "lstm" else 0
    spec = Spec(
        cell=cell,
        nonlinearity=nl,
        input_size=draw(st.integers(1, 5)),
        hidden_size=hidden,
        num_layers=layers,
        bidirectional=bi,
        batch_first=draw(st.booleans()),
        bias=draw(st.booleans()),
        proj_size=proj,
        seq_len=draw(st.integers(1, 6)),
        batch_size=draw(st.integers(1, 3)),
    )
    options = RunOptions(
        seed=draw(st.integers(0, 1000)),
        init=draw(st.sampled_from(["zeros", "randn"])),
        stepper=stepper,
    )
    return spec, options, draw(st.sampled_from(["last", "sum", "hn"]))


@settings(max_examples=40, deadline=None)
@given(configs())
def test_gradients_match_torch_over_the_config_space(cfg):
    spec, options, loss = cfg
    gt = gradients_spec(spec, options, loss)
    assert gt.trace.verified
    assert gt.grad_verified, gt.summary()
    WORST[0] = max(WORST[0], gt.grad_max_rel_diff)
    # The verdict is not vacuous: check each tensor again here, by hand.
    assert _rel(gt.dx, gt.torch_dx) <= RTOL
    assert _rel(gt.dh0, gt.torch_dh0) <= RTOL
    if spec.cell == "lstm":
        assert _rel(gt.dc0, gt.torch_dc0) <= RTOL
    assert set(gt.dparams) == set(gt.torch_dparams)
    for name, g in gt.torch_dparams.items():
        assert gt.dparams[name].shape == g.shape
        assert _rel(gt.dparams[name], g) <= RTOL, name
    assert gt.dx.shape == gt.trace.tensors["input"].shape
    for (layer, d), a in gt.dh.items():
        assert a.shape == (spec.seq_len, spec.batch_size, spec.out_hidden)
        assert gt.norms(layer, d).shape == (spec.seq_len,)


# ---- ∂L/∂h_t against autograd through an explicit step loop -----------------------------------
def _step_loop(module, x, h0, c0, loss):
    """A textbook per-step forward with torch ops (time-major x), retain_grad on every h_t.

    Returns (loss, hs, cs) with hs[(layer, dir)] a list of h_t by input position."""
    p = dict(module.named_parameters())
    ndir = 2 if module.bidirectional else 1
    hid = module.hidden_size
    steps = x.shape[0]
    layer_in = x
    hs, cs, finals = {}, {}, []
    for layer in range(module.num_layers):
        outs = []
        for d in range(ndir):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            w_ih, w_hh = p["weight_ih" + sfx], p["weight_hh" + sfx]
            b_ih = p.get("bias_ih" + sfx, 0.0)
            b_hh = p.get("bias_hh" + sfx, 0.0)
            k = layer * ndir + d
            h, c = h0[k], (c0[k] if c0 is not None else None)
            seq: list = [None] * steps
            cseq: list = [None] * steps
            for t in range(steps - 1, -1, -1) if d else range(steps):
                gi = layer_in[t] @ w_ih.t() + b_ih
                gh = h @ w_hh.t() + b_hh
                if module.mode == "LSTM":
                    i, f, g, o = (gi + gh).chunk(4, dim=-1)
                    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                    h = torch.sigmoid(o) * torch.tanh(c)
                    if "weight_hr" + sfx in p:
                        h = h @ p["weight_hr" + sfx].t()
                    c.retain_grad()
                    cseq[t] = c
                elif module.mode == "GRU":
                    r = torch.sigmoid(gi[:, :hid] + gh[:, :hid])
                    z = torch.sigmoid(gi[:, hid : 2 * hid] + gh[:, hid : 2 * hid])
                    n = torch.tanh(gi[:, 2 * hid :] + r * gh[:, 2 * hid :])
                    h = (1 - z) * n + z * h
                else:
                    a = gi + gh
                    h = torch.relu(a) if module.mode == "RNN_RELU" else torch.tanh(a)
                h.retain_grad()
                seq[t] = h
            hs[(layer, "bwd" if d else "fwd")] = seq
            cs[(layer, "bwd" if d else "fwd")] = cseq
            finals.append(seq[0] if d else seq[-1])
            outs.append(torch.stack(seq))
        layer_in = torch.cat(outs, dim=2)
    if loss == "last":
        value = layer_in[-1].sum()
    elif loss == "sum":
        value = layer_in.sum()
    else:
        value = torch.stack(finals).sum()
    return value, hs, cs


EXPLICIT = [
    (lambda: torch.nn.RNN(3, 4, num_layers=2, bidirectional=True), "rnn"),
    (lambda: torch.nn.RNN(3, 4, num_layers=2, nonlinearity="relu"), "rnn"),
    (lambda: torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True), "lstm"),
    (lambda: torch.nn.LSTM(3, 5, num_layers=2, bidirectional=True, proj_size=2), "lstm"),
    (lambda: torch.nn.GRU(3, 4, num_layers=2, bidirectional=True), "gru"),
    (lambda: torch.nn.GRU(3, 4, num_layers=3, bias=False), "gru"),
]


@pytest.mark.parametrize("loss", ["last", "sum", "hn"])
@pytest.mark.parametrize("make", [m for m, _ in EXPLICIT])
def test_dh_t_matches_autograd_through_a_step_loop(make, loss):
    torch.manual_seed(3)
    module = make().double()
    ld = module.num_layers * (2 if module.bidirectional else 1)
    hout = module.proj_size or module.hidden_size
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    h0 = torch.randn(ld, 2, hout, dtype=torch.float64)
    c0 = (
        torch.randn(ld, 2, module.hidden_size, dtype=torch.float64)
        if module.mode == "LSTM"
        else None
    )
    gt = gradients(module, x, (h0, c0) if c0 is not None else h0, loss)
    value, hs, cs = _step_loop(module, x, h0, c0, loss)
    value.backward()
    assert abs(value.item() - gt.loss_value) < 1e-12
    for key, seq in hs.items():
        want = np.stack([h.grad.numpy() if h.grad is not None else np.zeros(h.shape) for h in seq])
        np.testing.assert_allclose(gt.dh[key], want, rtol=0, atol=1e-12)
        if c0 is not None:
            want_c = np.stack(
                [c.grad.numpy() if c.grad is not None else np.zeros(c.shape) for c in cs[key]]
            )
            np.testing.assert_allclose(gt.dc[key], want_c, rtol=0, atol=1e-12)
    assert gt.grad_verified and gt.grad_max_rel_diff <= 1e-12


# ---- finite differences in float64 ---------------------------------------------------------
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_finite_differences_float64(cell):
    torch.manual_seed(1)
    module = {
        "rnn": torch.nn.RNN(2, 3, num_layers=2, bidirectional=True),
        "lstm": torch.nn.LSTM(2, 3, num_layers=2, bidirectional=True, proj_size=2),
        "gru": torch.nn.GRU(2, 3, num_layers=2, bidirectional=True),
    }[cell].double()
    x = torch.randn(4, 2, 2, dtype=torch.float64)
    gt = gradients(module, x, None, "sum")

    def loss_at() -> float:
        with torch.no_grad():
            out, _ = module(x)
        return float(out.sum())

    eps = 1e-6
    for tensor, grad in [(x, gt.dx)] + [(p, gt.dparams[n]) for n, p in module.named_parameters()]:
        flat, gflat = tensor.data.view(-1), grad.reshape(-1)
        for idx in range(0, flat.numel(), max(1, flat.numel() // 7)):
            old = float(flat[idx])
            flat[idx] = old + eps
            up = loss_at()
            flat[idx] = old - eps
            down = loss_at()
            flat[idx] = old
            assert abs((up - down) / (2 * eps) - gflat[idx]) < 1e-6
    # h_t cannot be perturbed inside torch's kernel; h0 (the state before the first step of
    # layer 0 forward) can: central differences on it check ∂L/∂h0.
    hout = gt.spec.out_hidden
    h0 = torch.zeros(4, 2, hout, dtype=torch.float64)
    c0 = torch.zeros(4, 2, 3, dtype=torch.float64) if cell == "lstm" else None
    for u in range(hout):
        h0[0, 1, u] = eps
        with torch.no_grad():
            up = float(module(x, (h0, c0) if c0 is not None else h0)[0].sum())
        h0[0, 1, u] = -eps
        with torch.no_grad():
            down = float(module(x, (h0, c0) if c0 is not None else h0)[0].sum())
        h0[0, 1, u] = 0.0
        assert abs((up - down) / (2 * eps) - gt.dh0[0, 1, u]) < 1e-6


# ---- the tutorial examples -------------------------------------------------------------------
@pytest.mark.parametrize("cls", [torch.nn.RNN, torch.nn.LSTM, torch.nn.GRU])
def test_tutorial_examples(cls):
    torch.manual_seed(0)
    module = cls(5, 6, 2)
    x = torch.randn(1, 3, 5)
    h0 = torch.randn(2, 3, 6)
    hx = (h0, torch.randn(2, 3, 6)) if cls is torch.nn.LSTM else h0
    for loss in ("last", "sum", "hn"):
        gt = gradients(module, x, hx, loss)
        assert gt.grad_verified and gt.trace.verified, gt.summary()
        assert gt.dh[(1, "fwd")].shape == (1, 3, 6)
        assert "gradients match torch" in gt.summary()
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(28, 128)
    gt = gradients(lstm, torch.randn(10, 1, 28))
    assert gt.grad_verified and gt.dc[(0, "fwd")].shape == (10, 1, 128)
    by_gate = gt.param_grad_by_gate("weight_hh_l0")
    assert list(by_gate) == ["i", "f", "g", "o"]
    np.testing.assert_array_equal(by_gate["f"], gt.dparams["weight_hh_l0"][128:256])


def test_batch_first_unbatched_and_cells_layouts():
    torch.manual_seed(0)
    m = torch.nn.GRU(3, 4, batch_first=True, bidirectional=True)
    x = torch.randn(2, 5, 3)
    gt = gradients(m, x, None, "last")
    assert gt.dx.shape == (2, 5, 3) and gt.grad_verified
    # batch_first's last step is output[:, -1]: only the layer's step at input position 4.
    assert np.abs(gt.dh[(0, "bwd")][:4]).max() == 0.0
    gt1 = gradients(torch.nn.LSTM(3, 4), torch.randn(5, 3), None, "sum")  # unbatched
    assert gt1.grad_verified and gt1.dx.shape == (5, 1, 3)
    cell = torch.nn.LSTMCell(3, 4)
    gtc = gradients(cell, torch.randn(5, 2, 3), None, "hn")
    assert (
        gtc.grad_verified
        and gtc.cell
        and set(gtc.dparams) == {"weight_ih", "weight_hh", "bias_ih", "bias_hh"}
    )
    assert list(gtc.param_grad_by_gate("bias_ih")) == ["i", "f", "g", "o"]


def test_bad_loss_and_cancel():
    with pytest.raises(ValueError, match="loss"):
        gradients(torch.nn.RNN(2, 2), torch.randn(3, 1, 2), None, "mean")
    seen = []
    gt = gradients_spec(Spec(cell="gru", num_layers=2), progress=seen.append)
    assert seen and seen[-1] == 1.0 and seen == sorted(seen) and gt.grad_verified
    with pytest.raises(Cancelled):
        gradients_spec(Spec(cell="lstm", num_layers=2), cancel=lambda: True)


# ---- chain -------------------------------------------------------------------------------
def _one_step(module, layer_in_t, h, c, direction):
    """One step of layer 0 in `direction` through torch's own fused kernel."""
    sfx = "_l0" + ("_reverse" if direction == "bwd" else "")
    ws = [p for n, p in module.named_parameters() if n.endswith(sfx)]
    args = (ws, True, 1, 0.0, False, False, False)
    if c is not None:
        _, hn, cn = torch._VF.lstm(layer_in_t[None], (h[None, None], c[None, None]), *args)
        return torch.cat([hn[0, 0], cn[0, 0]])
    kernel = torch._VF.gru if module.mode == "GRU" else torch._VF.rnn_tanh
    return kernel(layer_in_t[None], h[None, None], *args)[1][0, 0]


@pytest.mark.parametrize(
    "make",
    [
        lambda: torch.nn.RNN(3, 4, bidirectional=True),
        lambda: torch.nn.GRU(3, 4, bidirectional=True),
        lambda: torch.nn.LSTM(3, 4, bidirectional=True),
        lambda: torch.nn.LSTM(3, 5, proj_size=2),
    ],
)
def test_step_jacobians_equal_autograd_of_one_step(make):
    torch.manual_seed(2)
    module = make().double()
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    gt = gradients(module, x)
    tr, hout = gt.trace, gt.spec.out_hidden
    s = 2
    is_lstm = gt.spec.cell == "lstm"
    for d in gt.spec.directions:
        jac = step_jacobians(gt, 0, d, batch=1)
        prev = s + 1 if d == "bwd" else s - 1
        h = torch.from_numpy(tr.gates[(0, d, "h")][prev, 1])
        state = torch.cat([h, torch.from_numpy(tr.gates[(0, d, "c")][prev, 1])]) if is_lstm else h

        def step(st, d=d):
            return _one_step(module, x[s, 1:2], st[:hout], st[hout:] if is_lstm else None, d)

        want = torch.autograd.functional.jacobian(step, state)
        assert float((want - jac[s]).abs().max()) < 1e-12


def test_chain_bounds_the_gradient_for_a_loss_at_the_last_step():
    torch.manual_seed(4)
    module = torch.nn.RNN(3, 8)
    gt = gradients(module, torch.randn(12, 1, 3), None, "last")
    ch = chain(gt, 0, "fwd")
    norms = gt.norms(0, "fwd")
    assert list(ch.steps) == list(range(11, -1, -1))
    # ‖∂L/∂h_{s−1}‖ ≤ ‖J_s‖ ‖∂L/∂h_s‖: with one batch row and loss only at T−1 the
    # gradient is exactly J_sᵀ ∂L/∂h_s.
    for k, s in enumerate(ch.steps[:-1]):
        assert norms[s - 1] <= ch.factor[k] * norms[s] * (1 + 1e-5)
    assert np.all(ch.product <= ch.bound_product * (1 + 1e-9))
    assert np.all(ch.factor <= ch.step_bound * (1 + 1e-9))
    assert np.all(ch.step_bound <= ch.bound * (1 + 1e-9))
    assert ch.bound == pytest.approx(
        float(torch.linalg.matrix_norm(module.weight_hh_l0.detach().double(), ord=2))
    )
    # and the product is exact: ‖∂L/∂h_0‖ ≤ ‖J_{T−1}⋯J_1‖ ‖∂L/∂h_{T−1}‖
    assert norms[0] <= ch.product[-2] * norms[-1] * (1 + 1e-5)


def test_vanishing_rnn_and_lstm_with_forget_bias():
    spec = Spec(cell="rnn", input_size=4, hidden_size=8, seq_len=50)
    cmp = compare(spec, RunOptions(seed=0), weight_scale=0.5, forget_bias=1.0, clip=0.01)
    tanh = cmp.entry("RNN tanh")
    lstm = cmp.entry("LSTM")
    assert tanh.decay[(0, "fwd")] < 1e-3
    assert lstm.decay[(0, "fwd")] > tanh.decay[(0, "fwd")]
    for e in cmp.entries:
        assert e.gradients.grad_verified
        assert e.norms[(0, "fwd")].shape == (50,)
        assert e.clipped_norm == pytest.approx(min(e.grad_norm, 0.01), rel=1e-5)
    # forget_bias really moved the forget gate: its mean is higher than without it
    plain = compare(spec, RunOptions(seed=0), weight_scale=0.5).entry("LSTM")
    f_with = lstm.gradients.trace.gate(0, "fwd", "f").mean()
    assert f_with > plain.gradients.trace.gate(0, "fwd", "f").mean()
    assert lstm.decay[(0, "fwd")] > plain.decay[(0, "fwd")]


# ---- saturation --------------------------------------------------------------------------
def test_saturation_by_hand():
    tr = trace(torch.nn.LSTM(2, 3), torch.randn(4, 2, 2))
    f = np.array(
        [
            [[0.05, 0.5, 0.95], [0.5, 0.99, 0.01]],
            [[0.05, 0.5, 0.5], [0.5, 0.95, 0.5]],
            [[0.5, 0.05, 0.5], [0.5, 0.5, 0.5]],
            [[0.95, 0.5, 0.5], [0.5, 0.5, 0.5]],
        ],
        dtype=np.float32,
    )
    tr.gates[(0, "fwd", "f")] = f
    sat = saturation(tr, 0, "fwd", "f")
    np.testing.assert_allclose(sat.left, [2 / 8, 1 / 8, 1 / 8])
    np.testing.assert_allclose(sat.right, [1 / 8, 2 / 8, 1 / 8])
    row0 = saturation(tr, 0, "fwd", "f", batch=0)
    np.testing.assert_allclose(row0.left, [2 / 4, 1 / 4, 0])
    np.testing.assert_allclose(row0.right, [1 / 4, 0, 1 / 4])


# ---- files ---------------------------------------------------------------------------------
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_save_load_round_trips_every_key(tmp_path, cell):
    spec = Spec(
        cell=cell,
        num_layers=2,
        bidirectional=True,
        seq_len=4,
        batch_size=2,
        proj_size=2 if cell == "lstm" else 0,
    )
    gt = gradients_spec(spec, RunOptions(init="randn"), "hn")
    path = tmp_path / "g.npz"
    save_gradients(gt, path)
    back = load_gradients(path)
    a, b = gt.to_arrays(), back.to_arrays()
    assert set(a) == set(b)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert back.summary() == gt.summary() and back.grad_verified
    expected = {"grad/input", "grad/h0", "loss", "grad/l1/bwd/h", "grad/param/weight_hh_l1"}
    if cell == "lstm":
        expected |= {"grad/c0", "grad/l0/fwd/c", "grad/param/weight_hr_l0_reverse"}
    assert expected <= set(a)
    assert set(gt.trace.to_arrays()) <= set(a)
    save_trace(gt.trace, tmp_path / "t.npz")
    with pytest.raises(TraceFileError, match="no gradients"):
        load_gradients(tmp_path / "t.npz")


def test_zz_report_worst_hypothesis_difference(capsys):
    # Runs after the Hypothesis test in file order; prints the figure GRAD_NOTES.md quotes.
    with capsys.disabled():
        print(f"\nworst gradient rel diff over the Hypothesis run: {WORST[0]:.2e}")
    assert WORST[0] <= RTOL
