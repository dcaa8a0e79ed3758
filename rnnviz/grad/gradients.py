"""Gradients through time: rnnviz's own backward recursion, verified against torch's autograd.

`gradients(module, x, hx, loss)` traces the forward pass (rnnviz.engine.tracing.trace), runs a real
torch backward through the module (torch.autograd.grad: torch's truth for ∂L/∂x, ∂L/∂h0,
∂L/∂c0 and ∂L/∂θ), then runs rnnviz's own per-timestep recursion over the recorded gates
(rnnviz.grad.backward), which also yields what autograd through the fused kernel cannot
show: ∂L/∂h_t and ∂L/∂c_t at every step of every layer and direction. The two sides are
compared tensor by tensor; `GradTrace.grad_verified` is the verdict.

Tolerance: both sides compute in the module's dtype with different summation orders, and
a gradient is a sum over every later step and every batch row, so their round-off is a few
ulps of the *largest* terms involved, not of each element (a tiny gradient at an early step
is a cancellation of larger ones). Differences are therefore measured relative to the
tensor's largest |value|: GRAD_RTOL allows 1e-5 for float32 (~80 ulps) and 1e-10 for float64,
and more for long chains (`grad_rtol`): ∂L/∂h0 has passed through every step, each adding
its round-off, so the allowance grows by STEP_ULPS ulps per step it travels. And the scale
is never below the dtype's smallest normal number: a gradient that has vanished below it
(1.2e-38 in float32) keeps only a few significant bits, on both sides alike.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

from rnnviz.config.options import RunOptions
from rnnviz.config.spec import Spec
from rnnviz.engine.recompute import LimitTally
from rnnviz.engine.record import Trace
from rnnviz.engine.tracing import Cancelled, build_module, make_inputs, trace
from rnnviz.grad.backward import LOSSES, backward
from rnnviz.grad.record import GradTrace

__all__ = [
    "GRAD_RTOL",
    "STEP_ULPS",
    "LOSSES",
    "Cancelled",
    "GradTrace",
    "Saturation",
    "gradients",
    "gradients_spec",
    "grad_rtol",
    "saturation",
]

Progress = Callable[[float], None]
Cancel = Callable[[], bool]

#: Relative tolerance of the gradient verdict by dtype (see the module docstring).
GRAD_RTOL = {torch.float64: 1e-10, torch.float32: 1e-5}
#: For float16/bfloat16 modules: the recursion runs in float32, torch in the narrow type.
GRAD_RTOL_NARROW = 1e-2
#: Round-off per step a gradient travels, in units of the dtype's unit round-off. Measured:
#: over 144 runs (RNN/LSTM/GRU, 2 layers, T 50-500, weights ×0.5-3, losses "last" and "hn",
#: two seeds) the sides' largest relative gap was at most 8.9 u per step (∂L/∂h0 of an RNN
#: ×2 over 200 steps: 1.07e-4, each side 4-6e-5 from float64's value); 16 leaves room.
STEP_ULPS = 16

_CELLS = (nn.RNNCell, nn.LSTMCell, nn.GRUCell)


def _loss_of(output: torch.Tensor, h_n: torch.Tensor, loss: str, batch_first: bool) -> torch.Tensor:
    """L as a torch scalar: Σ output[T−1] ("last"), Σ output ("sum"), Σ h_n ("hn")."""
    if loss == "sum":
        return output.sum()
    if loss == "hn":
        return h_n.sum()
    return (output[:, -1] if batch_first else output[-1]).sum()


def torch_gradients(
    module: nn.Module, tr: Trace, loss: str
) -> tuple[float, torch.Tensor, torch.Tensor, torch.Tensor | None, dict[str, torch.Tensor]]:
    """torch's own backward through `module` on the trace's input and initial state.

    The module is called with parameters swapped for detached copies that require grad
    (torch.func.functional_call), so the user's module, its .grad and its requires_grad
    flags are untouched. Returns (loss value, ∂L/∂x in the input's layout, ∂L/∂h0 (L·D, B,
    H_out), ∂L/∂c0 or None, name → ∂L/∂θ) as torch tensors in the module's dtype.
    """
    spec = tr.spec
    device = next(iter(module.parameters())).device
    x = torch.from_numpy(np.array(tr.tensors["input"])).to(device).requires_grad_(True)
    h0 = torch.from_numpy(np.array(tr.tensors["h0"])).to(device).requires_grad_(True)
    c0 = None
    if spec.cell == "lstm":
        c0 = torch.from_numpy(np.array(tr.tensors["c0"])).to(device).requires_grad_(True)
    params = {n: p.detach().requires_grad_(True) for n, p in module.named_parameters()}
    was_training = module.training
    module.eval()  # the traced pass: dropout off, as in trace()
    try:
        with torch.enable_grad():
            if isinstance(module, _CELLS):
                h, c = h0[0], (c0[0] if c0 is not None else None)
                hs = []
                for t in range(x.shape[0]):
                    args = (x[t], (h, c)) if c is not None else (x[t], h)
                    out = torch.func.functional_call(module, params, args)
                    h, c = out if c is not None else (out, None)
                    hs.append(h)
                output = torch.stack(hs)
                value = _loss_of(output, h.unsqueeze(0), loss, False)
            else:
                state = (h0, c0) if c0 is not None else h0
                output, hn = torch.func.functional_call(module, params, (x, state))
                value = _loss_of(output, hn[0] if c0 is not None else hn, loss, spec.batch_first)
            wrt = [x, h0] + ([c0] if c0 is not None else []) + list(params.values())
            raw = torch.autograd.grad(value, wrt, allow_unused=True)
    finally:
        module.train(was_training)
    # allow_unused: a parameter the loss never reaches has a zero gradient, not None.
    grads = [g if g is not None else torch.zeros_like(w) for g, w in zip(raw, wrt)]
    dx, dh0 = grads[0], grads[1]
    dc0 = grads[2] if c0 is not None else None
    dps = dict(zip(params, grads[3 if c0 is not None else 2 :]))
    return float(value.detach()), dx, dh0, dc0, dps


class _GradDiff(LimitTally):
    """Running max of |ours − torch's| and of it over max |torch's| per tensor, and whether
    every tensor that disagrees beyond `rtol` does so only where torch's values reach
    float's limit. Judged tensor by tensor (LimitTally.judge): the forward's `Diff` judges
    its time-major pairs step by step (rnnviz.engine.recompute.judge_steps), but ∂L/∂θ sums
    over every step and has no step to judge; ∂L/∂x is left tensor-wide too, for now."""

    def __init__(self, rtol: float) -> None:
        super().__init__()
        self.abs, self.rel, self.mismatch, self.rtol = 0.0, 0.0, 0, rtol

    def add(self, ours: np.ndarray, theirs: np.ndarray) -> None:
        if ours.size == 0:
            return
        # In the arrays' own dtype: a − b of two close floats is exact (Sterbenz), and
        # float64 copies of every parameter's gradient cost more than the whole comparison.
        a, b = torch.from_numpy(ours), torch.from_numpy(theirs)
        if a.dtype != b.dtype:
            a, b = a.double(), b.double()
        dmax = float((a - b).abs().max())
        # Never below the smallest normal number: under it float keeps only a few bits (a
        # ∂L/∂h0 vanished to 1.4e-45 read "rel 1", both sides 85× off float64's value).
        tiny = torch.finfo(b.dtype).tiny
        scale = max(float(b.abs().max()), tiny)
        mismatched = 0
        if not (math.isfinite(dmax) and math.isfinite(scale)):
            both = torch.isfinite(a) & torch.isfinite(b)
            # Both Inf of one sign or both NaN agree: they overflowed alike.
            agree = both | (a == b) | (torch.isnan(a) & torch.isnan(b))
            mismatched = int((~agree).sum())
            zero = torch.zeros((), dtype=a.dtype)
            dmax = float(torch.where(both, (a - b).abs(), zero).max())
            scale = max(float(torch.where(torch.isfinite(b), b.abs(), zero).max()), tiny)
        self.abs = max(self.abs, dmax)
        self.mismatch += mismatched
        rel = 0.0
        if dmax > 0.0:
            # An all-zero torch gradient (a parameter the loss does not reach, a dead relu)
            # must be zero on our side too, to the smallest normal number's tolerance.
            rel = dmax / scale
            self.rel = max(self.rel, rel)
        self.judge(rel, mismatched, self.rtol, b)


def grad_rtol(dtype: np.dtype, spec: Spec) -> float:
    """The gradient verdict's relative tolerance for a `spec` run in `dtype`: GRAD_RTOL, or
    STEP_ULPS unit round-offs per step of the longest chain a gradient travels (seq_len
    steps back through a layer, one more per layer down), whichever is larger."""
    tdtype = torch.from_numpy(np.zeros(0, dtype=dtype)).dtype
    base = GRAD_RTOL.get(tdtype)
    if base is None:
        return GRAD_RTOL_NARROW
    unit = torch.finfo(tdtype).eps / 2
    return max(base, STEP_ULPS * unit * (spec.seq_len + spec.num_layers))


def gradients(
    module: nn.Module,
    x: torch.Tensor,
    hx: Any = None,
    loss: str = "last",
    *,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> GradTrace:
    """Gradients through time of `loss` for `module` on `x` (what `trace` takes), verified.

    `loss`: "last" L = Σ output[T−1] (output[:, −1] with batch_first), "sum" L = Σ output,
    "hn" L = Σ h_n; for a *Cell stepped over dim 0 the output is the stack of h_t and h_n
    the last h. Returns a GradTrace (shapes in its docstring). Raises Cancelled if `cancel()`
    turns true, ValueError for an unknown loss, TypeError for other modules.
    """
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")
    started = time.perf_counter()

    def part(lo: float, hi: float) -> Progress | None:
        return None if progress is None else (lambda f: progress(lo + (hi - lo) * f))

    tr = trace(module, x, hx, progress=part(0.0, 0.4), cancel=cancel)
    return _finish(module, tr, loss, started, progress, cancel)


def module_view(tr: Trace) -> Trace:
    """`tr` with a Cell's tensors in the layout the backward pass works in: input time-major
    (T, B, I), h0/c0 as one state row (1, B, H), output the stacked h_t and h_n/c_n the last
    call's. A Cell trace (`api` "cell") records what its calls took and returned; the
    gradients of a Cell loop are those of a one-layer module over the same steps."""
    if tr.api != "cell":
        return tr
    t = dict(tr.tensors)
    x = t["input"]
    if tr.spec.batch_first:
        x = np.ascontiguousarray(x.transpose(1, 0, 2))
    view = {"input": x, "h0": t["h0"][None], "output": t["h_t"], "h_n": t["h_t"][-1:]}
    if "c0" in t:
        view.update(c0=t["c0"][None], c_n=t["c_t"][-1:])
    return dataclasses.replace(tr, tensors=view, api="module")


def _finish(
    module: nn.Module,
    tr: Trace,
    loss: str,
    started: float,
    progress: Progress | None,
    cancel: Cancel | None,
) -> GradTrace:
    """Torch's backward, ours, and the comparison, for a trace already made."""

    def check() -> None:
        if cancel is not None and cancel():
            raise Cancelled()

    check()
    is_cell = isinstance(module, _CELLS)
    cell_first = is_cell and tr.api == "cell" and tr.spec.batch_first
    tr = module_view(tr)
    value, tdx, tdh0, tdc0, tdp = torch_gradients(module, tr, loss)
    if progress is not None:
        progress(0.6)
    layers_done = [0]

    def tick() -> None:
        layers_done[0] += 1
        check()
        if progress is not None:
            progress(0.6 + 0.4 * layers_done[0] / tr.spec.num_layers)

    ours = backward(tr, loss, is_cell, check, tick)
    dx = ours.dx
    t_np = {k: v.detach().cpu().numpy() for k, v in tdp.items()}
    torch_dx, torch_dh0 = tdx.detach().cpu().numpy(), tdh0.detach().cpu().numpy()
    if (tr.spec.batch_first and not is_cell) or cell_first:
        dx = np.ascontiguousarray(dx.transpose(1, 0, 2))  # back to the input's layout
        if cell_first:
            torch_dx = np.ascontiguousarray(torch_dx.transpose(1, 0, 2))
    torch_dc0 = tdc0.detach().cpu().numpy() if tdc0 is not None else None
    rtol = grad_rtol(tr.tensors["input"].dtype, tr.spec)
    diff = _GradDiff(rtol)
    diff.add(dx, torch_dx)
    diff.add(ours.dh0, torch_dh0)
    if ours.dc0 is not None and torch_dc0 is not None:
        diff.add(ours.dc0, torch_dc0)
    for name, g in t_np.items():
        diff.add(ours.dparams[name], g)
    notes: tuple[str, ...] = ()
    if is_cell:
        notes = (
            f"{type(module).__name__} stepped over dim 0; output is the stack of h_t, "
            "h_n the last h",
        )
    return GradTrace(
        trace=tr,
        loss=loss,
        loss_value=value,
        dh=ours.dh,
        dc=ours.dc,
        dx=dx,
        dh0=ours.dh0,
        dc0=ours.dc0,
        dparams=ours.dparams,
        torch_dx=torch_dx,
        torch_dh0=torch_dh0,
        torch_dc0=torch_dc0,
        torch_dparams=t_np,
        grad_max_abs_diff=diff.abs,
        grad_max_rel_diff=diff.rel,
        grad_rtol=rtol,
        grad_mismatch=diff.mismatch,
        grad_at_float_limit=diff.at_float_limit,
        cell=is_cell,
        seconds=time.perf_counter() - started,
        notes=notes,
    )


