"""Every recorded gate checked against an independent textbook recurrence in float64.

`reference()` below is written from the equations in torch's documentation, not from
rnnviz.engine.gates: a plain loop over layers, directions and time, free-running from h0/c0 (it never
reads torch's h_t), in float64. rnnviz's trace must agree with it to ~1e-5 on every gate array,
and its output/h_n/c_n must be *exactly* what the module itself returns.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnviz
from rnnviz.config.spec import Spec

TOL = 1e-5


def _sigmoid(v: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-v))


def reference(
    module: torch.nn.Module, x: np.ndarray, h0: np.ndarray, c0: np.ndarray | None
) -> tuple[dict, np.ndarray, np.ndarray, np.ndarray | None]:
    """Textbook forward of an nn.RNN/LSTM/GRU in float64.

    x is time-major (T, B, I); h0/c0 are (L*D, B, ·). Returns (gates, output, h_n, c_n) with
    gates[(layer, dir, name)] of shape (T, B, size) indexed by input position (for the
    backward direction, index t is the step that read input t).
    """
    p = {n: v.detach().double().numpy() for n, v in module.named_parameters()}
    mode = module.mode
    dirs = ("fwd", "bwd") if module.bidirectional else ("fwd",)
    steps, batch = x.shape[0], x.shape[1]
    hid = module.hidden_size
    gates: dict = {}
    layer_in = x.astype(np.float64)
    h_n, c_n = [], []
    for layer in range(module.num_layers):
        outs = []
        for d, dname in enumerate(dirs):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            w_ih, w_hh = p["weight_ih" + sfx], p["weight_hh" + sfx]
            b_ih = p.get("bias_ih" + sfx, np.zeros(w_ih.shape[0]))
            b_hh = p.get("bias_hh" + sfx, np.zeros(w_hh.shape[0]))
            w_hr = p.get("weight_hr" + sfx)
            k = layer * len(dirs) + d
            h = h0[k].astype(np.float64)
            c = c0[k].astype(np.float64) if c0 is not None else None
            rec: dict[str, np.ndarray] = {}
            out = np.zeros((steps, batch, h.shape[-1]))
            order = range(steps - 1, -1, -1) if d else range(steps)
            for t in order:
                xt = layer_in[t]
                gi = xt @ w_ih.T + b_ih
                gh = h @ w_hh.T + b_hh
                if mode == "LSTM":
                    a = gi + gh
                    i = _sigmoid(a[:, :hid])
                    f = _sigmoid(a[:, hid : 2 * hid])
                    g = np.tanh(a[:, 2 * hid : 3 * hid])
                    o = _sigmoid(a[:, 3 * hid :])
                    c = f * c + i * g
                    h = o * np.tanh(c)
                    if w_hr is not None:
                        h = h @ w_hr.T
                    vals = {"i": i, "f": f, "g": g, "o": o, "c": c, "h": h}
                elif mode == "GRU":
                    r = _sigmoid(gi[:, :hid] + gh[:, :hid])
                    z = _sigmoid(gi[:, hid : 2 * hid] + gh[:, hid : 2 * hid])
                    n = np.tanh(gi[:, 2 * hid :] + r * gh[:, 2 * hid :])  # b_hn inside r ⊙ (…)
                    h = (1 - z) * n + z * h
                    vals = {"r": r, "z": z, "n": n, "h": h}
                else:
                    a = gi + gh
                    h = np.maximum(a, 0) if mode == "RNN_RELU" else np.tanh(a)
                    vals = {"a": a, "h": h}
                for name, v in vals.items():
                    rec.setdefault(name, np.zeros((steps, *v.shape)))[t] = v
                out[t] = h
            for name, arr in rec.items():
                gates[(layer, dname, name)] = arr
            outs.append(out)
            h_n.append(h)
            if c is not None:
                c_n.append(c)
        layer_in = np.concatenate(outs, axis=2)
    return gates, layer_in, np.stack(h_n), (np.stack(c_n) if c_n else None)


def run_and_check(
    module: torch.nn.Module, x: torch.Tensor, hx, *, tol: float = TOL, exact: bool = True
):
    """Trace `module`, compare with its own forward (exactly, unless `exact` is False) and
    the reference (to tol)."""
    is_lstm = module.mode == "LSTM"
    with torch.no_grad():
        m_out, m_state = module(x, hx) if hx is not None else module(x)
    m_hn, m_cn = m_state if is_lstm else (m_state, None)
    tr = rnnviz.trace(module, x, hx)

    # Torch's own tensors: bit-identical.
    same = (
        np.testing.assert_array_equal
        if exact
        else (lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6))
    )
    same(tr.tensors["output"], m_out.numpy())
    same(tr.tensors["h_n"], m_hn.numpy())
    if is_lstm:
        same(tr.tensors["c_n"], m_cn.numpy())
    else:
        assert "c_n" not in tr.tensors and "c0" not in tr.tensors
    assert tr.max_abs_diff <= tol
    assert tr.verified and tr.nonfinite == 0 and tr.nonfinite_mismatch == 0

    # Independent reference, free-running from the same h0/c0, float64.
    xt = x.transpose(0, 1) if module.batch_first else x
    h0 = tr.tensors["h0"]
    c0 = tr.tensors.get("c0")
    if hx is None:
        assert not h0.any() and (c0 is None or not c0.any()), "default h0/c0 must be zeros"
    ref_gates, ref_out, ref_hn, ref_cn = reference(module, xt.double().numpy(), h0, c0)
    spec = tr.spec
    expected_keys = {
        (layer, d, g)
        for layer in range(spec.num_layers)
        for d in spec.directions
        for g in spec.trace_gates
    }
    assert set(tr.gates) == expected_keys
    for key, ref in ref_gates.items():
        got = tr.gates[key]
        assert got.shape == ref.shape, key
        np.testing.assert_allclose(got, ref, rtol=tol, atol=tol, err_msg=str(key))
    out_tm = m_out.transpose(0, 1) if module.batch_first else m_out
    np.testing.assert_allclose(out_tm.numpy(), ref_out, rtol=tol, atol=tol)
    np.testing.assert_allclose(m_hn.numpy(), ref_hn, rtol=tol, atol=tol)
    if is_lstm:
        np.testing.assert_allclose(m_cn.numpy(), ref_cn, rtol=tol, atol=tol)
    check_identities(tr)
    return tr


def check_identities(tr) -> None:
    """Last layer: fwd h_n == output at the last step, bwd h_n == output at step 0; and the
    recorded h gates are exactly the output columns / h_n slices."""
    spec = tr.spec
    out = tr.tensors["output"]
    out_tm = out.transpose(1, 0, 2) if spec.batch_first else out
    hout, last = spec.out_hidden, spec.num_layers - 1
    hn = tr.tensors["h_n"]
    k = last * spec.num_directions
    np.testing.assert_array_equal(hn[k], out_tm[-1, :, :hout])
    np.testing.assert_array_equal(tr.gate(last, "fwd", "h"), out_tm[:, :, :hout])
    if spec.bidirectional:
        np.testing.assert_array_equal(hn[k + 1], out_tm[0, :, hout:])
        np.testing.assert_array_equal(tr.gate(last, "bwd", "h"), out_tm[:, :, hout:])
    for layer in range(spec.num_layers):
        for d, dname in enumerate(spec.directions):
            h = tr.gate(layer, dname, "h")
            np.testing.assert_array_equal(h[0 if d else -1], hn[layer * spec.num_directions + d])


# ---- the config space ------------------------------------------------------------------------
@st.composite
def specs(draw) -> Spec:
    """Any valid small Spec: every cell and flag, sizes 1–8, seq 1–6, batch 1–3."""
    cell = draw(st.sampled_from(["rnn", "lstm", "gru"]))
    hidden = draw(st.integers(1, 8))
    layers = draw(st.integers(1, 3))
    return Spec(
        cell=cell,
        input_size=draw(st.integers(1, 8)),
        hidden_size=hidden,
        num_layers=layers,
        bidirectional=draw(st.booleans()),
        batch_first=draw(st.booleans()),
        bias=draw(st.booleans()),
        nonlinearity=draw(st.sampled_from(["tanh", "relu"])) if cell == "rnn" else "tanh",
        dropout=draw(st.sampled_from([0.0, 0.5])) if layers > 1 else 0.0,
        proj_size=draw(st.integers(0, hidden - 1)) if cell == "lstm" else 0,
        seq_len=draw(st.integers(1, 6)),
        batch_size=draw(st.integers(1, 3)),
    )


def make_x_hx(spec: Spec, seed: int, with_state: bool):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(spec.input_shape(), generator=gen)
    if not with_state:
        return x, None
    ld = spec.num_layers * spec.num_directions
    h0 = torch.randn(ld, spec.batch_size, spec.out_hidden, generator=gen)
    if spec.cell == "lstm":
        return x, (h0, torch.randn(ld, spec.batch_size, spec.hidden_size, generator=gen))
    return x, h0


@pytest.mark.filterwarnings("ignore::UserWarning")  # proj_size: oneDNN/"non-contiguous" notes
@settings(max_examples=300)  # the heart of the suite; ~10 ms an example
@given(specs(), st.integers(0, 2**31 - 1), st.booleans())
def test_trace_matches_torch_and_textbook_reference(spec, seed, with_state):
    module = spec.build(seed)
    x, hx = make_x_hx(spec, seed, with_state)
    tr = run_and_check(module, x, hx)
    assert tr.spec == spec


@pytest.mark.filterwarnings("ignore::UserWarning")
@given(specs(), st.integers(0, 2**31 - 1), st.booleans(), st.integers(1, 4))
def test_chunked_and_per_lane_paths_match_the_reference(spec, seed, with_state, macs):
    """The paths big configurations take, forced on small ones: each direction run alone in
    chunks of a few steps (the backward one on reversed input), and the cell-state scan run
    one lane at a time. Thresholds are patched for the duration of one example only."""
    import rnnviz.engine.cell_scan
    import rnnviz.engine.fused

    saved = rnnviz.engine.fused.CALL_MACS, rnnviz.engine.cell_scan.SCAN_LANE_ALONE
    step = (
        spec.batch_size
        * spec.gate_count
        * spec.hidden_size
        * (max(spec.layer_input_size(k) for k in range(min(spec.num_layers, 2))) + spec.out_hidden)
    )
    rnnviz.engine.fused.CALL_MACS = step * macs  # `macs` timesteps per fused call
    rnnviz.engine.cell_scan.SCAN_LANE_ALONE = 1
    try:
        assert (
            not rnnviz.engine.fused.whole_layers(spec) or spec.seq_len * spec.num_directions <= macs
        )
        module = spec.build(seed)
        x, hx = make_x_hx(spec, seed, with_state)
        # Not exact: see test_chunked_forward_is_bit_identical_to_the_module below.
        run_and_check(module, x, hx, exact=False)
    finally:
        rnnviz.engine.fused.CALL_MACS, rnnviz.engine.cell_scan.SCAN_LANE_ALONE = saved


def test_chunked_forward_agrees_with_the_module_to_round_off_and_says_so(monkeypatch):
    # Per-chunk fused calls round the input projection per chunk, not over all T·B rows at
    # once, so they are not bit-identical to module(x); the trace must not claim they are.
    import rnnviz.engine.fused

    spec = Spec("rnn", 2, 1, seq_len=2, batch_size=2, bias=False)
    monkeypatch.setattr(rnnviz.engine.fused, "CALL_MACS", 1)
    assert not rnnviz.engine.fused.whole_layers(spec)
    module = spec.build(0)
    x, _ = make_x_hx(spec, 0, False)
    with torch.no_grad():
        out, _ = module(x)
    tr = rnnviz.trace(module, x)
    np.testing.assert_allclose(tr.tensors["output"], out.numpy(), rtol=1e-6, atol=1e-7)
    assert tr.verified and any("round-off" in n for n in tr.notes)
    monkeypatch.undo()
    whole = rnnviz.trace(module, x)
    assert not any("round-off" in n for n in whole.notes)
    np.testing.assert_array_equal(whole.tensors["output"], out.numpy())


# ---- tutorial examples -----------------------------------------------------------------------
@pytest.mark.parametrize("cls", [torch.nn.RNN, torch.nn.LSTM, torch.nn.GRU])
def test_tutorial_5_6_2_on_1_3_5(cls):
    torch.manual_seed(0)
    module = cls(5, 6, 2)
    x, h0 = torch.randn(1, 3, 5), torch.randn(2, 3, 6)
    hx = (h0, torch.randn(2, 3, 6)) if cls is torch.nn.LSTM else h0
    tr = run_and_check(module, x, hx)
    assert tr.tensors["output"].shape == (1, 3, 6)
    assert tr.tensors["h_n"].shape == (2, 3, 6)
    if cls is torch.nn.LSTM:
        assert tr.tensors["c_n"].shape == (2, 3, 6)


def _cell_reference(cell: torch.nn.Module, x: np.ndarray, h: np.ndarray, c: np.ndarray | None):
    """Step the textbook equations of a *Cell, float64: dict gate → (T, B, size)."""
    p = {n: v.detach().double().numpy() for n, v in cell.named_parameters()}
    hid = cell.hidden_size
    b_ih = p.get("bias_ih", np.zeros(p["weight_ih"].shape[0]))
    b_hh = p.get("bias_hh", np.zeros(p["weight_hh"].shape[0]))
    rec: dict[str, list] = {}
    for xt in x:
        gi = xt @ p["weight_ih"].T + b_ih
        gh = h @ p["weight_hh"].T + b_hh
        if isinstance(cell, torch.nn.LSTMCell):
            a = gi + gh
            i, f = _sigmoid(a[:, :hid]), _sigmoid(a[:, hid : 2 * hid])
            g, o = np.tanh(a[:, 2 * hid : 3 * hid]), _sigmoid(a[:, 3 * hid :])
            c = f * c + i * g
            h = o * np.tanh(c)
            vals = {"i": i, "f": f, "g": g, "o": o, "c": c, "h": h}
        elif isinstance(cell, torch.nn.GRUCell):
            r = _sigmoid(gi[:, :hid] + gh[:, :hid])
            z = _sigmoid(gi[:, hid : 2 * hid] + gh[:, hid : 2 * hid])
            n = np.tanh(gi[:, 2 * hid :] + r * gh[:, 2 * hid :])
            h = (1 - z) * n + z * h
            vals = {"r": r, "z": z, "n": n, "h": h}
        else:
            a = gi + gh
            h = np.maximum(a, 0) if cell.nonlinearity == "relu" else np.tanh(a)
            vals = {"a": a, "h": h}
        for k, v in vals.items():
            rec.setdefault(k, []).append(v)
    return {k: np.stack(v) for k, v in rec.items()}


CELLS = [
    lambda: torch.nn.RNNCell(4, 2),
    lambda: torch.nn.RNNCell(3, 5, nonlinearity="relu"),
    lambda: torch.nn.LSTMCell(4, 3),
    lambda: torch.nn.GRUCell(4, 3),
    lambda: torch.nn.LSTMCell(2, 3, bias=False),
    lambda: torch.nn.GRUCell(2, 3, bias=False),
]


@pytest.mark.parametrize("make", CELLS)
@pytest.mark.parametrize("with_hx", [False, True])
@pytest.mark.parametrize("unbatched", [False, True])
def test_cell_stepped_matches_user_loop_and_reference(make, with_hx, unbatched):
    torch.manual_seed(3)
    cell = make()
    lstm = isinstance(cell, torch.nn.LSTMCell)
    batch, steps = (1 if unbatched else 2), 3
    x = torch.randn(steps, batch, cell.input_size)
    h = torch.randn(batch, cell.hidden_size) if with_hx else torch.zeros(batch, cell.hidden_size)
    c = torch.randn(batch, cell.hidden_size) if with_hx else torch.zeros(batch, cell.hidden_size)
    # The user's own loop, as in the tutorial.
    hs, hh, cc = [], h, c
    with torch.no_grad():
        for t in range(steps):
            if lstm:
                hh, cc = cell(x[t], (hh, cc))
            else:
                hh = cell(x[t], hh)
            hs.append(hh)
    x_in = x[:, 0] if unbatched else x
    hx = None
    if with_hx:
        hx = ((h[0], c[0]) if unbatched else (h, c)) if lstm else (h[0] if unbatched else h)
    tr = rnnviz.trace(cell, x_in, hx)
    # A Cell's own API: h_t is what each call returned; there is no output or h_n.
    assert tr.api == "cell" and "output" not in tr.tensors and "h_n" not in tr.tensors
    np.testing.assert_array_equal(tr.tensors["h_t"], torch.stack(hs).numpy())
    np.testing.assert_array_equal(tr.tensors["h_t"][-1], hh.numpy())
    if lstm:
        np.testing.assert_array_equal(tr.tensors["c_t"][-1], cc.numpy())
    assert tr.max_abs_diff <= TOL and tr.verified
    assert tr.spec.num_layers == 1 and not tr.spec.bidirectional and tr.spec.seq_len == steps
    ref = _cell_reference(cell, x.double().numpy(), h.double().numpy(), c.double().numpy())
    assert {g for (_, _, g) in tr.gates} == set(ref)
    for g, arr in ref.items():
        np.testing.assert_allclose(tr.gate(0, "fwd", g), arr, rtol=TOL, atol=TOL, err_msg=g)
    if unbatched:
        assert any("unbatched" in n for n in tr.notes)


def test_rnncell_4_2_tutorial_seq3_batch1():
    torch.manual_seed(0)
    cell = torch.nn.RNNCell(4, 2)
    x = torch.randn(3, 1, 4)
    tr = rnnviz.trace(cell, x)
    assert tr.gate(0, "fwd", "h").shape == (3, 1, 2)
    assert tr.gate(0, "fwd", "a").shape == (3, 1, 2)
    ref = _cell_reference(cell, x.double().numpy(), np.zeros((1, 2)), None)
    np.testing.assert_allclose(tr.gate(0, "fwd", "h"), ref["h"], atol=TOL)


# ---- modules users build themselves -----------------------------------------------------------
@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("kind", ["lstm-proj", "gru", "rnn-relu"])
def test_user_module_batch_first_bidirectional(kind):
    torch.manual_seed(1234)  # the user's own seed, nothing to do with Spec.build
    if kind == "lstm-proj":
        m = torch.nn.LSTM(4, 7, num_layers=2, batch_first=True, bidirectional=True, proj_size=3)
    elif kind == "gru":
        m = torch.nn.GRU(4, 7, num_layers=2, batch_first=True, bidirectional=True)
    else:
        m = torch.nn.RNN(
            4, 7, num_layers=2, batch_first=True, bidirectional=True, nonlinearity="relu"
        )
    with torch.no_grad():  # weights the spec's seed could never produce
        for p in m.parameters():
            p.add_(0.1 * torch.randn_like(p))
    x = torch.randn(3, 5, 4)  # (batch, seq, feature)
    tr = run_and_check(m, x, None)
    assert tr.spec.batch_first and tr.spec.bidirectional and tr.spec.batch_size == 3
    assert tr.tensors["output"].shape[:2] == (3, 5)


@pytest.mark.filterwarnings("ignore:LSTM with projections:UserWarning")
@pytest.mark.parametrize("cls", [torch.nn.RNN, torch.nn.LSTM, torch.nn.GRU, "lstm-proj"])
def test_float64_module(cls):
    torch.manual_seed(5)
    if cls == "lstm-proj":
        m = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2).double()
    else:
        m = cls(3, 4, num_layers=2, bidirectional=True).double()
    x = torch.randn(4, 2, 3, dtype=torch.float64)
    tr = run_and_check(m, x, None, tol=1e-10)
    assert tr.tensors["output"].dtype == np.float64
    assert all(a.dtype == np.float64 for a in tr.gates.values())


@pytest.mark.parametrize("cls", [torch.nn.RNN, torch.nn.LSTM, torch.nn.GRU])
def test_bias_false(cls):
    torch.manual_seed(6)
    m = cls(3, 4, num_layers=2, bias=False)
    tr = run_and_check(m, torch.randn(5, 2, 3), None)
    assert not any(n.startswith("bias") for n in tr.params)


@pytest.mark.parametrize("batch_first", [False, True])
def test_unbatched_module_input(batch_first):
    torch.manual_seed(7)
    m = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=batch_first)
    x = torch.randn(5, 3)  # (seq, feature): no batch dim
    h0, c0 = torch.randn(4, 4), torch.randn(4, 4)
    with torch.no_grad():
        out, (hn, cn) = m(x, (h0, c0))
    tr = rnnviz.trace(m, x, (h0, c0))
    assert tr.spec.batch_size == 1 and tr.spec.seq_len == 5
    flat_out = tr.tensors["output"].reshape(out.shape)
    np.testing.assert_allclose(flat_out, out.numpy(), atol=1e-6)
    np.testing.assert_allclose(tr.tensors["h_n"][:, 0], hn.numpy(), atol=1e-6)
    np.testing.assert_allclose(tr.tensors["c_n"][:, 0], cn.numpy(), atol=1e-6)
    assert tr.max_abs_diff <= TOL


# ---- the verification can fail ---------------------------------------------------------------
def test_gru_with_b_hn_outside_reset_product_is_caught():
    """The skeptic's check: a plausible wrong GRU formula differs from torch by far more than
    the tolerance, so agreement at 1e-5 means something."""
    torch.manual_seed(8)
    m = torch.nn.GRU(3, 4)
    with torch.no_grad():
        m.bias_hh_l0.add_(1.0)  # make b_hn large enough to matter
    x = torch.randn(5, 2, 3)
    tr = rnnviz.trace(m, x)
    assert tr.max_abs_diff <= TOL
    p = {n: v.detach().double().numpy() for n, v in m.named_parameters()}
    hid, h = 4, np.zeros((2, 4))
    worst = 0.0
    for t in range(5):
        gi = x[t].double().numpy() @ p["weight_ih_l0"].T + p["bias_ih_l0"]
        gh_w = h @ p["weight_hh_l0"].T  # no bias
        b = p["bias_hh_l0"]
        r = _sigmoid(gi[:, :hid] + gh_w[:, :hid] + b[:hid])
        z = _sigmoid(gi[:, hid : 2 * hid] + gh_w[:, hid : 2 * hid] + b[hid : 2 * hid])
        n = np.tanh(gi[:, 2 * hid :] + r * gh_w[:, 2 * hid :] + b[2 * hid :])  # WRONG: b_hn outside
        h = (1 - z) * n + z * h
        worst = max(worst, float(np.abs(h - tr.gate(0, "fwd", "h")[t]).max()))
    assert worst > 1e-2


def test_perturbed_weights_are_caught():
    """If the weights used to recompute differ from the module's, max_abs_diff grows."""
    from rnnviz.engine.cancel import Meter
    from rnnviz.engine.inputs import direction_weights
    from rnnviz.engine.recompute import Diff, Lane, recompute

    torch.manual_seed(9)
    m = torch.nn.LSTM(3, 4)
    x = torch.randn(6, 2, 3)
    with torch.no_grad():
        out, (hn, cn) = m(x)
        w = direction_weights(m, 0, 0)
        w.w_hh = w.w_hh + 1e-2  # a copy, off by 0.01
        lane = Lane(0, "fwd", x, out, torch.zeros(2, 4), torch.zeros(2, 4), cn[0], w)
        spec = rnnviz.Spec("lstm", 3, 4, seq_len=6, batch_size=2)
        diff = Diff()
        recompute(spec, [lane], diff, Meter(1, None, None))
    assert diff.abs > 1e-4
    assert rnnviz.trace(m, x).max_abs_diff <= TOL


