"""The recompute's matrix products (rnnviz.engine.gemm): oneDNN for float32 on the CPU
(except tiny products), addmm otherwise; both agree with torch's own product, both verify a trace, and a product does not
depend on where its operands sit in memory (a lane recomputed later from the trace's numpy
arrays must get the same bits as the full trace)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnviz.config.spec import Spec
from rnnviz.engine.gemm import SMALL_MACS, linear, linear_add, onednn_takes, uses_onednn
from rnnviz.engine.lanes import complete_lanes
from rnnviz.engine.tracing import make_inputs, trace

ONEDNN = torch.backends.mkldnn.is_available()


def _operands(
    dtype: torch.dtype, n: int = 37, k: int = 19, m: int = 24
) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, k, generator=g, dtype=dtype)
    w = torch.randn(m, k, generator=g, dtype=dtype)
    b = torch.randn(m, generator=g, dtype=dtype)
    other = torch.randn(n, m, generator=g, dtype=dtype)
    return x, w, b, other


def test_the_path_depends_on_dtype_device_and_size_only():
    assert uses_onednn(torch.zeros(2, 2)) == ONEDNN
    assert not uses_onednn(torch.zeros(2, 2, dtype=torch.float64))
    big = torch.zeros(200, 100), torch.zeros(100, 100)  # exactly SMALL_MACS multiply-adds
    assert SMALL_MACS == 200 * 100 * 100
    assert onednn_takes(*big) == ONEDNN
    assert not onednn_takes(torch.zeros(199, 100), big[1])  # one row fewer: tiny, addmm
    assert not onednn_takes(torch.zeros(0, 100), big[1])  # empty: addmm
    assert not onednn_takes(*(t.double() for t in big))
    # Only the shapes count, not where the operands sit: a strided view takes the same path.
    assert onednn_takes(torch.zeros(200, 200)[:, ::2], big[1]) == ONEDNN


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_products_agree_with_torch(dtype):
    x, w, b, other = _operands(dtype)
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    torch.testing.assert_close(linear(x, w, b), x @ w.t() + b, rtol=tol, atol=tol)
    torch.testing.assert_close(linear(x, w), x @ w.t(), rtol=tol, atol=tol)
    want = other + x @ w.t()
    torch.testing.assert_close(linear_add(x, w, other.clone()), want, rtol=tol, atol=tol)


def test_float64_takes_addmm_bit_for_bit():
    x, w, b, other = _operands(torch.float64)
    assert torch.equal(linear(x, w, b), torch.addmm(b, x, w.t()))
    assert torch.equal(linear_add(x, w, other.clone()), other.clone().addmm_(x, w.t()))


@pytest.mark.skipif(not ONEDNN, reason="this torch build has no oneDNN")
def test_float32_takes_onednn_bit_for_bit():
    x, w, b, other = _operands(torch.float32, 200, 100, 100)
    lp = torch.ops.mkldnn._linear_pointwise
    assert torch.equal(linear(x, w, b), lp(x, w, b, "none", [], ""))
    assert torch.equal(linear_add(x, w, other), lp.binary(x, other, w, None, "add"))


def test_tiny_float32_products_take_addmm_bit_for_bit():
    x, w, b, other = _operands(torch.float32)
    assert x.shape[0] * x.shape[1] * w.shape[0] < SMALL_MACS
    assert torch.equal(linear(x, w, b), torch.addmm(b, x, w.t()))
    assert torch.equal(linear_add(x, w, other.clone()), other.clone().addmm_(x, w.t()))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(("n", "k", "m", "shift"), [(37, 19, 24, 1), (12, 5, 5, 1), (12, 5, 5, 2)])
def test_a_product_ignores_memory_layout(dtype, n, k, m, shift):
    """Operands at an odd offset, or strided, give the same bits as dense aligned ones
    (without the alignment in gemm, addmm failed this for float64 and for float32 12×5×5)."""
    x, w, b, other = _operands(dtype, n, k, m)

    def shifted(t: torch.Tensor) -> torch.Tensor:
        buf = torch.empty(t.numel() + shift, dtype=dtype)
        out = buf[shift:].view(t.shape)
        out.copy_(t)
        return out

    strided = torch.empty(x.shape[0], 2 * x.shape[1], dtype=dtype)[:, ::2]
    strided.copy_(x)
    for xs in (shifted(x), strided):
        assert torch.equal(linear(xs, shifted(w), shifted(b)), linear(x, w, b))
        assert torch.equal(
            linear_add(xs, shifted(w), shifted(other)), linear_add(x, w, other.clone())
        )


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_traces_verify_on_either_path_and_lanes_match(dtype, cell):
    spec = Spec(cell, 5, 6, 2, bidirectional=True, seq_len=9, batch_size=3)
    m = spec.build(0).to(dtype)
    x, _ = make_inputs(spec, 0)
    x = x.to(dtype)
    full = trace(m, x)
    assert full.verified and full.max_rel_diff < 1e-4
    later = complete_lanes(trace(m, x, lanes=[(1, "bwd")]))
    for key in full.gates:
        assert np.array_equal(full.gates[key], later.gates[key]), key
    assert later.max_abs_diff == full.max_abs_diff


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_an_rnn_trace_holds_exactly_the_chosen_products(dtype):
    """The recorded pre-activation `a` of a one-layer RNN is bit for bit the chosen path's
    W_ih x + b + W_hh h_{t-1}: oneDNN's for float32 products of SMALL_MACS and more, addmm's
    for float64 and for tiny products. Three sizes: both products tiny, only W_ih x tiny
    (4 inputs, 5 hidden: 20 vs 25 multiply-adds a row), both on oneDNN."""
    for rows in (12, SMALL_MACS // 25 + 1, SMALL_MACS // 20 + 1):
        steps = -(-rows // 2)
        spec = Spec("rnn", 4, 5, 1, seq_len=steps, batch_size=2)
        m = spec.build(0).to(dtype)
        x, _ = make_inputs(spec, 0)
        x = x.to(dtype)
        t = trace(m, x)
        assert t.verified
        h = torch.from_numpy(t.gates[(0, "fwd", "h")])
        hprev = torch.cat([torch.zeros(1, 2, 5, dtype=dtype), h[:-1]]).reshape(2 * steps, 5)
        bias = m.bias_ih_l0 + m.bias_hh_l0
        x2 = x.reshape(2 * steps, 4)
        lp = torch.ops.mkldnn._linear_pointwise
        with torch.no_grad():
            if onednn_takes(x2, m.weight_ih_l0):
                xi = lp(x2, m.weight_ih_l0, bias, "none", [], "")
            else:
                xi = torch.addmm(bias, x2, m.weight_ih_l0.t())
            if onednn_takes(hprev, m.weight_hh_l0):
                want = lp.binary(hprev, xi, m.weight_hh_l0, None, "add")
            else:
                want = xi.addmm_(hprev, m.weight_hh_l0.t())
        assert np.array_equal(t.gates[(0, "fwd", "a")], want.reshape(steps, 2, 5).numpy())
