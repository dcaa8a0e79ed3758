"""Run a real nn.RNN / nn.LSTM / nn.GRU (or a *Cell stepped over time) and record every gate.

`trace(module, x, hx)` runs the module's own forward once for the authoritative output, h_n
and c_n, then runs torch's fused kernel one layer and one direction at a time, in chunks of
timesteps, to obtain every intermediate h_t (the module call returns only the last layer's).
Gates are recomputed from the module's weights (rnnviz.gates) and compared with torch's
values; the largest difference is the trace's `max_abs_diff`.

The module is traced in eval mode under no_grad, and its training flag is restored after:
dropout only acts between layers in training, and a visualiser shows the deterministic pass.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import torch
from torch import nn

from rnnviz.config.budget import check_budget
from rnnviz.config.options import RunOptions
from rnnviz.config.spec import Spec
from rnnviz.engine.assemble import assemble_trace
from rnnviz.engine.cancel import Cancel, Cancelled, Meter, Progress
from rnnviz.engine.cells import trace_cell
from rnnviz.engine.fused import chunk_steps
from rnnviz.engine.inputs import (
    CELL_TYPES,
    MAX_SPEC_DROPOUT,
    build_module,
    default_state,
    make_inputs,
    make_run,
    spec_of,
)
from rnnviz.engine.lanes import Lanes, complete_lanes, lane_set
from rnnviz.engine.layer_runs import forward_units, run_layers
from rnnviz.engine.recompute import Diff, recompute
from rnnviz.engine.record import Trace
from rnnviz.engine.validate import TraceInputError, as_input, check_call

__all__ = [
    "Cancelled",
    "TraceInputError",
    "build_module",
    "complete_lanes",
    "make_inputs",
    "spec_of",
    "trace",
    "trace_packed",
    "trace_spec",
]


def trace(
    module: nn.Module,
    x: torch.Tensor,
    hx: Any = None,
    *,
    lanes: Lanes = "all",
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    batch_first: bool = False,
) -> Trace:
    """Trace a real forward pass of `module` on `x` and recompute every gate.

    `module` is any nn.RNN / nn.LSTM / nn.GRU (batch_first, bidirectional, proj_size,
    bias=False, any device and float dtype), or an nn.RNNCell / LSTMCell / GRUCell, which is
    stepped over x's first dimension. `x` is (T, B, I), or (B, T, I) with batch_first; a 2-D
    x is treated as one unbatched sequence (batch 1). `hx` is what the module takes: h0, or
    (h0, c0) for LSTM; None means zeros, as torch does. A *Cell has no batch_first of its
    own: `batch_first=True` says the loop steps x (B, T, I) as `x[:, t]`.

    `x` may also be a numpy array or a list of numbers (converted to the module's dtype and
    device). A PackedSequence is traced with `trace_packed`, which gives one Trace per
    sequence; `trace` returns that list then.

    `lanes` ("all", or an iterable of (layer, "fwd"|"bwd")) says which lanes' gates are
    recomputed and verified now. The forward (every h_t, bit-identical to module(x)) always
    runs in full; the other lanes keep torch's h_t only, are listed in `Trace.pending_lanes`
    and can be filled in later by `rnnviz.engine.lanes.complete_lanes`, bit for bit equal to
    a full trace. A *Cell has one lane and is always traced whole.

    Returns a `Trace`; gate arrays are (T, B, size) numpy arrays in the module's dtype.
    Raises `Cancelled` if `cancel()` turns true, TypeError for other modules, ValueError
    for a lane the module does not have, and TraceInputError (a ValueError naming the
    argument, dimension, expected and given) before torch runs for anything `module(x, hx)`
    would refuse, for half precision and mixed dtypes (`rnnviz.engine.validate`).
    """
    return _trace(module, x, hx, lanes, progress, cancel, owned=False, batch_first=batch_first)


def _trace(
    module: nn.Module,
    x: torch.Tensor,
    hx: Any,
    lanes: Lanes,
    progress: Progress | None,
    cancel: Cancel | None,
    owned: bool,
    batch_first: bool = False,
) -> Trace:
    """`trace`; `owned` says nobody else holds `module`, so its parameters need no copy;
    `batch_first` is a Cell loop's layout (see `trace`)."""
    if not isinstance(module, (nn.RNNBase, *CELL_TYPES)):
        raise TypeError(
            f"rnnviz traces nn.RNN, nn.LSTM, nn.GRU and their *Cell versions, "
            f"not {type(module).__name__}"
        )
    if isinstance(x, nn.utils.rnn.PackedSequence):
        return trace_packed(module, x, hx, progress=progress, cancel=cancel)  # type: ignore[return-value]
    x = as_input(module, x)
    check_call(module, x, hx, batch_first)
    started = time.perf_counter()
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            if isinstance(module, nn.RNNBase):
                return _trace_rnnbase(module, x, hx, progress, cancel, lanes, not owned, started)
            return trace_cell(module, x, hx, progress, cancel, batch_first, started)
    finally:
        module.train(was_training)


