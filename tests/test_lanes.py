"""Lanes on demand: a partial trace claims only the lanes it verified, and every lane computed
later equals the full trace bit for bit (explicit cases and Hypothesis over configs)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnviz.engine.fused as fused
from rnnviz.config.spec import Spec
from rnnviz.engine.lanes import complete_lanes, lane_set
from rnnviz.engine.record import Trace
from rnnviz.engine.tracing import make_inputs, trace, trace_spec
from rnnviz.io.trace_file import load_trace, save_trace

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # oneDNN's proj_size notice

BILSTM = Spec("lstm", 5, 6, 2, bidirectional=True, seq_len=7, batch_size=3)


def assert_same_trace(a: Trace, b: Trace) -> None:
    """Every recorded array and every verification figure identical, bit for bit."""
    assert list(a.gates) == list(b.gates)
    for key in a.gates:
        assert np.array_equal(a.gates[key], b.gates[key], equal_nan=True), key
        assert a.gates[key].dtype == b.gates[key].dtype
    assert a.tensors.keys() == b.tensors.keys()
    for key in a.tensors:
        assert np.array_equal(a.tensors[key], b.tensors[key], equal_nan=True), key
    for name in ("max_abs_diff", "max_rel_diff", "nonfinite", "nonfinite_mismatch"):
        assert getattr(a, name) == getattr(b, name), name
    assert a.pending_lanes == b.pending_lanes
    assert a.verified == b.verified


def test_a_partial_trace_never_says_verified_for_a_lane_it_did_not_verify():
    m = BILSTM.build(0)
    x, hx = make_inputs(BILSTM, 0)
    part = trace(m, x, hx, lanes=[(1, "bwd")])
    assert part.verified_lanes == {(1, "bwd")}
    assert part.pending_lanes == {(0, "fwd"), (0, "bwd"), (1, "fwd")}
    assert (part.lanes_verified, part.lanes_total, part.complete) == (1, 4, False)
    assert not part.verified  # never "verified" while lanes are missing
    assert part.has_lane(1, "bwd") and not part.has_lane(0, "fwd")
    text = part.lanes_text()
    assert text.startswith("verified 1 of 4 lanes (layer 1 bwd)")
    assert "3 not yet recomputed" in text
    for lane in ("layer 0 fwd", "layer 0 bwd", "layer 1 fwd"):
        assert lane not in text  # an unverified lane is never named as verified
    assert "verified 1 of 4 lanes" in part.summary()
    # A pending lane holds torch's own h_t only: no recomputed gate is shown for it.
    for k, d in part.pending_lanes:
        assert [g for (kk, dd, g) in part.gates if (kk, dd) == (k, d)] == ["h"]
    # The forward is whole: every h_t and the outputs are torch's.
    with torch.no_grad():
        out, (h_n, c_n) = m(x, hx)
    np.testing.assert_array_equal(part.tensors["output"], out.numpy())
    np.testing.assert_array_equal(part.tensors["c_n"], c_n.numpy())
    full = complete_lanes(part)
    assert full.complete and full.verified and full.lanes_text() == ""
    assert "lanes" not in full.summary()


def test_a_partial_trace_round_trips_through_npz_as_partial(tmp_path):
    part = trace_spec(BILSTM, lanes=[(0, "bwd")])
    save_trace(part, tmp_path / "p.npz")
    back = load_trace(tmp_path / "p.npz")
    assert back.pending_lanes == part.pending_lanes and not back.verified
    assert_same_trace(complete_lanes(back), trace_spec(BILSTM))


@pytest.mark.parametrize(
    "spec",
    [
        BILSTM,
        Spec("lstm", 28, 128, 2, bidirectional=True, seq_len=12, batch_size=1),
        Spec("lstm", 5, 6, 2, bidirectional=True, proj_size=3, seq_len=7, batch_size=2),
        Spec("lstm", 5, 6, 3, bias=False, seq_len=7, batch_size=3, batch_first=True),
        Spec("gru", 5, 6, 3, bidirectional=True, seq_len=7, batch_size=3, batch_first=True),
        Spec("rnn", 4, 3, 2, bidirectional=True, nonlinearity="relu", seq_len=9, batch_size=2),
        Spec("rnn", 16, 64, 1, seq_len=20, batch_size=2),
    ],
    ids=lambda s: s.title(),
)
def test_every_lane_computed_later_equals_the_full_trace(spec):
    m = spec.build(0)
    x, hx = make_inputs(spec, 0)
    full = trace(m, x, hx)
    assert full.complete and full.verified
    for lane in full.lanes:
        first = trace(m, x, hx, lanes=[lane])
        assert first.verified_lanes == {lane}
        assert_same_trace(complete_lanes(first), full)
        # One at a time, in any order, as the window does it.
        step = first
        for other in reversed(full.lanes):
            step = complete_lanes(step, [other])
        assert_same_trace(step, full)


def test_chunked_onednn_lstm_is_bit_identical_and_lanes_complete_later(monkeypatch):
    """The per-direction kernel in chunks (reverse flag, one buffer) equals module(x)."""
    monkeypatch.setattr(fused, "CALL_MACS", 3000.0)
    spec = Spec("lstm", 5, 6, 2, bidirectional=True, seq_len=37, batch_size=3, batch_first=True)
    assert not fused.whole_layers(spec) and fused.chunk_steps(spec) < spec.seq_len
    m = spec.build(0)
    x, hx = make_inputs(spec, 0)
    full = trace(m, x, hx)
    with torch.no_grad():
        out, (h_n, c_n) = m(x, hx)
    np.testing.assert_array_equal(full.tensors["output"], out.numpy())
    np.testing.assert_array_equal(full.tensors["h_n"], h_n.numpy())
    np.testing.assert_array_equal(full.tensors["c_n"], c_n.numpy())
    assert full.verified and not any("round-off" in n for n in full.notes)
    part = trace(m, x, hx, lanes=[(1, "bwd")])
    assert_same_trace(complete_lanes(part), full)


def test_lanes_are_checked():
    with pytest.raises(ValueError, match="no lane"):
        lane_set(BILSTM, [(2, "fwd")])
    with pytest.raises(ValueError, match="no lane"):
        lane_set(Spec("gru", 3, 4), [(0, "bwd")])
    with pytest.raises(ValueError, match="all"):
        lane_set(BILSTM, "some")
    assert complete_lanes(tr := trace_spec(BILSTM)) is tr  # nothing pending: the same record


@settings(max_examples=25, deadline=None)
@given(
    cell=st.sampled_from(["lstm", "gru", "rnn"]),
    input_size=st.integers(1, 9),
    hidden=st.integers(1, 40),
    layers=st.integers(1, 3),
    bidirectional=st.booleans(),
    batch_first=st.booleans(),
    bias=st.booleans(),
    seq_len=st.integers(1, 12),
    batch=st.integers(1, 5),
    proj=st.integers(0, 3),
    data=st.data(),
)
def test_hypothesis_lanes_later_equal_the_full_trace(
    cell, input_size, hidden, layers, bidirectional, batch_first, bias, seq_len, batch, proj, data
):
    spec = Spec(
        cell,
        input_size,
        hidden,
        layers,
        bidirectional=bidirectional,
        batch_first=batch_first,
        bias=bias,
        proj_size=min(proj, hidden - 1) if cell == "lstm" else 0,
        seq_len=seq_len,
        batch_size=batch,
    )
    m = spec.build(data.draw(st.integers(0, 3)))
    x, hx = make_inputs(spec, 0)
    full = trace(m, x, hx)
    lanes = full.lanes
    first = data.draw(st.lists(st.sampled_from(lanes), min_size=1, max_size=len(lanes)))
    part = trace(m, x, hx, lanes=first)
    assert part.verified_lanes == set(first)
    assert part.verified == (part.complete and full.verified)
    if not part.complete:
        assert f"verified {len(set(first))} of {len(lanes)} lanes" in part.summary()
    assert_same_trace(complete_lanes(part), full)


def test_the_window_stream_verifies_the_lane_the_user_moves_to_next(monkeypatch):
    import rnnviz.document.jobs as jobs
    from rnnviz.config.options import RunOptions

    monkeypatch.setattr(jobs, "STREAM_MACS", 0)
    spec = Spec("gru", 3, 4, 3, bidirectional=True, seq_len=5, batch_size=2)
    focus = [(0, "fwd")]
    stream = jobs._stream_trace(spec, RunOptions(), lambda p: None, lambda: False, lambda: focus[0])
    snap, next_text = next(stream)
    assert snap.trace.verified_lanes == {(0, "fwd")} and "other lanes" in next_text
    focus[0] = (2, "bwd")  # the user selects a lane still pending
    snap, next_text = next(stream)
    assert snap.trace.verified_lanes == {(0, "fwd"), (2, "bwd")} and next_text
    *_, (last, final_text) = stream
    assert final_text == "" and last.trace.complete and last.trace.verified
    assert_same_trace(last.trace, trace_spec(spec))
