"""What a gradient through time reached, as norms: ‖∂L/∂state_s‖ for every step, what left a
step and arrived at another, and what a lane's ratio measures (`decay_kind`). numpy only, so
the window's text (rnnviz.grad.text) and badges can use it without importing torch."""

from __future__ import annotations

import numpy as np

from rnnviz.config.spec import Spec
from rnnviz.grad.record import GradTrace


def state_grad_norms(gt: GradTrace, layer: int, direction: str, batch: int) -> np.ndarray:
    """‖∂L/∂state_s‖₂ for every input position s (batch row `batch`), float64: the gradient
    the step Jacobians J_s carry, with the state as the chain's step_jacobians takes it.

    RNN, GRU: the state is h and this is ‖∂L/∂h_s‖ (the total dh). LSTM: the state is (h, c)
    with h_s and c_s independent coordinates, so its c part is what reaches c_s through the
    next step only, f_{next}·∂L/∂c_{next} (next = s + 1 forward, s − 1 backward; 0 at the
    direction's last step), not the total ∂L/∂c_s, which also holds the path c_s → h_s
    already counted in ∂L/∂h_s. With that adjoint ∂L/∂state_prev = Jᵀ ∂L/∂state exactly."""
    dh = np.asarray(gt.dh[(layer, direction)][:, batch], dtype=np.float64)
    sq = (dh * dh).sum(axis=1)
    if (layer, direction) in gt.dc:
        dc = np.asarray(gt.dc[(layer, direction)][:, batch], dtype=np.float64)
        f = np.asarray(gt.trace.gates[(layer, direction, "f")][:, batch], dtype=np.float64)
        carry = np.zeros_like(dc)
        if direction == "bwd":
            carry[1:] = f[:-1] * dc[:-1]
        else:
            carry[:-1] = f[1:] * dc[1:]
        sq = sq + (carry * carry).sum(axis=1)
    return np.sqrt(sq)


def initial_state_grad_norm(gt: GradTrace, layer: int, direction: str, batch: int) -> float:
    """‖∂L/∂state_init‖₂ of the lane's initial state (h0, and c0 for an LSTM: c0 feeds only
    the first step, so its total gradient is the adjoint), batch row `batch`."""
    k = gt.spec.state_index(layer, direction)
    sq = float((np.asarray(gt.dh0[k, batch], dtype=np.float64) ** 2).sum())
    if gt.dc0 is not None:
        sq += float((np.asarray(gt.dc0[k, batch], dtype=np.float64) ** 2).sum())
    return float(np.sqrt(sq))


def reached(gt: GradTrace, layer: int, direction: str, batch: int, steps: np.ndarray) -> np.ndarray:
    """‖∂L/∂state_s‖ / ‖∂L/∂state_{steps[0]}‖ for s in `steps` (batch row `batch`), float64,
    with `state_grad_norms`' state (h; (h, c) for an LSTM). Element k spans the same k step
    Jacobians as `ChainFactors.running_product(...)[k]`.

    This is what the gradient that left steps[0] actually delivered at s — the true
    ‖(J⋯J)ᵀ g‖, so never above the bound, when nothing else feeds the lane between steps[0]
    and s (one layer, with loss "last" in the forward direction or loss "hn"); otherwise it also
    holds what other steps' losses and the layers above added on the way. All NaN when
    ‖∂L/∂state_{steps[0]}‖ is 0 (no gradient at steps[0]: nothing to compare with)."""
    norms = state_grad_norms(gt, layer, direction, batch)[steps]
    with np.errstate(divide="ignore", invalid="ignore"):
        return norms / norms[0] if len(norms) and norms[0] > 0 else np.full(len(norms), np.nan)


def reached_initial(gt: GradTrace, layer: int, direction: str, batch: int, t: int) -> float:
    """‖∂L/∂state_init‖ / ‖∂L/∂state_t‖: what reached the initial state from t (NaN when
    the gradient at t is 0); bounded by `ChainFactors.initial_product` like `reached`."""
    at_t = float(state_grad_norms(gt, layer, direction, batch)[t])
    if not at_t > 0:
        return float("nan")
    return initial_state_grad_norm(gt, layer, direction, batch) / at_t


def decay_kind(spec: Spec, loss: str, layer: int, direction: str) -> str:
    """What `CompareEntry.decay` of lane (layer, direction) measures under `loss`:

    - "decay": the loss's gradient enters the lane only at its last step (in the lane's own
      order), so the ratio is how much of it survives the whole recursion back to the first
      step: small = vanished, large = exploded. The top layer's forward lane under "last"
      (output[T−1]), and the top layer's lanes under "hn" (each direction's final step).
    - "none": the loss reads the lane only at its first step (a top backward lane under
      "last": output[T−1] is that lane's first step), so no gradient runs along it; its
      ‖∂L/∂h‖ is 0 at the last step and the ratio is NaN (for T > 1).
    - "mixed": gradient enters at every step (loss "sum", or a lower layer fed by the layer
      above), so the ratio compares totals that include what entered on the way."""
    if layer < spec.num_layers - 1 or loss == "sum":
        return "mixed"
    if loss == "last" and direction == "bwd" and spec.seq_len > 1:
        return "none"
    return "decay"
