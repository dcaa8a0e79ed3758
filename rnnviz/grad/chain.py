"""Why gradients vanish or explode: the chain of step Jacobians, and a side-by-side of cells.

`chain` writes out tutorial 004's derivation with one module's numbers: ∂L/∂h_{s−1} picks up
one factor J_s = ∂state_s/∂state_{s−1} per step, so ‖∂state_t/∂state_s‖ ≤ ∏ ‖J_k‖, and for an
Elman RNN ‖J_s‖ = ‖diag(φ'(a_s)) W_hh‖ ≤ ‖W_hh‖₂ · max φ'. `compare` runs the same sizes, seed
and input through tanh RNN, relu RNN, LSTM and GRU and reports how ‖∂L/∂h_t‖ decays.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from rnnviz.config.options import RunOptions
from rnnviz.config.spec import Spec
from rnnviz.engine.tracing import build_module
from rnnviz.grad.backward import param_name, phi_prime
from rnnviz.grad.gradients import Cancel, Progress, gradients_spec
from rnnviz.grad.record import GradTrace, LaneKey

#: Step Jacobians whose spectral norms are taken in one batched call.
_NORM_CHUNK = 32


@dataclass(frozen=True)
class Chain:
    """The Jacobian chain of one (layer, direction) and batch row, going back from step t.

    - `steps`: (n,) input positions in the order the gradient visits them from t: t, t−1, …, 0
      forward; t, t+1, …, T−1 for the backward direction.
    - `state`: "h" (RNN, GRU) or "h,c" (LSTM: the state is h (H_out) and c (H) stacked).
    - `factor[k]`: ‖J_{steps[k]}‖₂, the exact spectral norm of the step Jacobian
      ∂state_s/∂state_{prev(s)} with the layer's input held fixed (prev(0) is the initial
      state forward; the backward direction's prev(s) is s + 1).
    - `product[k]`: ‖J_{steps[0]} ⋯ J_{steps[k]}‖₂ = ‖∂state_t/∂state_{prev(steps[k])}‖₂, the
      norm of the true product (never larger than `bound_product[k]`).
    - `bound_product[k]`: ∏_{j ≤ k} factor[j], the bound the textbook argument uses.
    - `w_hh_norm`: ‖W_hh‖₂ of this (layer, direction).
    - `step_bound[k]`: RNN only, max_u φ'(a_{steps[k]}) · ‖W_hh‖₂ ≥ factor[k]; else None.
    - `bound`: RNN only, ‖W_hh‖₂ · sup φ' (= ‖W_hh‖₂: sup tanh' = sup relu' = 1); else None.
    """

    layer: int
    direction: str
    batch: int
    t: int
    state: str
    steps: np.ndarray
    factor: np.ndarray
    product: np.ndarray
    bound_product: np.ndarray
    w_hh_norm: float
    step_bound: np.ndarray | None
    bound: float | None


def _spectral(mats: list[torch.Tensor]) -> list[float]:
    out: list[float] = []
    for k in range(0, len(mats), _NORM_CHUNK):
        out.extend(torch.linalg.matrix_norm(torch.stack(mats[k : k + _NORM_CHUNK]), ord=2).tolist())
    return out


def step_jacobians(gt: GradTrace, layer: int, direction: str, batch: int = 0) -> list[torch.Tensor]:
    """J_s for every input position s (float64, by input position), each (n, n) with n = H_out
    for RNN/GRU and H_out + H for LSTM (rows/columns: h first, then c)."""
    tr, spec = gt.trace, gt.spec
    rev = direction == "bwd"

    def gate(name: str) -> torch.Tensor:
        return torch.from_numpy(np.asarray(tr.gates[(layer, direction, name)][:, batch])).double()

    def par(kind: str) -> torch.Tensor | None:
        name = param_name(kind, layer, direction, gt.cell)
        return torch.from_numpy(np.asarray(tr.params[name])).double() if name in tr.params else None

    w_hh = par("weight_hh")
    assert w_hh is not None
    hid = spec.hidden_size
    k = layer * spec.num_directions + (1 if rev else 0)
    h = gate("h")
    h0 = torch.from_numpy(np.asarray(tr.tensors["h0"][k, batch])).double()
    hprev = torch.cat([h[1:], h0[None]]) if rev else torch.cat([h0[None], h[:-1]])
    mats = []
    if spec.cell == "rnn":
        deriv = phi_prime(h, spec.nonlinearity)
        return [deriv[s, :, None] * w_hh for s in range(spec.seq_len)]
    if spec.cell == "gru":
        r, z, n = gate("r"), gate("z"), gate("n")
        b_hh = par("bias_hh")
        hn = hprev @ w_hh[2 * hid :].t() + (b_hh[2 * hid :] if b_hh is not None else 0.0)
        w_r, w_z, w_n = w_hh[:hid], w_hh[hid : 2 * hid], w_hh[2 * hid :]
        for s in range(spec.seq_len):
            kn = (1 - z[s]) * (1 - n[s] ** 2)
            j = ((hprev[s] - n[s]) * z[s] * (1 - z[s]))[:, None] * w_z
            j += kn[:, None] * (r[s][:, None] * w_n + (hn[s] * r[s] * (1 - r[s]))[:, None] * w_r)
            mats.append(j + torch.diag(z[s]))
        return mats
    i, f, g, o, c = (gate(name) for name in "ifgoc")
    c0 = torch.from_numpy(np.asarray(tr.tensors["c0"][k, batch])).double()
    cprev = torch.cat([c[1:], c0[None]]) if rev else torch.cat([c0[None], c[:-1]])
    w_i, w_f, w_g, w_o = (w_hh[j * hid : (j + 1) * hid] for j in range(4))
    w_hr = par("weight_hr")
    for s in range(spec.seq_len):
        tc = torch.tanh(c[s])
        dc_dh = (
            (cprev[s] * f[s] * (1 - f[s]))[:, None] * w_f
            + (g[s] * i[s] * (1 - i[s]))[:, None] * w_i
            + (i[s] * (1 - g[s] ** 2))[:, None] * w_g
        )
        dc_dc = torch.diag(f[s])
        km = o[s] * (1 - tc * tc)
        dm_dh = (tc * o[s] * (1 - o[s]))[:, None] * w_o + km[:, None] * dc_dh
        dm_dc = torch.diag(km * f[s])
        if w_hr is not None:
            dm_dh, dm_dc = w_hr @ dm_dh, w_hr @ dm_dc
        mats.append(torch.cat([torch.cat([dm_dh, dm_dc], 1), torch.cat([dc_dh, dc_dc], 1)], 0))
    return mats


def chain(gt: GradTrace, layer: int, direction: str, t: int | None = None, batch: int = 0) -> Chain:
    """The chain of step Jacobians of (layer, direction) for batch row `batch`, from step `t`
    (default: the direction's last step, T−1 forward, 0 backward) back to its first step.
    Returns a Chain (fields documented there); cost: one SVD per step and per product."""
    spec = gt.spec
    steps_total = spec.seq_len
    rev = direction == "bwd"
    if t is None:
        t = 0 if rev else steps_total - 1
    if not 0 <= t < steps_total:
        raise ValueError(f"t must be from 0 to {steps_total - 1}, got {t}")
    order = np.arange(t, steps_total) if rev else np.arange(t, -1, -1)
    jac = step_jacobians(gt, layer, direction, batch)
    picked = [jac[s] for s in order]
    factor = np.array(_spectral(picked))
    prods, running = [], None
    for j in picked:
        running = j if running is None else running @ j
        prods.append(running)
    product = np.array(_spectral(prods))
    w_hh = torch.from_numpy(
        np.asarray(gt.trace.params[param_name("weight_hh", layer, direction, gt.cell)])
    ).double()
    w_norm = float(torch.linalg.matrix_norm(w_hh, ord=2))
    step_bound = bound = None
    if spec.cell == "rnn":
        h = gt.trace.gates[(layer, direction, "h")][:, batch].astype(np.float64)
        deriv = phi_prime(h, spec.nonlinearity)
        step_bound = deriv.max(axis=1)[order] * w_norm
        bound = w_norm  # sup of tanh' and of relu' is 1
    return Chain(
        layer=layer,
        direction=direction,
        batch=batch,
        t=int(t),
        state="h,c" if spec.cell == "lstm" else "h",
        steps=order,
        factor=factor,
        product=product,
        bound_product=np.cumprod(factor),
        w_hh_norm=w_norm,
        step_bound=step_bound,
        bound=bound,
    )


# ---- compare ---------------------------------------------------------------------------------
#: The cells `compare` runs, as (label, cell, nonlinearity).
COMPARED = (
    ("RNN tanh", "rnn", "tanh"),
    ("RNN relu", "rnn", "relu"),
    ("LSTM", "lstm", "tanh"),
    ("GRU", "gru", "tanh"),
)


@dataclass(frozen=True)
class CompareEntry:
    """One cell's gradients in a comparison.

    - `norms[(layer, dir)]`: ‖∂L/∂h_t‖₂ over batch × units, (T,), by input position.
    - `decay[(layer, dir)]`: ‖∂L/∂h‖ at the lane's first step over its last step, in the
      order the lane runs: ‖∂L/∂h_0‖ / ‖∂L/∂h_{T−1}‖ forward; ‖∂L/∂h_{T−1}‖ / ‖∂L/∂h_0‖
      backward (its first step reads input T−1). NaN when the denominator is 0 (e.g. loss
      "last" gives a top backward lane gradient only at position T−1, its own first step).
      What it measures depends on where the gradient enters the lane: `decay_kind`.
    - `grad_norm`: total 2-norm of torch's ∂L/∂θ; with `clip`, `clipped_norm` is it after
      torch.nn.utils.clip_grad_norm_ (else None).
    """

    label: str
    spec: Spec
    gradients: GradTrace
    norms: dict[LaneKey, np.ndarray]
    decay: dict[LaneKey, float]
    grad_norm: float
    clipped_norm: float | None


@dataclass(frozen=True)
class Comparison:
    """`compare`'s result: the settings and one CompareEntry per cell, in COMPARED order."""

    loss: str
    weight_scale: float
    forget_bias: float | None
    clip: float | None
    entries: tuple[CompareEntry, ...] = field(default=())

    def entry(self, label: str) -> CompareEntry:
        """The entry labelled `label` ("RNN tanh", "RNN relu", "LSTM", "GRU")."""
        for e in self.entries:
            if e.label == label:
                return e
        raise KeyError(label)


def _decay(norms: np.ndarray, direction: str) -> float:
    first, last = (norms[-1], norms[0]) if direction == "bwd" else (norms[0], norms[-1])
    return float(first / last) if last > 0 else float("nan")


def add_forget_bias(module: torch.nn.Module, value: float) -> None:
    """Add `value` to every forget-gate bias row (rows H:2H of each bias_ih) of an LSTM or
    LSTMCell, as TensorFlow's forget_bias does to the forget gate's pre-activation."""
    hid = int(module.hidden_size)  # type: ignore[arg-type]
    found = False
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.startswith("bias_ih"):
                p[hid : 2 * hid] += value
                found = True
    if not found:
        raise ValueError("forget_bias needs biases: the module has bias=False")


def compare(
    spec: Spec,
    options: RunOptions | None = None,
    loss: str = "last",
    weight_scale: float | None = None,
    forget_bias: float | None = None,
    clip: float | None = None,
    *,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> Comparison:
    """tanh RNN, relu RNN, LSTM and GRU with `spec`'s sizes, the same seed and the same input.

    proj_size is dropped (the other cells have none). `weight_scale` overrides the options';
    `forget_bias` is added to the LSTM's forget-gate bias rows only; `clip` applies
    torch.nn.utils.clip_grad_norm_(max_norm=clip) to torch's parameter gradients and records
    the norms before and after. Returns a Comparison.
    """
    options = options or RunOptions()
    if weight_scale is not None:
        options = RunOptions(**{**options.to_dict(), "weight_scale": weight_scale})
    entries = []
    for k, (label, cell, nl) in enumerate(COMPARED):
        sub = spec.replace(cell=cell, nonlinearity=nl, proj_size=0)
        module = build_module(sub, options)
        if forget_bias is not None and cell == "lstm":
            add_forget_bias(module, forget_bias)

        def part(f: float, k: int = k) -> None:
            if progress is not None:
                progress((k + f) / len(COMPARED))

        gt = gradients_spec(sub, options, loss, module=module, progress=part, cancel=cancel)
        norms = {key: gt.norms(*key) for key in gt.dh}
        decay = {key: _decay(v, key[1]) for key, v in norms.items()}
        grads = [torch.from_numpy(np.array(g)) for g in gt.torch_dparams.values()]
        grad_norm = float(
            torch.linalg.vector_norm(
                torch.stack([torch.linalg.vector_norm(g.double()) for g in grads])
            )
        )
        clipped = None
        if clip is not None:
            holders = [torch.zeros_like(g) for g in grads]
            for p, g in zip(holders, grads):
                p.grad = g
            torch.nn.utils.clip_grad_norm_(holders, clip)
            clipped = float(
                torch.linalg.vector_norm(
                    torch.stack(
                        [
                            torch.linalg.vector_norm(p.grad.double())  # type: ignore[union-attr]
                            for p in holders
                        ]
                    )
                )
            )
        entries.append(
            CompareEntry(
                label=label,
                spec=sub,
                gradients=gt,
                norms=norms,
                decay=decay,
                grad_norm=grad_norm,
                clipped_norm=clipped,
            )
        )
    return Comparison(
        loss=loss,
        weight_scale=options.weight_scale,
        forget_bias=forget_bias,
        clip=clip,
        entries=tuple(entries),
    )
