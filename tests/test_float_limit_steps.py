"""The forward's verdict puts a disagreement down to float's limit step by step
(rnnviz.engine.recompute.steps_at_limit): an overflow at one step excuses the steps beside
it, never a real mismatch elsewhere in the same tensor."""

from __future__ import annotations

import torch

from rnnviz.config.presets import preset
from rnnviz.engine.recompute import REL_TOL, Diff, steps_at_limit
from rnnviz.engine.tracing import trace_spec

BIG = 3.0e38


def _run(steps: int = 10) -> torch.Tensor:
    """torch's side of a relu run that overflows at its last step: (T, B=2, H=3)."""
    b = torch.linspace(0.1, 1.0, steps * 6).reshape(steps, 2, 3)
    b[-2] = BIG  # the step before the overflow, at the limit
    b[-1, 0] = float("inf")
    b[-1, 1] = float("nan")
    return b


def test_an_overflow_excuses_the_steps_beside_it():
    b = _run()
    a = b.clone()
    a[-1] = float("nan")  # one summation order overflowed, the other did not: step 9 only
    a[-2] = BIG * 0.999  # round-off of values at the limit: step 8
    diff = Diff()
    diff.add(a, b, steps=True)
    assert diff.at_float_limit and diff.real == 0 and diff.mismatched == 3
    assert steps_at_limit(a, b, REL_TOL)


def test_a_real_mismatch_far_from_the_overflow_is_real():
    b = _run()
    a = b.clone()
    a[-1] = float("nan")
    a[2, 1, 0] += 0.1  # a wrong value at t = 2, seven steps from any overflow
    whole = Diff()
    whole.add(a, b)  # the tensor-wide rule alone: excused by t = 9 (the bug this guards)
    assert whole.at_float_limit
    diff = Diff()
    diff.add(a, b, steps=True)
    assert diff.real == 1 and not diff.at_float_limit
    assert not steps_at_limit(a, b, REL_TOL)


def test_a_cancellation_after_huge_values_is_judged_at_their_scale():
    # h_t a small difference of huge terms read from h_{t-1} ~ 3e38: its round-off is
    # relative to those terms (1e31 of 3e38), not to h_t's own size.
    b = torch.ones(4, 1, 2)
    b[1] = BIG
    a = b.clone()
    a[2] += 1e31
    assert steps_at_limit(a, b, REL_TOL)
    far = b.clone()
    far[1] = 1.0  # the same gap with no huge neighbour is a real disagreement
    assert not steps_at_limit(far + torch.tensor([0.0, 0.0, 1e31, 0.0]).view(4, 1, 1), far, REL_TOL)


def test_the_exploding_preset_is_still_amber():
    p = preset("relu-explode")
    tr = trace_spec(p.spec, p.options)
    assert tr.at_float_limit and tr.nonfinite_mismatch > 0
    assert tr.verdict.state == "amber"


def test_a_wrong_step_beside_huge_values_is_red_with_its_own_gap():
    # No overflow anywhere, values up to 1e35 at the end: tensor-wide, a 10 % error at t = 2
    # was a relative 1e-36 and read "matches torch"; its row's own scale says 0.1.
    b = torch.ones(10, 2, 3)
    b[-1] = 1e35
    a = b.clone()
    a[2, 0, 1] = 1.1 * b[2, 0, 1] + 0.1  # |Δ| = 0.2 against values of 1: rel 0.2 / 2 = 0.1
    diff = Diff()
    diff.add(a, b, steps=True)
    assert diff.real == 1 and not diff.at_float_limit
    assert abs(diff.rel - 0.1) < 1e-6  # the figure the red verdict shows points at it


def test_a_row_at_the_limit_does_not_excuse_another_row():
    b = _run()  # row 0 of the last step is +Inf, row 1 NaN: both rows reach the limit there
    b[-1, 1] = 1.0
    b[-2, 1] = 1.0  # row 1 stays small through the end
    a = b.clone()
    a[-1, 0] = float("nan")  # row 0: one summation order overflowed (excused)
    a[-1, 1] = 1.5  # row 1: wrong by half, beside row 0's overflow
    assert not steps_at_limit(a, b, REL_TOL)
    diff = Diff()
    diff.add(a, b, steps=True)
    assert diff.real == 1


def test_the_usual_trace_is_judged_as_before():
    torch.manual_seed(0)
    b = torch.rand(20, 3, 4) * 2 - 1
    a = b + 1e-7
    diff = Diff()
    diff.add(a, b, steps=True)
    assert diff.real == 0 and diff.at_limit == 0 and diff.rel < REL_TOL


def test_a_relu_that_hid_torchs_overflow_is_amber_not_red():
    """Layer 0, t = 57, row 0, unit 21 of this run: torch's float32 sum overflowed to −Inf and
    relu made it 0; ours and float64 give 2.057e38. The terms there add up past float's
    largest value, so either side is float's limit, not a wrong recurrence (it read DIFFERS,
    as did 20 more of 144 exploding relu runs with a correct recompute)."""
    from rnnviz.config.options import RunOptions
    from rnnviz.config.spec import Spec

    spec = Spec("rnn", 8, 32, 2, nonlinearity="relu", seq_len=80, batch_size=3)
    tr = trace_spec(spec, RunOptions(weight_scale=12.0, seed=2))
    assert tr.gate(0, "fwd", "h")[57, 0, 21] == 0.0  # torch's
    assert tr.verdict.state == "amber", tr.verdict.text
    assert tr.at_float_limit