def spec_inputs(spec: Spec, options: RunOptions) -> tuple[torch.Tensor, Any]:
    """x and hx for `spec` as `trace_spec` makes them (time-major x and a (B, H) h0 for a
    *Cell stepper)."""
    x, hx = make_inputs(spec, options.seed, options.input_kind, options.init)
    if options.stepper == "cell":
        if spec.batch_first:
            x = x.transpose(0, 1)
        hx = tuple(h[0] for h in hx) if isinstance(hx, tuple) else hx[0]
    return x, hx


def gradients_spec(
    spec: Spec,
    options: RunOptions | None = None,
    loss: str = "last",
    *,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    module: nn.Module | None = None,
) -> GradTrace:
    """`gradients` for a Spec: the module `build_module(spec, options)` (or `module`, made
    from them and then edited, e.g. by `compare`'s forget_bias), its input from make_inputs.
    The forward trace keeps the caller's spec, as `trace_spec` does."""
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")
    options = options or RunOptions()
    started = time.perf_counter()
    if module is None:
        module = build_module(spec, options)
    x, hx = spec_inputs(spec, options)

    def part(f: float) -> None:
        if progress is not None:
            progress(0.4 * f)

    tr = trace(module, x, hx, progress=part, cancel=cancel)
    tr = dataclasses.replace(tr, spec=spec, source="cell" if options.stepper == "cell" else "spec")
    return _finish(module, tr, loss, started, progress, cancel)


class Saturation(NamedTuple):
    """Per-unit fractions of recorded values below `low` (left) and above `high` (right)."""

    left: np.ndarray  # (units,)
    right: np.ndarray  # (units,)


def saturation(
    tr: Trace,
    layer: int,
    direction: str,
    gate: str,
    batch: int | None = None,
    low: float = 0.1,
    high: float = 0.9,
) -> Saturation:
    """Gate saturation as Karpathy, Johnson & Fei-Fei (2015) count it: for each unit, the
    fraction of timesteps at which the gate is < 0.1 (left-saturated) or > 0.9 (right).

    The thresholds suit σ gates (LSTM i, f, o; GRU r, z). `batch=None` pools every batch row
    (fraction of the T·B values), an int looks at that row's T values. Returns
    Saturation(left, right), each (units,) float64.
    """
    a = tr.gate(layer, direction, gate)
    if batch is not None:
        a = a[:, batch : batch + 1]
    flat = a.reshape(-1, a.shape[-1])
    return Saturation(
        left=(flat < low).mean(axis=0, dtype=np.float64),
        right=(flat > high).mean(axis=0, dtype=np.float64),
    )
