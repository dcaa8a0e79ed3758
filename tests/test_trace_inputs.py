"""Issue 15, item 7: the notebook API checks its arguments before torch runs.

On the old code these gave torch's internal messages, an AttributeError ("no attribute
'dim'"), a failure after the whole trace (bfloat16), an always-unverified trace (float16),
or — worst — a "verified" trace of a call torch itself refuses.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

from rnnviz.engine.tracing import TraceInputError, trace

warnings.filterwarnings("ignore", message=".*oneDNN.*")


def _m(cls, *a, **kw):
    torch.manual_seed(0)
    return cls(*a, **kw)


X = torch.randn(3, 1, 5, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize(
    "module, x, hx, says",
    [
        (
            _m(nn.LSTM, 5, 6),
            torch.randn(3, 1, 4),
            None,
            "x: dimension 2 (input_size) must be 5, got 4",
        ),
        (
            _m(nn.LSTM, 5, 6),
            X,
            (torch.zeros(1, 1, 6), torch.zeros(1, 1, 5)),
            "c0: dimension 2 (hidden_size) must be 6, got 5",
        ),
        (
            _m(nn.LSTM, 5, 6, proj_size=4),
            X,
            (torch.zeros(1, 1, 4), torch.zeros(1, 1, 4)),
            "c0: dimension 2 (hidden_size) must be 6, got 4",
        ),
        (
            _m(nn.LSTM, 5, 6, proj_size=4),
            X,
            (torch.zeros(1, 1, 6), torch.zeros(1, 1, 6)),
            "h0: dimension 2 (proj_size) must be 4, got 6",
        ),
        (_m(nn.GRU, 5, 6).bfloat16(), X.bfloat16(), None, "half precision"),
        (_m(nn.GRU, 5, 6).half(), X.half(), None, "half precision"),
        (_m(nn.GRU, 5, 6), X.double(), None, "x: dtype torch.float64 differs"),
        (_m(nn.GRU, 5, 6), X, torch.zeros(1, 1, 6).double(), "h0: dtype torch.float64"),
        (_m(nn.GRU, 5, 6), X, torch.zeros(2, 1, 6), "h0: dimension 0"),
        (_m(nn.RNN, 5, 6, bidirectional=True), X, torch.zeros(3, 1, 6), "must be 2, got 3"),
        (
            _m(nn.LSTM, 5, 6, num_layers=2),
            X,
            (torch.zeros(2, 1, 6), torch.zeros(3, 1, 6)),
            "c0: dimension 0 (num_layers × num_directions) must be 2, got 3",
        ),
        (_m(nn.LSTM, 5, 6), X, torch.zeros(1, 1, 6), "pair (h0, c0)"),
        (_m(nn.GRU, 5, 6), X, torch.zeros(1, 2, 6), "h0: dimension 1 (batch) must be 1, got 2"),
        (_m(nn.GRU, 5, 6), torch.randn(2, 3, 1, 5), None, "x: expected 3-D"),
        (_m(nn.GRU, 5, 6), torch.zeros(0, 1, 5), None, "no values"),
        (_m(nn.GRU, 5, 6), torch.ones(3, 1, 5, dtype=torch.int64), None, "floating-point"),
        (_m(nn.GRU, 5, 6), "abc", None, "expected a torch.Tensor"),
        (_m(nn.GRU, 5, 6), [[1.0, 2.0], [3.0]], None, "cannot be read"),
        (_m(nn.GRUCell, 5, 6), torch.randn(3, 2, 5), torch.zeros(3, 6), "h0: dimension 0 (batch)"),
    ],
)
def test_bad_calls_are_refused_before_torch_runs(module, x, hx, says):
    with pytest.raises(TraceInputError) as info:
        trace(module, x, hx)
    assert says in str(info.value)


@pytest.mark.parametrize(
    "module, hx",
    [
        (_m(nn.GRU, 5, 6), torch.zeros(2, 1, 6)),
        (_m(nn.RNN, 5, 6, bidirectional=True), torch.zeros(3, 1, 6)),
        (_m(nn.LSTM, 5, 6, num_layers=2), (torch.zeros(2, 1, 6), torch.zeros(3, 1, 6))),
    ],
)
def test_every_refused_state_is_refused_by_torch_too(module, hx):
    with pytest.raises(RuntimeError):
        module(X, hx)
    with pytest.raises(TraceInputError):
        trace(module, X, hx)


def test_numpy_and_list_inputs_are_converted_to_the_modules_dtype():
    m = _m(nn.GRU, 5, 6)
    a = trace(m, X.numpy().astype(np.float64))
    b = trace(m, X.tolist())
    c = trace(m, X)
    assert a.verified and b.verified
    assert a.tensors["input"].dtype == np.float32
    np.testing.assert_array_equal(a.tensors["output"], c.tensors["output"])
    np.testing.assert_array_equal(b.tensors["output"], c.tensors["output"])


@pytest.mark.parametrize("batch_first", [False, True])
def test_packed_sequence_gives_one_trace_per_sequence_to_its_own_length(batch_first):
    m = _m(nn.LSTM, 5, 6, batch_first=batch_first, num_layers=2)
    g = torch.Generator().manual_seed(3)
    seqs = [torch.randn(n, 5, generator=g) for n in (4, 2, 5)]
    packed = nn.utils.rnn.pack_sequence(seqs, enforce_sorted=False)
    h0 = torch.randn(2, 3, 6, generator=g)
    c0 = torch.randn(2, 3, 6, generator=g)
    traces = trace(m, packed, (h0, c0))
    assert [t.spec.seq_len for t in traces] == [4, 2, 5]
    out, _ = m(packed, (h0, c0))
    padded, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=batch_first)
    for i, t in enumerate(traces):
        assert t.verified and t.spec.batch_size == 1
        assert f"sequence {i} of 3" in t.notes[-1]
        want = padded[i, : len(seqs[i])] if batch_first else padded[: len(seqs[i]), i]
        got = t.tensors["output"][0] if batch_first else t.tensors["output"][:, 0]
        np.testing.assert_allclose(got, want.detach().numpy(), atol=1e-6)
        # Each sequence starts from its own column of the batch's state.
        np.testing.assert_array_equal(t.tensors["h0"][:, 0], h0[:, i].numpy())


def test_float64_is_traced_and_verified():
    m = _m(nn.GRU, 5, 6).double()
    t = trace(m, X.double())
    assert t.verified and t.tensors["output"].dtype == np.float64
