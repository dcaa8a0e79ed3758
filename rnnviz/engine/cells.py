"""A *Cell stepped over time exactly as a user's loop would, then verified like a module."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from rnnviz.config.budget import check_budget
from rnnviz.engine.assemble import assemble_trace
from rnnviz.engine.cancel import Cancel, Meter, Progress
from rnnviz.engine.inputs import default_state, direction_weights, spec_of
from rnnviz.engine.recompute import Diff, Lane, recompute
from rnnviz.engine.record import Trace


def trace_cell(
    cell: nn.Module,
    x: torch.Tensor,
    hx: Any,
    progress: Progress | None,
    cancel: Cancel | None,
    batch_first: bool = False,
    started: float | None = None,
) -> Trace:
    """Step an RNNCell/LSTMCell/GRUCell over time exactly as a user loop would.

    x is (T, B, I) — `for x_t in x: h = cell(x_t, h)` — or, with `batch_first`, (B, T, I)
    stepped as `x[:, t]` (tutorial 004); a 2-D x is one unbatched sequence. hx is the (B, H)
    state the first call takes ((h, c) for LSTMCell), None for zeros. The Trace keeps x as
    given, hx as "h0" (+ "c0"), and every call's return as "h_t" (+ "c_t"), (T, B, H).
    Its `seconds` count from `started` (a `time.perf_counter()` reading; None: 0).
    """
    unbatched = x.dim() == 2
    if unbatched:
        x = x.unsqueeze(0 if batch_first else 1)
        if hx is not None:
            hx = (
                tuple(t.unsqueeze(0) for t in hx)
                if isinstance(hx, (tuple, list))
                else hx.unsqueeze(0)
            )
    if x.dim() != 3:
        raise ValueError(f"input to a cell trace must be (T, B, I) or (T, I), got {tuple(x.shape)}")
    xt = x.transpose(0, 1) if batch_first else x  # time-major view: xt[t] is the t-th call's x_t
    spec = spec_of(cell, xt)
    if batch_first:
        spec = spec.replace(batch_first=True)
    check_budget(spec, graph=False)
    h0, c0 = default_state(spec, xt)
    if hx is not None:
        h0, c0 = (
            (hx[0].unsqueeze(0), hx[1].unsqueeze(0))
            if spec.cell == "lstm"
            else (hx.unsqueeze(0), None)
        )
    meter = Meter(spec.seq_len // 64 + 1, progress, cancel)
    h, c = h0[0], (c0[0] if c0 is not None else None)
    hs, cs = [], []
    for t in range(spec.seq_len):
        if spec.cell == "lstm":
            h, c = cell(xt[t], (h, c))
            cs.append(c)
        else:
            h = cell(xt[t], h)
        hs.append(h)
        if t % 64 == 63:
            meter.tick()
    hseq = torch.stack(hs)
    w = direction_weights(cell, 0, 0)
    diff = Diff()
    c_init = c0[0] if c0 is not None else None
    c_steps = torch.stack(cs) if cs else None
    lane = Lane(0, "fwd", xt, hseq, h0[0], c_init, cs[-1] if cs else None, w)
    # A cell does return c_t at every step, so the cell state is checked at every step.
    gates = recompute(spec, [lane], diff, meter, c_steps)
    meter.check()
    tensors = {"input": x, "h0": h0[0], "h_t": hseq}
    if c0 is not None and c_steps is not None:
        tensors.update(c0=c0[0], c_t=c_steps)
    loop = "for t: cell(x[:, t], h)" if batch_first else "for x_t in x: cell(x_t, h)"
    notes = [
        f"{type(cell).__name__} called {spec.seq_len} times ({loop}); h_t stacks what each "
        "call returned"
    ]
    if unbatched:
        notes.append("input was unbatched (2-D); traced as batch 1")
    return assemble_trace(
        spec, tensors, gates, cell, diff, type(cell).__name__, notes, api="cell", started=started
    )
