"""Gradients through an overflowed run (the relu-explode preset): torch's semantics at NaN,
and a verdict that says "up to float32's limit" instead of "DIFFER" when that is all it is."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from rnnviz.config.presets import preset
from rnnviz.grad.backward import phi_prime
from rnnviz.grad.gradients import _GradDiff
from rnnviz.grad.result import grad_result
from rnnviz.grad.text import grad_badge_text
from rnnviz.io.trace_file import load_gradients, save_gradients

VALUES = [float("nan"), float("inf"), -float("inf"), 0.0, -0.0, -1.5, 2.0, 3e38, -3e38, 1e-45]


def test_relu_derivative_is_torchs_at_nan_and_inf() -> None:
    """relu′ from the output h, against torch's own relu backward (which reads the result):
    the gradient passes wherever h is not ≤ 0, NaN included."""
    a = torch.tensor(VALUES, requires_grad=True)
    h = torch.relu(a)
    (grad,) = torch.autograd.grad(h, a, torch.ones_like(h))
    ours_t = phi_prime(h.detach(), "relu")
    ours_np = phi_prime(h.detach().numpy(), "relu")
    assert torch.equal(ours_t, grad)
    assert np.array_equal(ours_np, grad.numpy())
    assert ours_np.dtype == np.float32 and ours_t.dtype == torch.float32
    assert ours_t[0] == 1.0  # NaN: torch lets the gradient through


def test_tanh_derivative_is_torchs() -> None:
    a = torch.tensor([-3.0, -0.5, 0.0, 0.25, 4.0, float("nan")], requires_grad=True)
    h = torch.tanh(a)
    (grad,) = torch.autograd.grad(h, a, torch.ones_like(h))
    ours = phi_prime(h.detach(), "tanh")
    assert torch.allclose(ours, grad, equal_nan=True, rtol=1e-5, atol=1e-6)


@pytest.fixture(scope="module")
def exploded():
    p = preset("relu-explode")
    return grad_result(p.spec, p.options, "last").grads


def test_relu_explode_gradients_agree_up_to_the_limit(exploded) -> None:
    gt = exploded
    assert math.isnan(gt.loss_value)
    assert gt.grad_state == "amber" and gt.grad_verified and gt.grad_at_float_limit
    # Where both sides are finite they agree to the tolerance, and only a few positions
    # overflowed on one side (before the fix: 1,008 mismatches, rel Δ 1, dx all zero).
    assert gt.grad_max_rel_diff <= gt.grad_rtol
    assert 0 < gt.grad_mismatch < 100
    both = np.isfinite(gt.dx) & np.isfinite(gt.torch_dx)
    assert both.any() and np.abs(gt.torch_dx[both]).max() > 1e30
    np.testing.assert_allclose(gt.dx[both], gt.torch_dx[both], rtol=0, atol=1e-5 * 3.1e38)
    # NaN where torch has NaN (the gradient passes through NaN outputs, as torch's does).
    assert np.isnan(gt.dx).sum() >= np.isnan(gt.torch_dx).sum() - 5
    text = grad_badge_text(gt)
    assert text.startswith("gradients agree with torch up to float32's limit")
    assert f"{gt.grad_mismatch} values overflowed" in text
    assert "DIFFER" not in text and "DIFFER" not in gt.summary()
    assert gt.trace.verdict.text in gt.summary()


def test_the_state_survives_a_file(exploded, tmp_path) -> None:
    path = tmp_path / "g.npz"
    save_gradients(exploded, path)
    back = load_gradients(path)
    assert back.grad_state == "amber" and back.summary() == exploded.summary()


def test_a_real_disagreement_is_not_called_a_limit() -> None:
    """A tensor far from float's limit that disagrees stays "differs", even when another
    tensor disagrees only at the limit."""
    diff = _GradDiff(1e-5)
    at_limit = np.array([np.inf, 3e38, 1.0], dtype=np.float32)
    diff.add(np.array([np.nan, 3e38, 1.0], dtype=np.float32), at_limit)
    assert diff.at_float_limit and diff.mismatch == 1
    diff.add(np.array([1.0, 2.0], dtype=np.float32), np.array([1.0, 2.5], dtype=np.float32))
    assert diff.real == 1 and not diff.at_float_limit


def test_a_large_relative_gap_at_the_limit_is_real() -> None:
    diff = _GradDiff(1e-5)
    diff.add(np.array([1e38, 0.0], dtype=np.float32), np.array([3e38, 0.0], dtype=np.float32))
    assert diff.real == 1 and not diff.at_float_limit


def test_amber_without_mismatches_says_no_count(exploded) -> None:
    """Amber can come from finite values near the limit alone: no "0 values overflowed"."""
    import dataclasses

    from rnnviz.engine.verdict import Verdict

    quiet = dataclasses.replace(exploded, grad_mismatch=0, grad_max_rel_diff=0.01)
    assert quiet.grad_state == "amber"
    assert "0 values" not in grad_badge_text(quiet) and "near float32's maximum" in (
        grad_badge_text(quiet)
    )
    v = Verdict("amber", 1e37, 0.05, 0, 0)
    assert "0 values" not in v.text and "near float32's maximum" in v.text


def test_chain_text_tells_overflow_from_absence(exploded) -> None:
    """Where the gradient at t is Inf/NaN the Chain page said "= 0: no gradient reaches t"."""
    from rnnviz.grad.reach import state_grad_norms
    from rnnviz.grad.result import chain_factors
    from rnnviz.grad.text import chain_text

    gt = exploded
    norms = state_grad_norms(gt, 5, "fwd", 0)
    bad = [t for t in range(len(norms)) if not np.isfinite(norms[t])]
    zero = [t for t in range(len(norms)) if norms[t] == 0]
    assert bad, "relu-explode's top lane should hold an overflowed gradient"

    class Res:  # what chain_text reads of a GradResult
        spec = gt.spec
        grads = gt
        chains = {(5, "fwd", 0): chain_factors(gt, 5, "fwd", 0)}

    text = chain_text(Res, 5, "fwd", 0, bad[0])
    assert "not finite" in text and "no gradient reaches t" not in text
    if zero:
        assert "no gradient reaches t" in chain_text(Res, 5, "fwd", 0, zero[0])
