"""Timing of a gradient trace against torch's own forward + backward of the same module.

`python -m rnnviz.bench.suite.gradients` prints, for the configurations in GRAD_NOTES.md, the median of
alternating calls of `gradients_spec` and of a plain torch forward + backward (module(x),
the same loss, torch.autograd.grad w.r.t. x, h0, c0 and every parameter), and their ratio.
"""

from __future__ import annotations

import statistics
import sys
import time

import torch

from rnnviz.bench.measure import BENCH_CONFIGS
from rnnviz.config.options import RunOptions
from rnnviz.config.spec import Spec
from rnnviz.engine.tracing import build_module
from rnnviz.grad.gradients import _loss_of, gradients_spec, spec_inputs

#: (label, spec) pairs timed by `main`: the benchmark suite's four configurations.
CONFIGS = BENCH_CONFIGS


def torch_forward_backward(
    module: torch.nn.Module, x: torch.Tensor, hx, loss: str, batch_first: bool
) -> float:
    """Seconds of one module(x) + torch.autograd.grad of the loss w.r.t. x, hx and θ."""
    started = time.perf_counter()
    x = x.detach().requires_grad_(True)
    states = [h.detach().requires_grad_(True) for h in (hx if isinstance(hx, tuple) else (hx,))]
    params = list(module.parameters())
    out, hn = module(x, tuple(states) if len(states) > 1 else states[0])
    value = _loss_of(out, hn[0] if isinstance(hn, tuple) else hn, loss, batch_first)
    torch.autograd.grad(value, [x, *states, *params])
    return time.perf_counter() - started


def bench(spec: Spec, repeats: int = 5, loss: str = "last") -> tuple[float, float, float]:
    """(median gradient-trace seconds, median torch forward+backward seconds, max rel diff)."""
    options = RunOptions(init="randn")
    module = build_module(spec, options)
    x, hx = spec_inputs(spec, options)
    ours, theirs, rel = [], [], 0.0
    # Warm-up: the first call of each pays for lazy imports and allocator growth.
    torch_forward_backward(module, x, hx, loss, spec.batch_first)
    gradients_spec(spec, options, loss, module=module)
    for _ in range(repeats):  # alternate, so machine load falls on both alike
        theirs.append(torch_forward_backward(module, x, hx, loss, spec.batch_first))
        started = time.perf_counter()
        gt = gradients_spec(spec, options, loss, module=module)
        ours.append(time.perf_counter() - started)
        rel = max(rel, gt.grad_max_rel_diff)
    return statistics.median(ours), statistics.median(theirs), rel


def main(argv: list[str] | None = None) -> None:
    """Print one line per configuration: times, ratio and the gradient's max relative Δ."""
    repeats = int((argv or sys.argv[1:] or ["5"])[0])
    for label, spec in CONFIGS:
        ours, theirs, rel = bench(spec, repeats)
        print(
            f"{label}: gradients {ours:.3f} s, torch fwd+bwd {theirs:.3f} s, "
            f"ratio {ours / theirs:.2f}, grad rel Δ {rel:.1e}",
            flush=True,
        )


if __name__ == "__main__":
    main()
