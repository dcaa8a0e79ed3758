"""Lanes on demand: which (layer, direction) recurrences a trace recomputes, and the rest later.

A lane is one (layer, direction) of the recurrence. The forward pass always runs whole (every
h_t is torch's own); recomputing a lane's gates and comparing them with torch costs about as
much again as that lane's share of the forward, so the window verifies the lane on screen
first and the others after (`complete_lanes`). A lane computed later reads exactly what the
full trace would have read (the recorded input, torch's h_t of the layer below and of the
lane itself, h0/c0 and the recorded parameters) through the same code, so it equals the full
trace bit for bit (tests assert it).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable
from typing import Literal

import numpy as np
import torch

from rnnviz.config.spec import Spec
from rnnviz.engine.arrays import to_numpy
from rnnviz.engine.cancel import Cancel, Meter, Progress
from rnnviz.engine.gates import DirectionWeights
from rnnviz.engine.recompute import Diff, Lane, count_nonfinite_all, recompute
from rnnviz.engine.record import LaneKey, Trace

#: "all", or the (layer, "fwd"|"bwd") lanes to recompute.
Lanes = Literal["all"] | Iterable[LaneKey]


def all_lanes(spec: Spec) -> tuple[LaneKey, ...]:
    """Every (layer, direction) of `spec`, in state_index order."""
    return tuple((k, d) for k in range(spec.num_layers) for d in spec.directions)


def lane_set(spec: Spec, lanes: Lanes) -> frozenset[LaneKey]:
    """`lanes` as a set of (layer, direction); ValueError names a lane `spec` lacks."""
    everything = all_lanes(spec)
    if isinstance(lanes, str):
        if lanes != "all":
            raise ValueError(f'lanes must be "all" or (layer, direction) pairs, got {lanes!r}')
        return frozenset(everything)
    out = frozenset((int(k), str(d)) for k, d in lanes)
    unknown = sorted(out - set(everything))
    if unknown:
        raise ValueError(
            f"{spec.title()} has no lane {unknown[0]}; lanes are (layer 0…"
            f"{spec.num_layers - 1}, {' or '.join(spec.directions)})"
        )
    return out


def _tensor(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(a)


def _weights(trace: Trace, layer: int, direction: str) -> DirectionWeights:
    """The recorded parameters of (layer, direction), as torch tensors sharing their memory."""
    sfx = f"_l{layer}" + ("_reverse" if direction == "bwd" else "")
    p = trace.params

    def get(name: str) -> torch.Tensor | None:
        return _tensor(p[name + sfx]) if name + sfx in p else None

    w_ih, w_hh = get("weight_ih"), get("weight_hh")
    assert w_ih is not None and w_hh is not None, "trace has no weights for this lane"
    return DirectionWeights(w_ih, w_hh, get("bias_ih"), get("bias_hh"), get("weight_hr"))


def complete_lanes(
    trace: Trace,
    lanes: Lanes = "all",
    *,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> Trace:
    """A new Trace with `lanes` (those of them still pending) recomputed and verified.

    Works from the trace alone: the recorded input, torch's h_t of every lane, h0/c0, c_n and
    the recorded parameters, on the CPU. The gates, the diff figures and the non-finite count
    then equal those of a full trace of the same run bit for bit. Returns `trace` itself when
    nothing asked for is pending. Raises Cancelled if `cancel()` turns true.
    """
    spec = trace.spec
    todo = [ln for ln in all_lanes(spec) if ln in lane_set(spec, lanes) & trace.pending_lanes]
    if not todo:
        return trace
    started = time.perf_counter()
    meter = Meter(len(todo), progress, cancel)
    tensors = trace.tensors
    x = _tensor(tensors["input"])
    xt = x.transpose(0, 1) if spec.batch_first else x
    h0 = _tensor(tensors["h0"])
    c0 = _tensor(tensors["c0"]) if "c0" in tensors else None
    c_n = _tensor(tensors["c_n"]) if "c_n" in tensors else None
    inputs: dict[int, torch.Tensor] = {0: xt}
    work = []
    with torch.no_grad():
        for layer, direction in todo:
            if layer not in inputs:
                below = [_tensor(trace.gates[(layer - 1, d, "h")]) for d in spec.directions]
                # The forward's layer output is one contiguous (T, B, D·H) buffer: so is this.
                inputs[layer] = torch.cat(below, dim=2) if len(below) > 1 else below[0]
            idx = spec.state_index(layer, direction)
            work.append(
                Lane(
                    layer,
                    direction,
                    inputs[layer],
                    _tensor(trace.gates[(layer, direction, "h")]),
                    h0[idx],
                    c0[idx] if c0 is not None else None,
                    c_n[idx] if c_n is not None else None,
                    _weights(trace, layer, direction),
                )
            )
        diff = Diff()
        new = recompute(spec, work, diff, meter)
    meter.check()
    nonfinite = trace.nonfinite + count_nonfinite_all(a for k, a in new.items() if k[2] != "h")
    merged = {**trace.gates, **{k: to_numpy(v) for k, v in new.items()}}
    # The order a full trace has (exports list gates in dict order).
    order = [(k, d, g) for k, d in all_lanes(spec) for g in spec.trace_gates]
    gates = {key: merged[key] for key in order if key in merged}
    return dataclasses.replace(
        trace,
        gates=gates,
        max_abs_diff=max(trace.max_abs_diff, diff.abs),
        max_rel_diff=max(trace.max_rel_diff, diff.rel),
        nonfinite=nonfinite,
        nonfinite_mismatch=trace.nonfinite_mismatch + diff.mismatched,
        pending_lanes=trace.pending_lanes - frozenset(todo),
        seconds=trace.seconds + time.perf_counter() - started,
    )
