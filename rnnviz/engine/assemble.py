"""The Trace record assembled from a run's tensors, gates and the module's parameters."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from rnnviz.config.spec import Spec
from rnnviz.engine.recompute import Diff, count_nonfinite_all, to_numpy
from rnnviz.engine.record import Trace

#: Trace tensors that may be the caller's own objects.
USER_TENSORS = frozenset({"input", "h0", "c0"})


def assemble_trace(
    spec: Spec,
    tensors: dict[str, torch.Tensor],
    gates: dict[tuple[int, str, str], np.ndarray],
    module: nn.Module,
    diff: Diff,
    source: str,
    notes: list[str],
    api: str = "module",
    *,
    pending: frozenset[tuple[int, str]] = frozenset(),
    copy_params: bool = True,
) -> Trace:
    """The frozen Trace of one run: tensors as numpy (the user's own copied), gates, the
    parameters and the comparison figures `diff` gathered; `api` is "module" or "cell".
    `pending` lanes have only "h" in `gates`; with `copy_params` False the parameters are
    recorded as views (the module is the trace's own, made by trace_spec and dropped after,
    so nobody can change them)."""
    # The user's own tensors (weights, x, h0, c0) are copied: .numpy() shares their memory,
    # and a trace must stay what it was when the user trains on or edits x in place.
    # Everything else was made by this trace and is nobody else's.
    arrays = {k: to_numpy(v, copy=k in USER_TENSORS) for k, v in tensors.items()}
    nonfinite = count_nonfinite_all(gates.values())
    nonfinite += count_nonfinite_all(a for k, a in arrays.items() if k != "input")
    params = param_copies(module) if copy_params else param_views(module)
    return Trace(
        spec=spec,
        tensors=arrays,
        gates=gates,
        params=params,
        max_abs_diff=diff.abs,
        max_rel_diff=diff.rel,
        nonfinite=nonfinite,
        nonfinite_mismatch=diff.mismatched,
        at_float_limit=diff.at_float_limit,
        source=source,
        notes=tuple(notes),
        api=api,
        pending_lanes=pending,
    )


def param_views(module: nn.Module) -> dict[str, np.ndarray]:
    """Every parameter as a numpy view of its own memory (name → array), no copy."""
    return {name: to_numpy(p) for name, p in module.named_parameters()}


def param_copies(module: nn.Module) -> dict[str, np.ndarray]:
    """Every parameter as a numpy copy (name → array), all views of one buffer: one torch.cat
    is ~3× cheaper than a copy per tensor, which showed in small traces' cost."""
    named = [(name, p.detach()) for name, p in module.named_parameters()]
    if not named:
        return {}
    dtypes = {p.dtype for _, p in named}
    if len(dtypes) > 1:  # mixed precision: one buffer cannot hold them all
        return {name: to_numpy(p, copy=True) for name, p in named}
    flat = to_numpy(torch.cat([p.reshape(-1) for _, p in named]))
    out, at = {}, 0
    for name, p in named:
        out[name] = flat[at : at + p.numel()].reshape(tuple(p.shape))
        at += p.numel()
    return out
