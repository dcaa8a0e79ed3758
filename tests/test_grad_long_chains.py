"""The gradient verdict on long chains: a gradient that travelled hundreds of steps carries
their round-off on both sides, and one that vanished below float32's smallest normal number
keeps only a few bits on both sides. Neither is a disagreement with torch; a wrong gradient
still is."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnviz.config.spec import Spec
from rnnviz.engine.tracing import make_inputs
from rnnviz.grad.gradients import GRAD_RTOL, STEP_ULPS, _GradDiff, grad_rtol, gradients
from rnnviz.grad.text import grad_badge_text

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _grads(cell: str, seq_len: int, scale: float, seed: int, loss: str):
    spec = Spec(cell, 4, 16, 2, seq_len=seq_len, batch_size=2)
    module = spec.build(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.mul_(scale)
    return gradients(module, make_inputs(spec, seed)[0], loss=loss)


@pytest.mark.parametrize(
    "cell, seq_len, scale, seed, loss, what",
    [
        # ∂L/∂h0 vanished to 1.4e-45 (the smallest subnormal): "rel 1" before, both sides
        # 85× off float64's value.
        ("gru", 200, 0.5, 1, "last", "underflow"),
        # ∂L/∂h0 and ∂L/∂c0 at 8e-44 and 2.7e-43: rel 0.07 before.
        ("lstm", 500, 2.0, 1, "last", "underflow"),
        # ∂L/∂h0 at 2.4e-27 after 200 steps: rel 1.07e-4 between the sides, each 4-6e-5
        # from float64's value.
        ("rnn", 200, 2.0, 0, "hn", "long chain"),
    ],
)
def test_vanishing_gradients_agree_with_torch(cell, seq_len, scale, seed, loss, what):
    gt = _grads(cell, seq_len, scale, seed, loss)
    assert gt.grad_state == "ok", (what, gt.grad_max_rel_diff, gt.grad_rtol)
    assert gt.grad_rtol == grad_rtol(np.dtype(np.float32), gt.trace.spec)
    assert grad_badge_text(gt).startswith("gradients match torch")


def test_the_tolerance_grows_with_the_chain_only_past_the_base():
    f32, f64 = np.dtype(np.float32), np.dtype(np.float64)
    short, long = Spec("rnn", 2, 3, 1, seq_len=5), Spec("rnn", 2, 3, 2, seq_len=1000)
    assert grad_rtol(f32, short) == GRAD_RTOL[torch.float32]
    assert grad_rtol(f32, long) == pytest.approx(STEP_ULPS * 2.0**-24 * 1002)
    assert grad_rtol(f64, long) == GRAD_RTOL[torch.float64]  # float64's u · 1002 ≪ 1e-10
    assert grad_rtol(np.dtype(np.float16), short) == 1e-2


def test_below_the_smallest_normal_only_the_absolute_gap_counts():
    tiny = float(np.finfo(np.float32).tiny)
    theirs = np.array([1.4e-45, -2.8e-45, 0.0], dtype=np.float32)  # subnormals
    ours = np.array([0.0, -4.2e-45, 1.4e-45], dtype=np.float32)  # a few subnormal ulps off
    diff = _GradDiff(1e-5)
    diff.add(ours, theirs)
    assert diff.real == 0 and diff.rel <= 1e-5 * 1.01
    assert diff.rel == pytest.approx(float(np.float32(1.4e-45)) / tiny, rel=1e-3)


def test_a_wrong_gradient_still_differs():
    """A gradient off by 10 % reads as a disagreement, at any scale, on any chain length."""
    for scale in (1e-30, 1e-3, 1.0, 1e20):
        theirs = (np.linspace(-1, 1, 64, dtype=np.float32) * scale).astype(np.float32)
        ours = theirs * np.float32(1.1)
        diff = _GradDiff(grad_rtol(np.dtype(np.float32), Spec("rnn", 2, 3, 4, seq_len=2000)))
        diff.add(ours, theirs)
        assert diff.real == 1, scale
    # And a gradient torch says is zero must be zero here (above the subnormal range).
    diff = _GradDiff(1e-5)
    diff.add(np.full(4, 1e-30, np.float32), np.zeros(4, np.float32))
    assert diff.real == 1