def test_backward_index_t_is_the_step_that_read_input_t():
    """Spelled out with a GRUCell holding the reverse weights: the backward direction's first
    step reads the last input from h0, and is recorded at index T-1; index 0 is its last step."""
    torch.manual_seed(11)
    m = torch.nn.GRU(3, 4, bidirectional=True)
    x, h0 = torch.randn(5, 2, 3), torch.randn(2, 2, 4)
    tr = rnnviz.trace(m, x, h0)
    cell = torch.nn.GRUCell(3, 4)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).copy_(getattr(m, f"{name}_l0_reverse"))
        h = h0[1]
        for t in (4, 3, 2, 1, 0):  # the order the backward direction runs
            h = cell(x[t], h)
            np.testing.assert_allclose(tr.gate(0, "bwd", "h")[t], h.numpy(), atol=1e-6)
    np.testing.assert_allclose(tr.tensors["h_n"][1], h.numpy(), atol=1e-6)
    np.testing.assert_array_equal(tr.tensors["output"][0, :, 4:], tr.tensors["h_n"][1])


@pytest.mark.filterwarnings("ignore::UserWarning")
@given(
    specs(),
    st.integers(0, 2**31 - 1),
    st.sampled_from(["randn", "zeros", "ones"]),
    st.sampled_from(["zeros", "randn"]),
    st.sampled_from([0.5, 1.0, 2.0]),
)
def test_trace_spec_matches_the_reference(spec, seed, input_kind, init, scale):
    """What the window and CLI run: build_module + make_inputs + trace, any run options."""
    from rnnviz.engine.tracing import build_module, trace_spec

    options = rnnviz.RunOptions(seed=seed, input_kind=input_kind, init=init, weight_scale=scale)
    tr = trace_spec(spec, options)
    assert tr.spec == spec and tr.verified
    module = build_module(spec, options)
    x = torch.from_numpy(tr.tensors["input"])
    xt = x.transpose(0, 1) if spec.batch_first else x
    gates, out, h_n, c_n = reference(
        module, xt.double().numpy(), tr.tensors["h0"], tr.tensors.get("c0")
    )
    scale_tol = TOL * max(1.0, float(np.abs(out).max()))
    for key, ref in gates.items():
        np.testing.assert_allclose(tr.gates[key], ref, rtol=TOL, atol=scale_tol, err_msg=str(key))
    np.testing.assert_allclose(tr.tensors["h_n"], h_n, rtol=TOL, atol=scale_tol)
    assert (init == "zeros") == (not tr.tensors["h0"].any())
    check_identities(tr)


def test_a_forward_that_disagrees_with_its_weights_is_reported():
    """Public-API skeptic: a module whose own forward runs different weights from the ones it
    exposes cannot be verified; the trace says so instead of showing a clean 1e-8."""

    class Tampered(torch.nn.GRU):
        def forward(self, x, hx=None):
            out, h = super().forward(x, hx)
            return out + 1e-2, h

    torch.manual_seed(12)
    m = Tampered(3, 4)
    tr = rnnviz.trace(m, torch.randn(4, 2, 3))
    assert tr.max_abs_diff >= 1e-2 - 1e-7
    assert not tr.verified
