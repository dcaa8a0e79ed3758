"""What limits a trace: the forward plus the recompute's matrix products alone, and the
forward plus the whole recompute without the trace's checks and record.

A full float32 recompute repeats every multiply-add of the forward (x Wᵢₕᵀ and h Wₕₕᵀ for
every lane), and torch's forward already runs them near the GEMM peak. So no full trace can
cost less than the forward plus those products, run through the same calls the recompute
makes (`rnnviz.engine.gemm`). `rnnviz bench` reports that floor next to every full-trace
ratio, so the gap between the two is what activations, scans, checks and records cost.
`core_call` splits that gap: the forward and the recompute as the trace runs them (the same
engine calls, every torch op of them), without the checks before and the record after.
`recompute_call` is the recompute alone, to time right after a forward (as a trace runs it)
and again at once: the difference is what running each op once, on caches the forward has
just filled with its own code and data, costs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from rnnviz.config.spec import Spec
from rnnviz.engine.cancel import Meter
from rnnviz.engine.gemm import linear, linear_add
from rnnviz.engine.inputs import default_state
from rnnviz.engine.layer_runs import run_layers
from rnnviz.engine.recompute import Diff, Lane, recompute


@dataclass(frozen=True)
class Products:
    """A recompute's matrix products, ready to run: `run()` and how many multiply-adds one
    run does (for every lane, the forward's own count, `Spec.macs`, by construction)."""

    calls: tuple[Callable[[], object], ...]
    macs: int

    def run(self) -> None:
        """Run every product once, without autograd."""
        with torch.no_grad():
            for call in self.calls:
                call()


def products_call(
    spec: Spec, module: nn.Module, lanes: frozenset[tuple[int, str]] | None = None
) -> Products:
    """The recompute's matrix products for `module` (built from `spec`), on inputs of the
    trace's shapes, with the module's own weights: every lane's, or those of `lanes` only
    ((layer, "fwd"/"bwd") pairs, as a window-mode trace recomputes them).

    Per lane, as the gate recompute runs them (rnnviz.engine.gates): LSTM and RNN one
    product with the summed bias and one fused multiply-add, GRU two products with their own
    biases (b_hn must stay inside r ⊙ (…)), and an LSTM's projection one more.
    """
    rows = spec.seq_len * spec.batch_size
    h_out = spec.out_hidden
    gen = torch.Generator().manual_seed(0)
    work: list[Callable[[], object]] = []
    macs = 0
    for layer in range(spec.num_layers):
        x = torch.randn(rows, spec.layer_input_size(layer), generator=gen)
        h = torch.randn(rows, h_out, generator=gen)
        c = torch.randn(rows, spec.hidden_size, generator=gen)
        for d, name in enumerate(spec.directions):
            if lanes is not None and (layer, name) not in lanes:
                continue
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            w_ih = getattr(module, "weight_ih" + sfx).detach()
            w_hh = getattr(module, "weight_hh" + sfx).detach()
            b_ih = getattr(module, "bias_ih" + sfx).detach() if spec.bias else None
            b_hh = getattr(module, "bias_hh" + sfx).detach() if spec.bias else None
            work.extend(_lane(spec, x, h, c, w_ih, w_hh, b_ih, b_hh, module, sfx))
            macs += rows * (w_ih.numel() + w_hh.numel())
            if spec.proj_size:
                macs += rows * getattr(module, "weight_hr" + sfx).numel()
    return Products(tuple(work), macs)


def _lane(
    spec: Spec,
    x: torch.Tensor,
    h: torch.Tensor,
    c: torch.Tensor,
    w_ih: torch.Tensor,
    w_hh: torch.Tensor,
    b_ih: torch.Tensor | None,
    b_hh: torch.Tensor | None,
    module: nn.Module,
    sfx: str,
) -> list[Callable[[], object]]:
    """The products of one (layer, direction), as zero-argument calls."""
    if spec.cell == "gru":
        return [lambda: linear(x, w_ih, b_ih), lambda: linear(h, w_hh, b_hh)]
    bias = b_ih + b_hh if b_ih is not None and b_hh is not None else None
    calls: list[Callable[[], object]] = [lambda: linear_add(h, w_hh, linear(x, w_ih, bias))]
    if spec.cell == "lstm" and spec.proj_size:
        w_hr = getattr(module, "weight_hr" + sfx).detach()
        calls.append(lambda: linear(c, w_hr))
    return calls


def core_call(
    spec: Spec,
    module: nn.Module,
    x: torch.Tensor,
    lanes: frozenset[tuple[int, str]] | None = None,
) -> Callable[[], Diff]:
    """A call that runs what a trace of `module` on `x` (time-major, zero initial state)
    computes and nothing else: the per-layer forward (`run_layers`) and the gate recompute
    of every lane, or of `lanes` only, with its comparisons. Left out: the input and budget
    checks before, and the record after (numpy views, the non-finite count, parameters).
    Returns the comparisons' `Diff`, for a test to check the work was real."""
    if not isinstance(module, nn.RNNBase):
        raise TypeError(f"core_call runs nn.RNN/LSTM/GRU, not {type(module).__name__}")

    def run() -> Diff:
        with torch.no_grad():
            h0, c0 = default_state(spec, x)
            meter = Meter(1, None, None)
            runs = run_layers(module, spec, x, h0, c0, meter)
            return _verify(spec, _wanted(runs.lanes, lanes), meter)

    return run


def _wanted(every: list[Lane], lanes: frozenset[tuple[int, str]] | None) -> list[Lane]:
    """The lanes of `every` that `lanes` names (all of them for None)."""
    return [ln for ln in every if lanes is None or (ln.layer, ln.direction) in lanes]


def _verify(spec: Spec, lanes: list[Lane], meter: Meter) -> Diff:
    """The gate recompute of `lanes` with its comparisons, as a trace runs it: their Diff."""
    diff = Diff()
    recompute(spec, lanes, diff, meter)
    return diff


def recompute_call(
    spec: Spec,
    module: nn.Module,
    x: torch.Tensor,
    lanes: frozenset[tuple[int, str]] | None = None,
) -> Callable[[], Diff]:
    """A call that runs the gate recompute of every lane, or of `lanes` only, with its
    comparisons, on what one per-layer forward of `module` on `x` (time-major, zero initial
    state) made once, here: the part of `core_call` after its forward. Returns the `Diff`."""
    if not isinstance(module, nn.RNNBase):
        raise TypeError(f"recompute_call runs nn.RNN/LSTM/GRU, not {type(module).__name__}")
    with torch.no_grad():
        h0, c0 = default_state(spec, x)
        runs = run_layers(module, spec, x, h0, c0, Meter(1, None, None))
    wanted = _wanted(runs.lanes, lanes)

    def run() -> Diff:
        with torch.no_grad():
            return _verify(spec, wanted, Meter(1, None, None))

    return run
