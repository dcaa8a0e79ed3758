"""rnnviz.analysis.values prints a float32 array exactly as `str(torch.tensor)` does, for many
shapes and values (fixed, integer and scientific notation, Inf/NaN, summarised with `...`),
and records where each element landed."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from rnnviz.analysis.values import torch_print, torch_str

EXAMPLES = [
    np.float32(0.5),
    np.zeros(3),
    np.ones((2, 3)),
    np.array([1.0, 2.0, 3e9]),
    np.array([1e-5, 0.5]),
    np.array([0.1, -12345.678]),
    np.array([np.inf, -np.inf, np.nan, 0.0]),
    np.array([np.inf, 1.5, np.nan]),
    np.array([3.0, np.nan, -7.0]),
    np.array([-0.0, 0.0]),
    np.array([1.8e37, -2.5e38, 3.0]),
    np.arange(12).reshape(3, 4) / 7,
    np.arange(2000).reshape(20, 100) / 3,  # summarised
    np.arange(1500),  # summarised, integers
    np.random.default_rng(0).standard_normal((3, 2, 4)),
    np.random.default_rng(1).standard_normal((2, 3, 40)),  # wraps lines
    np.random.default_rng(2).standard_normal((4, 5, 6, 7)) * 1e-3,
    np.random.default_rng(3).standard_normal((10, 10, 11)),  # > threshold, 3-D
    np.zeros((0, 3)),
    np.zeros(0),
    np.full((2, 2), 1e8),
    np.full((2, 2), 1.00001e8),
    np.array([0.00009999, 0.1]),
]


@pytest.mark.parametrize("arr", EXAMPLES, ids=range(len(EXAMPLES)))
def test_prints_as_torch(arr) -> None:
    a = np.asarray(arr, dtype=np.float32)
    assert torch_str(a) == str(torch.from_numpy(a.copy()))


@settings(max_examples=300, deadline=None)
@given(
    hnp.arrays(
        np.float32,
        hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=12),
        elements=st.floats(width=32, allow_nan=True, allow_infinity=True),
    )
)
def test_prints_as_torch_for_any_float32(a) -> None:
    assert torch_str(a) == str(torch.from_numpy(a.copy()))


@settings(max_examples=100, deadline=None)
@given(
    hnp.arrays(
        np.float32,
        hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6),
        elements=st.integers(-50, 50).map(float) | st.floats(-1e3, 1e3, width=32),
    )
)
def test_prints_as_torch_for_small_and_integer_values(a) -> None:
    assert torch_str(a) == str(torch.from_numpy(a.copy()))


def test_spans_point_at_each_element_s_text() -> None:
    a = np.random.default_rng(5).standard_normal((3, 2, 4)).astype(np.float32)
    p = torch_print(a)
    assert len(p.spans) == a.size
    for index, (s, e) in p.spans.items():
        assert float(p.text[s:e]) == pytest.approx(float(a[index]), abs=5e-5)
    # Summarised: only shown elements have spans, and the `...` has none.
    big = np.arange(3000, dtype=np.float32).reshape(30, 100)
    p = torch_print(big)
    assert (0, 0) in p.spans and (29, 99) in p.spans and (15, 50) not in p.spans
    s, e = p.spans[(29, 97)]
    assert float(p.text[s:e]) == 2997.0
