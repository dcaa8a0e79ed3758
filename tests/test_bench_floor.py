"""The bench's full-trace floor (rnnviz.bench.floor) runs exactly the forward's
multiply-adds, through the recompute's own product calls, with the module's weights."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnviz.bench.floor import products_call
from rnnviz.config.spec import Spec


@st.composite
def specs(draw: st.DrawFn) -> Spec:
    cell = draw(st.sampled_from(["rnn", "lstm", "gru"]))
    hidden = draw(st.integers(1, 9))
    return Spec(
        cell,
        draw(st.integers(1, 7)),
        hidden,
        draw(st.integers(1, 3)),
        bidirectional=draw(st.booleans()),
        bias=draw(st.booleans()),
        proj_size=draw(st.integers(0, hidden - 1)) if cell == "lstm" else 0,
        seq_len=draw(st.integers(1, 6)),
        batch_size=draw(st.integers(1, 3)),
    )


@settings(max_examples=40, deadline=None)
@given(specs())
def test_floor_runs_the_forwards_multiply_adds(spec: Spec) -> None:
    products = products_call(spec, spec.build(0))
    assert products.macs == spec.macs
    products.run()


def test_floor_of_the_small_bench_lstm() -> None:
    spec = Spec("lstm", 28, 128, 2, bidirectional=True, seq_len=100, batch_size=1)
    products = products_call(spec, spec.build(0))
    # Per lane one product and one fused multiply-add; 4 lanes.
    assert len(products.calls) == 4
    # 4 gates × 128 × (28 + 128) for layer 0, × (256 + 128) for layer 1, both directions.
    assert products.macs == 100 * 2 * 512 * ((28 + 128) + (256 + 128))


def test_gru_keeps_its_two_biases_apart() -> None:
    spec = Spec("gru", 3, 4, 1, seq_len=2, batch_size=1)
    products = products_call(spec, spec.build(0))
    assert len(products.calls) == 2
    out = [call() for call in products.calls]
    assert all(isinstance(t, torch.Tensor) and t.shape == (2, 12) for t in out)


def test_window_floor_runs_one_lanes_products() -> None:
    spec = Spec("lstm", 28, 128, 2, bidirectional=True, seq_len=100, batch_size=1)
    module = spec.build(0)
    one = products_call(spec, module, frozenset([(0, "fwd")]))
    assert len(one.calls) == 1
    assert one.macs == 100 * 512 * (28 + 128)
    upper = products_call(spec, module, frozenset([(1, "bwd")]))
    assert upper.macs == 100 * 512 * (256 + 128)


@settings(max_examples=30, deadline=None)
@given(specs(), st.data())
def test_core_does_the_traces_own_comparisons(spec: Spec, data: st.DataObject) -> None:
    """The bench's core floor runs the trace's forward and recompute: its comparisons give
    the very figures of a trace of the same lanes (so none of the work is left out)."""
    from rnnviz.bench.floor import core_call, recompute_call
    from rnnviz.engine.lanes import all_lanes
    from rnnviz.engine.tracing import make_inputs, trace

    module = spec.build(0)
    x, _ = make_inputs(spec, 0)
    everything = list(all_lanes(spec))
    some = data.draw(st.lists(st.sampled_from(everything), min_size=1, unique=True))
    for lanes in (None, frozenset(some)):
        traced = trace(module, x, lanes="all" if lanes is None else lanes)
        # The recompute alone (timed after a forward and warm) does the same comparisons.
        for diff in (core_call(spec, module, x, lanes)(), recompute_call(spec, module, x, lanes)()):
            assert diff.abs == traced.max_abs_diff
            assert diff.rel == traced.max_rel_diff
            assert diff.mismatched == traced.nonfinite_mismatch


def test_core_of_the_small_bench_lstm_compares_real_values() -> None:
    from rnnviz.bench.floor import core_call
    from rnnviz.engine.tracing import make_inputs

    spec = Spec("lstm", 28, 128, 2, bidirectional=True, seq_len=100, batch_size=1)
    x, _ = make_inputs(spec, 0)
    diff = core_call(spec, spec.build(0), x, frozenset([(0, "fwd")]))()
    # Round-off, not zero: the recompute's products round differently from oneDNN's forward.
    assert 0.0 < diff.abs < 1e-5
    assert diff.real == 0


def test_after_and_warm_times_the_work_right_after_the_first_call_and_again() -> None:
    from rnnviz.bench.measure import after_and_warm

    calls: list[str] = []
    after, warm = after_and_warm(lambda: calls.append("first"), lambda: calls.append("work"), 3)
    assert calls == ["first", "work", "work"] * 4  # a warm-up round, then 3 timed ones
    assert after >= 0 and warm >= 0
