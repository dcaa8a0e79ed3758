"""The LSTM cell-state scan: the blocked scan of small lanes agrees with the sequential
recurrence (f near 0, near 1, random; Inf/NaN propagate the same), and a lane's bits do not
depend on which other lanes share the scan; the numpy tanh is accurate and position-blind."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnviz.engine.cell_scan import SCAN_LANE_ALONE, cell_scan, scan_block
from rnnviz.engine.gates import tanh, tanh_


def sequential(i, f, g, c0, reverse):
    """c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t, one step at a time in float64 (the reference)."""
    i, f, g, c = i.double(), f.double(), g.double(), c0.double()
    order = range(i.shape[0] - 1, -1, -1) if reverse else range(i.shape[0])
    out = torch.empty_like(i)
    for t in order:
        c = f[t] * c + i[t] * g[t]
        out[t] = c
    return out


def lane(steps, batch, hidden, seed, f_range=(0.0, 1.0), reverse=False):
    gen = torch.Generator().manual_seed(seed)
    lo, hi = f_range
    i = torch.rand(steps, batch, hidden, generator=gen)
    f = lo + (hi - lo) * torch.rand(steps, batch, hidden, generator=gen)
    g = 2 * torch.rand(steps, batch, hidden, generator=gen) - 1
    c0 = torch.randn(batch, hidden, generator=gen)
    return i, f, g, c0, reverse


def test_block_size_is_the_ceiling_square_root_of_t():
    assert [scan_block(t) for t in (0, 1, 2, 4, 5, 99, 100, 101, 500)] == [
        1, 1, 2, 2, 3, 10, 10, 11, 23,
    ]  # fmt: skip


@pytest.mark.parametrize("steps", [1, 2, 3, 7, 99, 100, 101, 500])
@pytest.mark.parametrize("f_range", [(0.0, 1.0), (0.0, 1e-6), (1 - 1e-6, 1.0), (1.0, 1.0)], ids=str)
@pytest.mark.parametrize("reverse", [False, True])
def test_blocked_scan_agrees_with_the_sequential_recurrence(steps, f_range, reverse):
    lanes = [lane(steps, 2, 5, seed, f_range, reverse) for seed in range(3)]
    for got, args in zip(cell_scan(lanes), lanes):
        want = sequential(*args)
        assert got.shape == want.shape and got.dtype == torch.float32
        # |c| ≤ |c0| + T: the scale the verdict's relative tolerance is measured against.
        scale = 1 + float(want.abs().max())
        assert float((got.double() - want).abs().max()) <= 1e-6 * scale * max(1, steps**0.5)


def test_a_block_product_that_underflows_loses_nothing_visible():
    # f = 1e-4 over 23-step blocks: the block product (1e-92) underflows to 0 in float32.
    steps = 500
    i, f, g, c0, _ = lane(steps, 1, 4, 0)
    f = torch.full_like(f, 1e-4)
    c0 = torch.full_like(c0, 1e30)  # a huge start state, so A ⊙ S is not trivially 0
    got = cell_scan([(i, f, g, c0, False)])[0]
    want = sequential(i, f, g, c0, False)
    assert torch.isfinite(got).all()
    assert float((got.double() - want).abs().max()) <= 1e-6 * (1 + float(want.abs().max()))


def test_nan_and_inf_propagate_as_in_the_sequential_scan():
    steps = 50
    i, f, g, c0, _ = lane(steps, 1, 3, 1, (0.1, 1.0))
    f[17, 0, 0] = float("nan")  # NaN from t = 17 on, across blocks
    i[30, 0, 1], g[30, 0, 1] = float("inf"), 1.0  # +Inf from t = 30 on (f > 0)
    got = cell_scan([(i, f, g, c0, False)])[0]
    want = sequential(i, f, g, c0, False).float()
    assert torch.equal(torch.isnan(got), torch.isnan(want))
    assert torch.equal(torch.isinf(got), torch.isinf(want))
    fin = torch.isfinite(want)
    assert torch.allclose(got[fin], want[fin], rtol=1e-5, atol=1e-5)


@settings(deadline=None, max_examples=40)
@given(
    steps=st.integers(1, 130),
    batch=st.integers(1, 4),
    hidden=st.integers(1, 40),
    others=st.lists(st.tuples(st.integers(0, 9), st.booleans()), max_size=4),
    at=st.integers(0, 4),
    reverse=st.booleans(),
    dtype=st.sampled_from([torch.float32, torch.float64]),
)
def test_a_lanes_bits_do_not_depend_on_the_lanes_scanned_with_it(
    steps, batch, hidden, others, at, reverse, dtype
):
    assert batch * hidden < SCAN_LANE_ALONE  # the shared paths (blocked up to width 128)
    mine = tuple(
        t.to(dtype) if isinstance(t, torch.Tensor) else t
        for t in lane(steps, batch, hidden, 42, reverse=reverse)
    )
    alone = cell_scan([mine])[0]
    crowd = [
        tuple(
            t.to(dtype) if isinstance(t, torch.Tensor) else t
            for t in lane(steps, batch, hidden, seed, reverse=rev)
        )
        for seed, rev in others
    ]
    at = min(at, len(crowd))
    shared = cell_scan([*crowd[:at], mine, *crowd[at:]])[at]
    assert torch.equal(alone, shared)


def test_tanh_is_accurate_and_the_same_bits_at_any_offset_or_stride():
    gen = torch.Generator().manual_seed(3)
    scales = (1e-6, 1e-3, 0.1, 1.0, 3.0, 10.0, 50.0)
    x = torch.cat([torch.randn(20_000, generator=gen) * s for s in scales])
    whole = tanh(x)
    ref = torch.tanh(x.double())
    ulp = torch.from_numpy(np.spacing(ref.float().abs().numpy())).double()
    assert float(((whole.double() - ref).abs() / ulp).max()) <= 2.0
    for offset in range(0, 20):
        for length in (1, 7, 15, 16, 17, 33, 257):
            part = x[offset : offset + length].clone()
            assert torch.equal(tanh_(part), whole[offset : offset + length])
    grid = x[:6000].view(60, 100)
    assert torch.equal(tanh(grid[:, 3:77]), whole[:6000].view(60, 100)[:, 3:77])
    inplace = grid.clone()
    tanh_(inplace[:, 5:40])
    assert torch.equal(inplace[:, 5:40], whole[:6000].view(60, 100)[:, 5:40])
    special = torch.tensor([float("inf"), float("-inf"), float("nan"), 0.0, -0.0])
    assert torch.equal(tanh(special).nan_to_num(7.0), torch.tensor([1.0, -1.0, 7.0, 0.0, -0.0]))
    assert torch.equal(tanh(x.double()), torch.tanh(x.double()))  # other dtypes: torch's
