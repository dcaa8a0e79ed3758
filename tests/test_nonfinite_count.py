"""The trace's count of non-finite values (`count_nonfinite_all`) equals numpy's exact count
whatever the arrays: the one-call check over all of them only settles the all-finite case."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from rnnviz.engine.recompute import count_nonfinite, count_nonfinite_all


def exact(arrays: list[np.ndarray]) -> int:
    return sum(int(a.size - np.count_nonzero(np.isfinite(a))) for a in arrays)


FLOATS = st.sampled_from([np.float32, np.float64])


@st.composite
def float_arrays(draw: st.DrawFn) -> np.ndarray:
    dtype = draw(FLOATS)
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=5))
    a = draw(hnp.arrays(dtype, shape, elements=st.floats(width=32 if dtype == np.float32 else 64)))
    how = draw(st.sampled_from(["as is", "reversed", "strided", "transposed"]))
    if how == "reversed":
        return a[::-1]
    if how == "strided":
        return a[..., ::2]
    if how == "transposed":
        return a.T
    return a


@settings(max_examples=300, deadline=None)
@given(st.lists(float_arrays(), max_size=6))
def test_count_equals_numpy_for_any_arrays(arrays):
    assert count_nonfinite_all(arrays) == exact(arrays)
    assert sum(count_nonfinite(a) for a in arrays) == exact(arrays)


def test_finite_values_whose_norm_overflows_count_zero():
    big = np.full((4, 8), np.finfo(np.float32).max / 2, dtype=np.float32)
    with np.errstate(over="ignore"):
        assert np.isinf(np.abs(big).sum(dtype=np.float32))  # the quick check cannot settle it
    assert count_nonfinite_all([big, np.zeros(3, np.float32)]) == 0


@pytest.mark.parametrize(
    "arrays, expected",
    [
        ([np.array([1.0, np.inf], np.float32), np.array([np.nan], np.float64)], 2),
        ([np.array([1, 2, 3], np.int64), np.array([np.inf])], 1),
        ([np.zeros((0, 3), np.float32)], 0),
        ([], 0),
        ([np.array([-np.inf, np.inf, np.nan, 0.0], np.float32)[::-1]], 3),
    ],
)
def test_small_examples(arrays, expected):
    assert count_nonfinite_all(arrays) == expected


@st.composite
def views_of_one_buffer(draw: st.DrawFn) -> tuple[object, list]:
    """A torch buffer and some of its views (as a trace's gates are), maybe with Inf/NaN
    placed inside or outside the views."""
    import torch

    dtype = draw(st.sampled_from([torch.float32, torch.float64]))
    t, b, w = draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(2, 6))
    buffer = torch.randn(t, b, 2 * w, dtype=dtype)
    for _ in range(draw(st.integers(0, 3))):
        i, j, k = (
            draw(st.integers(0, t - 1)),
            draw(st.integers(0, b - 1)),
            draw(st.integers(0, 2 * w - 1)),
        )
        buffer[i, j, k] = draw(st.sampled_from([float("inf"), -float("inf"), float("nan")]))
    halves = list(buffer.split(w, dim=2))  # views, as i/f/g/o are of `pre`
    chosen = draw(st.sampled_from([halves, halves[:1], halves[1:], [buffer[1:]], [buffer]]))
    return buffer, chosen


@settings(max_examples=200, deadline=None)
@given(views_of_one_buffer(), st.lists(float_arrays(), max_size=2))
def test_views_of_one_buffer_count_exactly_what_they_hold(case, arrays):
    """The quick check sums each buffer once; a non-finite value in the buffer but outside
    every view recorded is not counted (the exact count reads the views)."""
    _buffer, views = case
    mixed = [*views, *arrays]
    assert count_nonfinite_all(mixed) == exact([v.numpy() for v in views] + arrays)


def test_views_of_one_buffer_are_summed_once():
    import torch

    from rnnviz.engine.recompute import _summands

    pre = torch.zeros(5, 2, 8)
    i, f, g, o = pre.split(2, dim=2)
    other = torch.ones(3)
    assert [t is pre for t in _summands([i, f, g, o, other[:2]])] == [True, False]
    assert len(_summands([i, f, g, o, other[:2], np.zeros(2)])) == 3
