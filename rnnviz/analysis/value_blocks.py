"""What the Values view prints: each tensor of a trace as a `>>> expression` line and torch's
print of it, with the elements the selection points at (timestep t, the selected layer and
direction's slice of h0/h_n) marked for highlighting.

A module run shows x, h0 (c0), output and h_n (c_n). A Cell run shows what the user's loop
holds: x (time-major: the loop steps dim 0), the starting h (and c), then each call's h_t —
`output` in the trace is exactly those h_t stacked — and the last h (and c).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnviz.analysis.values import Index, Printed, PrintOptions, torch_print
from rnnviz.engine.record import Trace

#: Above this many steps a Cell run prints every h_t stacked (plus the current one), not one
#: block per call.
MAX_STEP_BLOCKS = 32


@dataclass(frozen=True)
class ValueBlock:
    """One printed tensor: `expr` is the torch expression (e.g. 'x[:, 0]'), `about` its
    shape and meaning, `printed` torch's text, `marked` the indices to highlight."""

    expr: str
    about: str
    printed: Printed
    marked: frozenset[Index]


def _shape(a: np.ndarray) -> str:
    return str(tuple(int(n) for n in a.shape))


def _mark(a: np.ndarray, where: tuple[int | slice, ...]) -> frozenset[Index]:
    """The multi-indices of `a` selected by `where` (ints and slices)."""
    mask = np.zeros(a.shape, dtype=bool)
    mask[where] = True
    return frozenset(tuple(int(i) for i in idx) for idx in np.argwhere(mask))


def _block(
    expr: str, about: str, a: np.ndarray, where: tuple | None, opts: PrintOptions
) -> ValueBlock:
    marked = _mark(a, where) if where is not None else frozenset()
    return ValueBlock(expr, f"{_shape(a)} {about}", torch_print(a, opts), marked)


def is_cell_run(tr: Trace, stepper: str | None = None) -> bool:
    """Whether `tr` is a *Cell stepped over time (stepper 'cell', or a traced user cell)."""
    return stepper == "cell" or tr.source == "cell" or tr.source.endswith("Cell")


def value_blocks(
    tr: Trace,
    *,
    batch: int | None,
    t: int,
    layer: int = 0,
    direction: str = "fwd",
    cell: bool = False,
    opts: PrintOptions | None = None,
    mark_batch: int | None = None,
) -> list[ValueBlock]:
    """The blocks the Values view prints for `tr`: every row when `batch` is None, else batch
    row `batch` (as torch indexing that row prints it). `t` marks x[t] and output[t];
    (layer, direction) marks its slice of h0/c0/h_n/c_n. `cell` prints a Cell run's loop.
    With every row shown, `mark_batch` narrows the marks to that batch row."""
    opts = opts or PrintOptions()
    spec = tr.spec
    if cell:
        return _cell_blocks(tr, batch, t, opts, mark_batch)
    k = layer * spec.num_directions + spec.directions.index(direction)
    which = f"layer {layer} {'backward' if direction == 'bwd' else 'forward'}"
    bf = spec.batch_first
    blocks = []

    def seq(name: str, about: str) -> ValueBlock:
        a = tr.tensors[name]
        var = "x" if name == "input" else name
        if batch is None:
            b = slice(None) if mark_batch is None else mark_batch
            return _block(var, about, a, (b, t) if bf else (t, b), opts)
        if bf:
            return _block(f"{var}[{batch}]", about, a[batch], (t,), opts)
        return _block(f"{var}[:, {batch}]", about, a[:, batch], (t,), opts)

    def state(name: str, about: str) -> ValueBlock:
        a = tr.tensors[name]
        if batch is None:
            return _block(
                name, about, a, (k, slice(None) if mark_batch is None else mark_batch), opts
            )
        return _block(f"{name}[:, {batch}]", about, a[:, batch], (k,), opts)

    layout = "batch, seq_len" if bf else "seq_len, batch"
    blocks.append(seq("input", f"x: ({layout}, input_size); x[t] marked"))
    blocks.append(state("h0", f"h0: (num_layers × directions, batch, hidden); {which} marked"))
    if "c0" in tr.tensors:
        blocks.append(state("c0", "c0: the starting cell state"))
    blocks.append(seq("output", f"output: ({layout}, directions × hidden), the last layer's h_t"))
    blocks.append(state("h_n", f"h_n: the final h of every layer and direction; {which} marked"))
    if "c_n" in tr.tensors:
        blocks.append(state("c_n", "c_n: the final cell state"))
    return blocks


def _cell_blocks(
    tr: Trace, batch: int | None, t: int, opts: PrintOptions, mark_batch: int | None
) -> list[ValueBlock]:
    """A Cell run: x, the starting h (c), each call's h_t, the last h (c).

    A Cell trace records x in the spec's layout (batch-first when the loop steps x[:, t]),
    hx as h0 (batch, hidden) (+ c0), and every call's return as h_t (+ c_t), (T, batch, H)."""
    x, hs = tr.tensors["input"], tr.tensors["h_t"]
    bf = tr.spec.batch_first
    rows = slice(None) if batch is None else batch
    sub = "" if batch is None else f"[{batch}]"
    xsub = "" if batch is None else (f"[{batch}]" if bf else f"[:, {batch}]")
    what = "(batch, hidden)" if batch is None else "(hidden,)"
    if batch is not None:
        x_shown = x[batch] if bf else x[:, batch]
        x_mark: tuple[Any, ...] = (t,)
    else:
        x_shown = x
        b = slice(None) if mark_batch is None else mark_batch
        x_mark = (b, t) if bf else (t, b)
    layout = (
        "(batch, seq_len, input); the loop takes x[:, t]"
        if bf
        else ("(seq_len, batch, input); the loop takes x[t]")
    )
    blocks = [
        _block(f"x{xsub}", f"x: {layout} each call", x_shown, x_mark, opts),
        _block(
            f"h0{sub}", f"{what} the h the first call takes", tr.tensors["h0"][rows], None, opts
        ),
    ]
    if "c0" in tr.tensors:
        blocks.append(
            _block(f"c0{sub}", f"{what} the first call's c", tr.tensors["c0"][rows], None, opts)
        )
    steps = hs.shape[0]
    xs = "x[:, {s}]" if bf else "x[{s}]"
    call = f"h, c = cell({xs}, (h, c))" if "c0" in tr.tensors else f"h = cell({xs}, h)"
    if steps <= MAX_STEP_BLOCKS:
        for s in range(steps):
            a = hs[s][rows]
            blk = _block(f"h{sub}", f"{what} after call {s}: {call.format(s=s)}", a, None, opts)
            whole = (slice(None),) if batch is not None or mark_batch is None else (mark_batch,)
            mark = _mark(a, whole) if s == t else frozenset()
            blocks.append(ValueBlock(blk.expr, blk.about, blk.printed, mark))
    else:
        blocks.append(
            _block(
                f"torch.stack(hs){xsub}",
                f"every h_t; h_t = this[t], t={t} marked",
                hs[:, rows] if batch is not None else hs,
                (t,),
                opts,
            )
        )
    last = f"{what} the last call's h (h_n)"
    blocks.append(_block(f"h{sub}", last, hs[-1][rows], None, opts))
    if "c_t" in tr.tensors:
        blocks.append(
            _block(
                f"c{sub}",
                f"{what} the last call's c (c_n)",
                tr.tensors["c_t"][-1][rows],
                None,
                opts,
            )
        )
    return blocks