def trace_packed(
    module: nn.Module,
    packed: nn.utils.rnn.PackedSequence,
    hx: Any = None,
    *,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> list[Trace]:
    """Trace each sequence of a PackedSequence to its own length: one Trace per sequence, in
    the batch's original order (batch 1, seq_len = that sequence's length; a note records
    "sequence i of n, length L"). `hx` is the batch's state; sequence i gets its column i.

    This is what torch computes for a packed batch — each sequence stops at its length — so
    each trace's output equals the packed module output's first L steps of column i (a
    module is also called on the packed batch and the difference is added to the trace's
    max_abs_diff)."""
    if not isinstance(module, nn.RNNBase):
        raise TraceInputError("x: a PackedSequence is taken by nn.RNN/LSTM/GRU, not a *Cell")
    padded, lengths = nn.utils.rnn.pad_packed_sequence(packed, batch_first=module.batch_first)
    check_call(module, padded, hx)
    with torch.no_grad():
        was_training = module.training
        module.eval()
        try:
            packed_out, _ = module(packed, hx)
        finally:
            module.train(was_training)
    out, _ = nn.utils.rnn.pad_packed_sequence(packed_out, batch_first=module.batch_first)
    traces = []
    n = len(lengths)
    for i, length in enumerate(lengths.tolist()):
        xi = padded[i : i + 1, :length] if module.batch_first else padded[:length, i : i + 1]
        hi = None
        if hx is not None:
            hi = tuple(h[:, i : i + 1] for h in hx) if isinstance(hx, tuple) else hx[:, i : i + 1]
        t = trace(module, xi, hi, progress=progress, cancel=cancel)
        want = out[i : i + 1, :length] if module.batch_first else out[:length, i : i + 1]
        gap = float((torch.as_tensor(t.tensors["output"]) - want).abs().max())
        traces.append(
            dataclasses.replace(
                t,
                max_abs_diff=max(t.max_abs_diff, gap),
                notes=(*t.notes, f"sequence {i} of {n} in a PackedSequence, length {length}"),
            )
        )
    return traces


def _unbatched(module: nn.Module, x: torch.Tensor, hx: Any) -> tuple[torch.Tensor, Any, bool]:
    """Add the batch dim torch leaves out for unbatched input; report whether it did."""
    if x.dim() != 2:
        if x.dim() != 3:
            raise ValueError(f"input must be 2-D (unbatched) or 3-D, got shape {tuple(x.shape)}")
        return x, hx, False
    batch_dim = 0 if getattr(module, "batch_first", False) else 1
    x = x.unsqueeze(batch_dim)

    def add(t: torch.Tensor) -> torch.Tensor:
        return t.unsqueeze(1)

    if hx is not None:
        hx = tuple(add(t) for t in hx) if isinstance(hx, (tuple, list)) else add(hx)
    return x, hx, True


_STOCK_FORWARD = {nn.LSTM.forward, nn.GRU.forward, nn.RNN.forward}


def _is_stock(module: nn.Module) -> bool:
    """True when calling `module` runs nothing but torch's own fused RNN forward."""
    hooks = (module._forward_hooks, module._forward_pre_hooks)  # no public accessor exists
    return type(module).forward in _STOCK_FORWARD and not any(hooks)


def _trace_rnnbase(
    module: nn.RNNBase,
    x: torch.Tensor,
    hx: Any,
    progress: Progress | None,
    cancel: Cancel | None,
    lanes: Lanes = "all",
    copy_params: bool = True,
    started: float | None = None,
) -> Trace:
    x, hx, unbatched = _unbatched(module, x, hx)
    spec = spec_of(module, x)
    wanted = lane_set(spec, lanes)
    # Refuse before torch allocates: the recorded gates alone can dwarf the module.
    check_budget(spec, graph=False)
    xt = x.transpose(0, 1) if spec.batch_first else x
    if hx is None:
        h0, c0 = default_state(spec, xt)
    elif spec.cell == "lstm":
        h0, c0 = hx
    else:
        h0, c0 = hx, None
    # A stock module's forward is one call of the same ATen kernel we run per layer below, with
    # the same flat weights, so the per-layer run *is* its forward and calling the module as
    # well would only double the cost (tests assert the results are identical). A subclass
    # with its own forward, or a module with hooks, is called as well and compared.
    module_out = None if _is_stock(module) else module(x, (h0, c0) if spec.cell == "lstm" else h0)

    meter = Meter(forward_units(spec) + len(wanted), progress, cancel)
    diff = Diff()
    runs = run_layers(module, spec, xt, h0, c0, meter)
    # Gates come after every layer has run: all lanes' cell states then share one scan.
    # Lanes not asked for keep torch's own h_t only; `complete_lanes` recomputes them later
    # from the recorded forward, bit for bit as here.
    recomputed = recompute(
        spec, [ln for ln in runs.lanes if (ln.layer, ln.direction) in wanted], diff, meter
    )
    gates: dict[tuple[int, str, str], Any] = {}
    for ln in runs.lanes:
        if (ln.layer, ln.direction) in wanted:
            gates.update((k, v) for k, v in recomputed.items() if k[:2] == (ln.layer, ln.direction))
        else:
            gates[(ln.layer, ln.direction, "h")] = ln.hseq
    meter.check()
    output = runs.output.transpose(0, 1) if spec.batch_first else runs.output
    h_n = torch.stack(runs.h_last)
    c_n = torch.stack(runs.c_last) if runs.c_last else None
    if module_out is not None:
        m_output, m_state = module_out
        m_hn, m_cn = m_state if spec.cell == "lstm" else (m_state, None)
        diff.add(output, m_output)
        diff.add(h_n, m_hn)
        if m_cn is not None and c_n is not None:
            diff.add(c_n, m_cn)
        # Show what the user's own forward returned.
        output, h_n, c_n = m_output, m_hn, m_cn

    tensors = {"input": x, "h0": h0, "output": output, "h_n": h_n}
    if spec.cell == "lstm":
        assert c0 is not None and c_n is not None
        tensors.update(c0=c0, c_n=c_n)
    notes = ["input was unbatched (2-D); traced as batch 1"] if unbatched else []
    if float(module.dropout) > MAX_SPEC_DROPOUT:
        notes.append(
            f"the module's dropout={module.dropout:g} is shown as "
            f"{MAX_SPEC_DROPOUT}; dropout acts only in training, so the traced "
            "(eval) pass is the same"
        )
    if runs.rounded:
        notes.append(
            f"layers this large run in chunks of {chunk_steps(spec)} steps so a cancel "
            "takes effect; torch's kernel then rounds each chunk's input projection on "
            "its own, so output may differ from one module(x) call by round-off"
        )
    return assemble_trace(
        spec,
        tensors,
        gates,
        module,
        diff,
        "module",
        notes,
        pending=frozenset(lane_set(spec, "all")) - wanted,
        copy_params=copy_params,
        started=started,
    )


def trace_owned(
    module: nn.Module,
    x: torch.Tensor,
    hx: Any = None,
    *,
    lanes: Lanes = "all",
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    batch_first: bool = False,
) -> Trace:
    """`trace` for a module nobody else holds: one made for this trace and dropped after, as
    `trace_spec` and the window's runner make theirs. Its parameters are recorded as views,
    not copied (nobody can change them later); with a caller's module use `trace`, whose copy
    keeps the trace what it was when the caller trains on or edits the module."""
    return _trace(module, x, hx, lanes, progress, cancel, owned=True, batch_first=batch_first)


def trace_spec(
    spec: Spec,
    options: RunOptions | None = None,
    *,
    lanes: Lanes = "all",
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> Trace:
    """Build `spec`'s module and input as `options` say (make_run) and trace it.

    `lanes` as for `trace`. For stepper "cell" the *Cell is stepped over x in the spec's
    layout and takes the (batch, H) slice of h0, so the values equal those of the 1-layer
    module with the same weights; the Trace has api "cell".
    """
    options = options or RunOptions()
    module, x, hx = make_run(spec, options)
    if options.api == "cell":
        # A Cell takes the (batch, H) state; the spec's inputs carry a layers × directions dim.
        hx = tuple(h[0] for h in hx) if isinstance(hx, tuple) else hx[0]
    result = trace_owned(
        module, x, hx, lanes=lanes, progress=progress, cancel=cancel, batch_first=spec.batch_first
    )
    # Keep the caller's spec (identical in every field the module knows) so fields such as
    # dropout read back exactly as set.
    return dataclasses.replace(
        result, spec=spec, source="cell" if options.api == "cell" else "spec"
    )
