"""The Trace record assembled from a run's tensors, gates and the module's parameters."""

from __future__ import annotations

import time
from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from rnnviz.config.spec import Spec
from rnnviz.engine.arrays import to_numpy
from rnnviz.engine.recompute import Diff, count_nonfinite_all
from rnnviz.engine.record import Trace

#: Trace tensors that may be the caller's own objects.
USER_TENSORS = frozenset({"input", "h0", "c0"})


def assemble_trace(
    spec: Spec,
    tensors: dict[str, torch.Tensor],
    gates: Mapping[tuple[int, str, str], torch.Tensor | np.ndarray],
    module: nn.Module,
    diff: Diff,
    source: str,
    notes: list[str],
    api: str = "module",
    *,
    pending: frozenset[tuple[int, str]] = frozenset(),
    copy_params: bool = True,
    started: float | None = None,
) -> Trace:
    """The frozen Trace of one run: tensors and gates as numpy (the user's own copied), the
    parameters and the comparison figures `diff` gathered; `api` is "module" or "cell".
    `pending` lanes have only "h" in `gates`; with `copy_params` False the parameters are
    recorded as views (the module is the trace's own, made by trace_spec and dropped after,
    so nobody can change them). `started` (a `time.perf_counter()` reading) makes the
    Trace's `seconds` the time since: the record is made once, not copied to add it."""
    # The user's own tensors (weights, x, h0, c0) are copied: .numpy() shares their memory,
    # and a trace must stay what it was when the user trains on or edits x in place.
    # Everything else was made by this trace and is nobody else's.
    arrays = {k: to_numpy(v, copy=k in USER_TENSORS) for k, v in tensors.items()}
    # Counted on the tensors this trace made (views of a few buffers, each summed once); the
    # user's own are counted on their copies.
    nonfinite = count_nonfinite_all(
        [
            *gates.values(),
            *(arrays[k] if k in USER_TENSORS else v for k, v in tensors.items() if k != "input"),
        ]
    )
    gate_arrays = {k: v if isinstance(v, np.ndarray) else to_numpy(v) for k, v in gates.items()}
    params = param_copies(module) if copy_params else param_views(module)
    return Trace(
        spec=spec,
        tensors=arrays,
        gates=gate_arrays,
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
        seconds=time.perf_counter() - started if started is not None else 0.0,
    )


def param_views(module: nn.Module) -> dict[str, np.ndarray]:
    """Every parameter as a numpy view of its own memory (name → array), no copy."""
    # detach().numpy() inline for the usual CPU parameter (`is_cpu`: `device.type` builds a
    # device object): 21 µs instead of 27 µs through `to_numpy` for the small LSTM's 16
    # parameters, measured alone.
    return {
        name: p.detach().numpy() if p.is_cpu else to_numpy(p)
        for name, p in module.named_parameters()
    }


def param_copies(module: nn.Module) -> dict[str, np.ndarray]:
    """Every parameter as a numpy copy (name → array).

    Small models are copied by one torch.cat into one buffer (all views of it): ~3× cheaper
    than a copy per tensor, which showed in small traces' cost. Large ones are copied one
    tensor at a time: a single buffer above glibc's largest mmap threshold (32 MiB) is always
    a fresh mapping, every page of it faulted in on first touch (82 MiB: 21,000 faults,
    20–24 ms), where per-tensor buffers are reused from the heap the last trace freed
    (5–11 ms; measured after a forward each time, as in a trace)."""
    named = [(name, p.detach()) for name, p in module.named_parameters()]
    if not named:
        return {}
    dtypes = {p.dtype for _, p in named}
    total = sum(p.numel() * p.element_size() for _, p in named)
    if len(dtypes) > 1 or total > ONE_BUFFER_BYTES:
        # Mixed precision cannot share one buffer either. torch's clone, not numpy's copy:
        # numpy advises huge pages from 4 MiB, and faulting those in after a forward made
        # the kernel compact memory (52–81 ms for the same 82 MiB).
        return {name: to_numpy(p.clone() if p.device.type == "cpu" else p) for name, p in named}
    flat = to_numpy(torch.cat([p.reshape(-1) for _, p in named]))
    out, at = {}, 0
    for name, p in named:
        out[name] = flat[at : at + p.numel()].reshape(tuple(p.shape))
        at += p.numel()
    return out


#: Parameter bytes up to which `param_copies` makes one buffer (see there).
ONE_BUFFER_BYTES = 4 << 20
