"""What the Gradients view draws, computed once off the GUI thread: one `GradResult` record.

A `GradResult` holds the verified `GradTrace` plus the two things a view must not compute
itself because they need torch or are per-step linear algebra: the spectral norm of every
step Jacobian (the chain's factors, for every lane and batch row when that is affordable)
and the gate saturation fractions. The running product of the factors and the bound are
plain arithmetic on these numbers, so moving the selected t costs nothing.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from rnnviz.config.options import RunOptions
from rnnviz.config.spec import Spec
from rnnviz.grad.backward import param_name, phi_prime
from rnnviz.grad.chain import step_jacobians
from rnnviz.grad.gradients import (
    Cancel,
    Cancelled,
    Progress,
    Saturation,
    gradients,
    gradients_spec,
    saturation,
)
from rnnviz.grad.record import GradTrace

#: Largest step-Jacobian work the job takes on: Σ over lanes and batch rows of T · n³
#: (one SVD of an n × n matrix per step); beyond it the chain is not computed (and says so).
CHAIN_WORK = 4e9
#: Largest number of float64 entries of the step Jacobians of one lane held at once.
CHAIN_MEMORY = 3e7
#: The σ gates saturation is counted for (tanh candidates are not bounded by 0 and 1).
SIGMA_GATES = {"lstm": ("i", "f", "o"), "gru": ("r", "z"), "rnn": ()}

ChainKey = tuple[int, str, int]  # (layer, direction, batch row)


@dataclass(frozen=True)
class ChainFactors:
    """The chain of one (layer, direction, batch row), by input position.

    - `factor[s]`: ‖J_s‖₂, the exact spectral norm (float64) of the step Jacobian
      ∂state_s/∂state_prev(s): diag(φ'(a_s))·W_hh for an RNN, the full ∂h_s/∂h_{s−1} for a
      GRU, the (h, c) state's Jacobian for an LSTM (see rnnviz.grad.chain.step_jacobians).
    - `w_hh_norm`: ‖W_hh‖₂ of the lane.
    - `step_bound[s]`: RNN only, max_u φ'(a_s)·‖W_hh‖₂ (≥ factor[s]); else None.
    - `bound`: RNN only, ‖W_hh‖₂ · sup φ' = ‖W_hh‖₂ (sup tanh' = sup relu' = 1); else None.
    """

    factor: np.ndarray
    w_hh_norm: float
    step_bound: np.ndarray | None
    bound: float | None

    def steps(self, t: int, direction: str) -> np.ndarray:
        """Input positions the gradient from step t visits, in order: t, t−1, …, 0 forward;
        t, t+1, …, T−1 backward."""
        n = len(self.factor)
        return np.arange(t, n) if direction == "bwd" else np.arange(t, -1, -1)

    def running_product(self, t: int, direction: str) -> np.ndarray:
        """The textbook bound for reaching each of steps(t), float64, in steps(t) order:
        element k is ∏ factor[steps[j]] for j < k, the k step Jacobians between steps[0] = t
        and steps[k] (element 0 is the empty product 1). ‖∂state_t/∂state_{steps[k]}‖ ≤ it,
        so it bounds `reached(...)[k]`, which spans the same k steps. The last factor (the
        step into the initial state) is in `initial_product` only."""
        return np.r_[1.0, np.cumprod(self.factor[self.steps(t, direction)])[:-1]]

    def initial_product(self, t: int, direction: str) -> float:
        """∏ factor over all of steps(t): the bound on ‖∂state_t/∂state_init‖ (the initial
        state h0, and c0 for an LSTM), len(steps(t)) Jacobians; bounds `reached_initial`."""
        return float(np.prod(self.factor[self.steps(t, direction)]))


@dataclass(frozen=True)
class GradResult:
    """The grad job's record.

    - `grads`: the GradTrace (rnnviz's recursion beside torch's autograd, with the verdict);
    - `chains[(layer, dir, batch)]`: ChainFactors; empty when too costly (`chain_note` says
      why), or only batch row 0 when every row would be too costly;
    - `saturation[(layer, dir, gate)]`: Saturation(left, right) per unit, pooled over batch
      rows, for the σ gates (LSTM i f o, GRU r z; none for an RNN);
    - `state_size`: n of the step Jacobians (H_out; H_out + H for LSTM).
    """

    grads: GradTrace
    chains: dict[ChainKey, ChainFactors]
    chain_note: str
    saturation: dict[tuple[int, str, str], Saturation] = field(default_factory=dict)
    state_size: int = 0

    @property
    def spec(self) -> Spec:
        """The traced spec."""
        return self.grads.spec


def _state_size(spec: Spec) -> int:
    return spec.out_hidden + (spec.hidden_size if spec.cell == "lstm" else 0)


def chain_rows(spec: Spec) -> tuple[tuple[int, ...], str]:
    """The batch rows whose chains the job computes and, if not all, why (one line)."""
    n = _state_size(spec)
    lanes = spec.num_layers * spec.num_directions
    per_row = lanes * spec.seq_len * float(n) ** 3
    if spec.seq_len * float(n) ** 2 > CHAIN_MEMORY or per_row > CHAIN_WORK:
        return (), (
            f"chain not computed: {lanes} lane(s) × {spec.seq_len} steps of {n} × {n} step "
            f"Jacobians is past this view's budget (T·n³ ≤ {CHAIN_WORK:.0e}); "
            "try a smaller hidden size or sequence"
        )
    if per_row * spec.batch_size > CHAIN_WORK:
        return (0,), "chain computed for batch row 0 only (every row is past the budget)"
    return tuple(range(spec.batch_size)), ""


def chain_factors(
    gt: GradTrace, layer: int, direction: str, batch: int, cancel: Cancel | None = None
) -> ChainFactors:
    """The ChainFactors of one lane and batch row (one batched SVD per 32 steps)."""
    jac = step_jacobians(gt, layer, direction, batch)
    norms: list[float] = []
    for k in range(0, len(jac), 32):
        if cancel is not None and cancel():
            raise Cancelled()
        norms.extend(torch.linalg.matrix_norm(torch.stack(jac[k : k + 32]), ord=2).tolist())
    w = gt.trace.params[param_name("weight_hh", layer, direction, gt.cell)]
    w_norm = float(torch.linalg.matrix_norm(torch.from_numpy(np.asarray(w)).double(), ord=2))
    step_bound = bound = None
    if gt.spec.cell == "rnn":
        h = gt.trace.gates[(layer, direction, "h")][:, batch].astype(np.float64)
        deriv = phi_prime(h, gt.spec.nonlinearity)
        step_bound = deriv.max(axis=1) * w_norm
        bound = w_norm
    return ChainFactors(np.array(norms), w_norm, step_bound, bound)


def grad_result(
    spec: Spec,
    options: RunOptions,
    loss: str = "last",
    *,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> GradResult:
    """Gradients of `loss` for (spec, options), verified against torch, plus the chain's
    factors and the σ gates' saturation. Progress: 0–0.8 gradients, 0.8–1 chains."""

    gt = gradients_spec(spec, options, loss, progress=_gradient_share(progress), cancel=cancel)
    return result_of(gt, progress=progress, cancel=cancel)


def module_grad_result(
    module: torch.nn.Module,
    x: torch.Tensor,
    hx: Any,
    loss: str = "last",
    notes: tuple[str, ...] = (),
    *,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> GradResult:
    """`grad_result` for a given module on a given input (what `gradients` takes): a trained
    text model's RNN on its training input. `notes` are added to the forward trace's (the
    epoch, padding), so the view shows what was differentiated."""

    gt = gradients(module, x, hx, loss, progress=_gradient_share(progress), cancel=cancel)
    if notes:
        tr = dataclasses.replace(gt.trace, notes=(*gt.trace.notes, *notes))
        gt = dataclasses.replace(gt, trace=tr)
    return result_of(gt, progress=progress, cancel=cancel)


def _gradient_share(progress: Progress | None) -> Progress | None:
    """The gradients' part of a GradResult job's progress: 0–0.8 (the chains take the rest)."""
    return None if progress is None else (lambda f: progress(0.8 * f))


def result_of(
    gt: GradTrace, *, progress: Progress | None = None, cancel: Cancel | None = None
) -> GradResult:
    """The GradResult of a verified GradTrace: the chain's factors and the σ gates'
    saturation added (progress 0.8–1)."""
    spec = gt.spec
    rows, note = chain_rows(spec)
    lanes = [(layer, d) for layer in range(spec.num_layers) for d in spec.directions]
    chains: dict[ChainKey, ChainFactors] = {}
    total = max(1, len(rows) * len(lanes))
    for b in rows:
        for layer, d in lanes:
            chains[(layer, d, b)] = chain_factors(gt, layer, d, b, cancel)
            if progress is not None:
                progress(0.8 + 0.2 * len(chains) / total)
    sat = {
        (layer, d, g): saturation(gt.trace, layer, d, g)
        for layer, d in lanes
        for g in SIGMA_GATES[spec.cell]
    }
    return GradResult(gt, chains, note, sat, _state_size(spec))
