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

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from rnnviz.budget import check_budget
from rnnviz.fused import CHUNK, chunk_steps, run_direction, run_layer, whole_layers
from rnnviz.gates import (
    DirectionWeights,
    cell_scan,
    gru_gates,
    lstm_gates,
    lstm_h,
    max_diff,
    previous_h,
    rnn_gates,
)
from rnnviz.options import INIT_KINDS, INPUT_KINDS, STEPPERS, RunOptions
from rnnviz.record import Trace
from rnnviz.spec import Spec

__all__ = ["CHUNK", "INIT_KINDS", "INPUT_KINDS", "STEPPERS", "Cancelled", "RunOptions",
           "build_module", "make_inputs", "spec_of", "trace", "trace_spec"]




class Cancelled(Exception):
    """The caller's `cancel()` returned True; the trace was abandoned between chunks."""


Progress = Callable[[float], None]
Cancel = Callable[[], bool]

#: The largest dropout a Spec holds, standing in for a module's dropout=1.0.
_MAX_SPEC_DROPOUT = 0.99

_CELLS: dict[type, str] = {nn.LSTMCell: "lstm", nn.GRUCell: "gru", nn.RNNCell: "rnn"}


def spec_of(module: nn.Module, x: torch.Tensor) -> Spec:
    """The Spec describing `module` run on input `x` (batched, in the module's layout)."""
    if isinstance(module, nn.RNNBase):
        cell = {"LSTM": "lstm", "GRU": "gru", "RNN_TANH": "rnn", "RNN_RELU": "rnn"}[module.mode]
        t_dim, b_dim = (1, 0) if module.batch_first else (0, 1)
        return Spec(cell=cell, input_size=module.input_size, hidden_size=module.hidden_size,
                    num_layers=module.num_layers, bidirectional=module.bidirectional,
                    batch_first=module.batch_first, bias=module.bias,
                    nonlinearity="relu" if module.mode == "RNN_RELU" else "tanh",
                    # torch allows dropout=1.0, a Spec takes [0, 1); dropout acts only in
                    # training, so the traced (eval) pass is the same either way — see notes.
                    dropout=min(float(module.dropout), _MAX_SPEC_DROPOUT), proj_size=getattr(module, "proj_size", 0),
                    seq_len=x.shape[t_dim], batch_size=x.shape[b_dim])
    for cls, cell in _CELLS.items():
        if isinstance(module, cls):
            assert isinstance(module, nn.RNNCellBase)
            return Spec(cell=cell, input_size=module.input_size, hidden_size=module.hidden_size,
                        bias=module.bias, nonlinearity=getattr(module, "nonlinearity", "tanh"),
                        seq_len=x.shape[0], batch_size=x.shape[1])
    raise TypeError(f"rnnviz traces nn.RNN, nn.LSTM, nn.GRU and their *Cell versions, "
                    f"not {type(module).__name__}")


def direction_weights(module: nn.Module, layer: int, direction: int) -> DirectionWeights:
    """The parameters of (layer, direction) of an RNNBase module, or of a *Cell (layer 0)."""
    if isinstance(module, nn.RNNCellBase):
        return DirectionWeights(module.weight_ih, module.weight_hh,
                                getattr(module, "bias_ih", None), getattr(module, "bias_hh", None))
    sfx = f"_l{layer}" + ("_reverse" if direction else "")
    return DirectionWeights(getattr(module, "weight_ih" + sfx), getattr(module, "weight_hh" + sfx),
                            getattr(module, "bias_ih" + sfx, None),
                            getattr(module, "bias_hh" + sfx, None),
                            getattr(module, "weight_hr" + sfx, None))


class _Meter:
    """Progress in [0, 1] over a known number of units, and the cancellation check."""

    def __init__(self, units: int, progress: Progress | None, cancel: Cancel | None) -> None:
        self.units, self.done = max(units, 1), 0
        self.progress, self.cancel = progress, cancel

    def tick(self) -> None:
        """One unit of work done: check for a cancel, report progress."""
        self.done += 1
        self.check()
        if self.progress is not None:
            self.progress(min(self.done / self.units, 1.0))

    def check(self) -> None:
        """Raise Cancelled if asked to; costs nothing to call between any two pieces of work."""
        if self.cancel is not None and self.cancel():
            raise Cancelled()


def _default_state(spec: Spec, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    ld = spec.num_layers * spec.num_directions
    b = spec.batch_size
    h0 = torch.zeros(ld, b, spec.out_hidden, dtype=x.dtype, device=x.device)
    c0 = (torch.zeros(ld, b, spec.hidden_size, dtype=x.dtype, device=x.device)
          if spec.cell == "lstm" else None)
    return h0, c0


def count_nonfinite(a: np.ndarray) -> int:
    """How many values of `a` are Inf or NaN.

    A sum is finite only if every term is, so one fast reduction settles the usual case;
    the exact count runs only when the sum is not finite (or overflowed on its own).
    """
    with np.errstate(invalid="ignore", over="ignore"):  # Inf − Inf in the sum is the point
        if a.size == 0 or np.isfinite(a.sum()):
            return 0
    return int(a.size - np.count_nonzero(np.isfinite(a)))


#: Trace tensors that may be the caller's own objects.
_USER_TENSORS = frozenset({"input", "h0", "c0"})


def _np(t: torch.Tensor, copy: bool = False) -> np.ndarray:
    arr = t.detach().cpu().numpy()
    # .cpu() already copied a GPU tensor; a CPU one still shares the caller's memory.
    return arr.copy() if copy and t.device.type == "cpu" else arr


class _Diff:
    """Running maximum of absolute and relative differences."""

    def __init__(self) -> None:
        self.abs, self.rel, self.mismatched = 0.0, 0.0, 0

    def add(self, a: torch.Tensor, b: torch.Tensor) -> None:
        d, r, m = max_diff(a, b)
        self.abs, self.rel = max(self.abs, d), max(self.rel, r)
        self.mismatched += m


@dataclass
class _Lane:
    """One (layer, direction) waiting for its gates: its input and torch's h for every t."""

    layer: int
    direction: str
    x: torch.Tensor  # (T, B, I) the layer's input
    hseq: torch.Tensor  # (T, B, H_out) torch's h_t
    h0: torch.Tensor  # (B, H_out)
    c0: torch.Tensor | None  # (B, H) for LSTM
    c_last: torch.Tensor | None  # torch's final c for LSTM
    w: DirectionWeights

    @property
    def reverse(self) -> bool:
        return self.direction == "bwd"


def _recompute(spec: Spec, lanes: list[_Lane], diff: _Diff, meter: _Meter,
               c_steps: torch.Tensor | None = None) -> dict[tuple[int, str, str], np.ndarray]:
    """Every gate of every lane from the weights, compared with torch as it goes.

    Returns (layer, direction, gate) → numpy (T, B, size); h is torch's own (verified here).
    `c_steps` is torch's c_t for every t when it is known (a stepped LSTMCell).
    """
    out: dict[tuple[int, str, str], np.ndarray] = {}
    per_lane: list[dict[str, torch.Tensor]] = []
    for lane in lanes:
        if spec.cell == "lstm":
            per_lane.append(lstm_gates(lane.x, lane.hseq, lane.h0, lane.w, spec.hidden_size,
                                       lane.reverse))
        elif spec.cell == "gru":
            hprev = previous_h(lane.hseq, lane.h0, lane.reverse)
            per_lane.append(gru_gates(lane.x, hprev, lane.w))
        else:
            per_lane.append(rnn_gates(lane.x, lane.hseq, lane.h0, lane.w, spec.nonlinearity,
                                      lane.reverse))
        meter.tick()
    if spec.cell == "lstm":
        cs = cell_scan([(g["i"], g["f"], g["g"], lane.c0, lane.reverse)  # type: ignore[misc]
                        for g, lane in zip(per_lane, lanes)])
        for g, lane, c in zip(per_lane, lanes, cs):
            g["c"] = c
            g["h"] = lstm_h(g["o"], c, lane.w)
            if lane.c_last is not None:
                diff.add(c[0 if lane.reverse else -1], lane.c_last)
            if c_steps is not None:
                diff.add(c, c_steps)
    # The comparisons and copies below touch every recorded value; keep a cancel prompt.
    for g, lane in zip(per_lane, lanes):
        meter.check()
        diff.add(g["h"], lane.hseq)
        g["h"] = lane.hseq  # show torch's own h, verified above
        for name, arr in g.items():
            out[(lane.layer, lane.direction, name)] = _np(arr)
    return out


def trace(module: nn.Module, x: torch.Tensor, hx: Any = None, *,
          progress: Progress | None = None, cancel: Cancel | None = None) -> Trace:
    """Trace a real forward pass of `module` on `x` and recompute every gate.

    `module` is any nn.RNN / nn.LSTM / nn.GRU (batch_first, bidirectional, proj_size,
    bias=False, any device and float dtype), or an nn.RNNCell / LSTMCell / GRUCell, which is
    stepped over x's first dimension. `x` is (T, B, I), or (B, T, I) with batch_first; a 2-D
    x is treated as one unbatched sequence (batch 1). `hx` is what the module takes: h0, or
    (h0, c0) for LSTM; None means zeros, as torch does.

    Returns a `Trace`; gate arrays are (T, B, size) numpy arrays in the module's dtype.
    Raises `Cancelled` if `cancel()` turns true, TypeError for other modules.
    """
    if not isinstance(module, (nn.RNNBase, *_CELLS)):
        raise TypeError(f"rnnviz traces nn.RNN, nn.LSTM, nn.GRU and their *Cell versions, "
                        f"not {type(module).__name__}")
    started = time.perf_counter()
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            if isinstance(module, nn.RNNBase):
                result = _trace_rnnbase(module, x, hx, progress, cancel)
            else:
                result = _trace_cell(module, x, hx, progress, cancel)
    finally:
        module.train(was_training)
    result.seconds = time.perf_counter() - started
    return result


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


def _trace_rnnbase(module: nn.RNNBase, x: torch.Tensor, hx: Any, progress: Progress | None,
                   cancel: Cancel | None) -> Trace:
    x, hx, unbatched = _unbatched(module, x, hx)
    spec = spec_of(module, x)
    # Refuse before torch allocates: the recorded gates alone can dwarf the module.
    check_budget(spec, graph=False)
    xt = x.transpose(0, 1) if spec.batch_first else x
    if hx is None:
        h0, c0 = _default_state(spec, xt)
    elif spec.cell == "lstm":
        h0, c0 = hx
    else:
        h0, c0 = hx, None
    # A stock module's forward is one call of the same ATen kernel we run per layer below, with
    # the same flat weights, so the per-layer run *is* its forward and calling the module as
    # well would only double the cost (tests assert the results are identical). A subclass
    # with its own forward, or a module with hooks, is called as well and compared.
    module_out = None if _is_stock(module) else module(x, (h0, c0) if spec.cell == "lstm" else h0)

    whole = whole_layers(spec)
    chunks = 1 if whole else -(-spec.seq_len // chunk_steps(spec))
    meter = _Meter(spec.num_layers * spec.num_directions * (chunks + 1), progress, cancel)
    diff = _Diff()
    lanes: list[_Lane] = []
    h_last: list[torch.Tensor] = []
    c_last_all: list[torch.Tensor] = []
    layer_in = xt
    for layer in range(spec.num_layers):
        rows = slice(layer * spec.num_directions, (layer + 1) * spec.num_directions)
        ws = [direction_weights(module, layer, d) for d in range(spec.num_directions)]
        c_layer = c0[rows] if c0 is not None else None
        if whole:
            hseqs, c_lasts = run_layer(spec, layer_in, h0[rows], c_layer, ws)
            meter.tick()
        else:
            hseqs, c_lasts = [], []
            for d in range(spec.num_directions):
                hseq, c_fin = run_direction(spec, layer_in, h0[rows][d],
                                             c_layer[d] if c_layer is not None else None,
                                             ws[d], bool(d), meter.tick)
                hseqs.append(hseq)
                c_lasts.append(c_fin)
        for d, dname in enumerate(spec.directions):
            idx = layer * spec.num_directions + d
            lanes.append(_Lane(layer, dname, layer_in, hseqs[d], h0[idx],
                               c0[idx] if c0 is not None else None, c_lasts[d], ws[d]))
            h_last.append(hseqs[d][0 if d else -1])
            if c_lasts[d] is not None:
                c_last_all.append(c_lasts[d])  # type: ignore[arg-type]
        layer_in = torch.cat(hseqs, dim=2) if len(hseqs) > 1 else hseqs[0]
    # Gates come after every layer has run: all lanes' cell states then share one scan.
    gates = _recompute(spec, lanes, diff, meter)
    meter.check()
    output = layer_in.transpose(0, 1) if spec.batch_first else layer_in
    h_n = torch.stack(h_last)
    c_n = torch.stack(c_last_all) if c_last_all else None
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
    if float(module.dropout) > _MAX_SPEC_DROPOUT:
        notes.append(f"the module's dropout={module.dropout:g} is shown as "
                     f"{_MAX_SPEC_DROPOUT}; dropout acts only in training, so the traced "
                     "(eval) pass is the same")
    if not whole:
        notes.append(f"layers this large run in chunks of {chunk_steps(spec)} steps so a cancel "
                     "takes effect; torch's kernel then rounds each chunk's input projection on "
                     "its own, so output may differ from one module(x) call by round-off")
    return _finish(spec, tensors, gates, module, diff, "module", notes)


def _finish(spec: Spec, tensors: dict[str, torch.Tensor], gates: dict[tuple[int, str, str],
            np.ndarray], module: nn.Module, diff: _Diff, source: str, notes: list[str]) -> Trace:
    # The user's own tensors (weights, x, h0, c0) are copied: .numpy() shares their memory,
    # and a trace must stay what it was when the user trains on or edits x in place.
    # Everything else was made by this trace and is nobody else's.
    arrays = {k: _np(v, copy=k in _USER_TENSORS) for k, v in tensors.items()}
    nonfinite = sum(count_nonfinite(a) for a in gates.values())
    nonfinite += sum(count_nonfinite(a) for k, a in arrays.items() if k != "input")
    params = _param_copies(module)
    return Trace(spec=spec, tensors=arrays, gates=gates, params=params, max_abs_diff=diff.abs,
                 max_rel_diff=diff.rel, nonfinite=nonfinite,
                 nonfinite_mismatch=diff.mismatched, source=source, notes=notes)


def _param_copies(module: nn.Module) -> dict[str, np.ndarray]:
    """Every parameter as a numpy copy (name → array), all views of one buffer: one torch.cat
    is ~3× cheaper than a copy per tensor, which showed in small traces' cost."""
    named = [(name, p.detach()) for name, p in module.named_parameters()]
    if not named:
        return {}
    dtypes = {p.dtype for _, p in named}
    if len(dtypes) > 1:  # mixed precision: one buffer cannot hold them all
        return {name: _np(p, copy=True) for name, p in named}
    flat = _np(torch.cat([p.reshape(-1) for _, p in named]))
    out, at = {}, 0
    for name, p in named:
        out[name] = flat[at:at + p.numel()].reshape(tuple(p.shape))
        at += p.numel()
    return out


def _trace_cell(cell: nn.Module, x: torch.Tensor, hx: Any, progress: Progress | None,
                cancel: Cancel | None) -> Trace:
    """Step an RNNCell/LSTMCell/GRUCell over x's first dim exactly as a user loop would."""
    unbatched = x.dim() == 2
    if unbatched:
        x = x.unsqueeze(1)
        if hx is not None:
            hx = tuple(t.unsqueeze(0) for t in hx) if isinstance(hx, (tuple, list)) \
                else hx.unsqueeze(0)
    if x.dim() != 3:
        raise ValueError(f"input to a cell trace must be (T, B, I) or (T, I), got {tuple(x.shape)}")
    spec = spec_of(cell, x)
    check_budget(spec, graph=False)
    h0, c0 = _default_state(spec, x)
    if hx is not None:
        h0, c0 = (hx[0].unsqueeze(0), hx[1].unsqueeze(0)) if spec.cell == "lstm" \
            else (hx.unsqueeze(0), None)
    meter = _Meter(spec.seq_len // 64 + 1, progress, cancel)
    h, c = h0[0], (c0[0] if c0 is not None else None)
    hs, cs = [], []
    for t in range(spec.seq_len):
        if spec.cell == "lstm":
            h, c = cell(x[t], (h, c))
            cs.append(c)
        else:
            h = cell(x[t], h)
        hs.append(h)
        if t % 64 == 63:
            meter.tick()
    hseq = torch.stack(hs)
    w = direction_weights(cell, 0, 0)
    diff = _Diff()
    c_init = c0[0] if c0 is not None else None
    lane = _Lane(0, "fwd", x, hseq, h0[0], c_init, cs[-1] if cs else None, w)
    # A cell does return c_t at every step, so the cell state is checked at every step.
    gates = _recompute(spec, [lane], diff, meter, torch.stack(cs) if cs else None)
    meter.check()
    tensors = {"input": x, "h0": h0, "output": hseq, "h_n": hseq[-1:].clone()}
    if c0 is not None:
        tensors.update(c0=c0, c_n=cs[-1].unsqueeze(0))
    notes = [f"{type(cell).__name__} stepped over {spec.seq_len} steps; output is the stacked h_t"]
    if unbatched:
        notes.append("input was unbatched (2-D); traced as batch 1")
    return _finish(spec, tensors, gates, cell, diff, type(cell).__name__, notes)


def make_inputs(spec: Spec, seed: int = 0, input_kind: str = "randn", init: str = "zeros",
                dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, Any]:
    """The input x (spec.input_shape()) and hx for a spec: x seeded normal / zeros / ones,
    hx zeros (torch's default) or seeded normal as the tutorials do. hx is h0, or (h0, c0)."""
    if input_kind not in INPUT_KINDS:
        raise ValueError(f"input_kind must be one of {', '.join(INPUT_KINDS)}, got {input_kind!r}")
    if init not in INIT_KINDS:
        raise ValueError(f"init must be one of {', '.join(INIT_KINDS)}, got {init!r}")
    gen = torch.Generator().manual_seed(seed + 1)  # + 1: not the stream that drew the weights
    shape = spec.input_shape()
    if input_kind == "randn":
        x = torch.randn(shape, generator=gen, dtype=dtype)
    else:
        x = (torch.zeros if input_kind == "zeros" else torch.ones)(shape, dtype=dtype)
    ld, b = spec.num_layers * spec.num_directions, spec.batch_size

    def state(size: int) -> torch.Tensor:
        if init == "randn":
            return torch.randn((ld, b, size), generator=gen, dtype=dtype)
        return torch.zeros((ld, b, size), dtype=dtype)

    h0 = state(spec.out_hidden)
    return x, ((h0, state(spec.hidden_size)) if spec.cell == "lstm" else h0)


def build_module(spec: Spec, options: RunOptions) -> nn.Module:
    """The module `options` asks for: spec.build(seed), or the matching *Cell with weights from
    the same seed, then every weight scaled by `weight_scale`."""
    options.check(spec)
    if options.stepper == "cell":
        state = torch.random.get_rng_state()
        try:
            torch.manual_seed(options.seed)
            cls = {"lstm": nn.LSTMCell, "gru": nn.GRUCell, "rnn": nn.RNNCell}[spec.cell]
            kwargs: dict[str, Any] = {"bias": spec.bias}
            if spec.cell == "rnn":
                kwargs["nonlinearity"] = spec.nonlinearity
            module: nn.Module = cls(spec.input_size, spec.hidden_size, **kwargs).eval()
        finally:
            torch.random.set_rng_state(state)
    else:
        module = spec.build(options.seed)
    if options.weight_scale != 1.0:
        with torch.no_grad():
            for name, p in module.named_parameters():
                if name.startswith("weight"):
                    p.mul_(options.weight_scale)
    return module


def trace_spec(spec: Spec, options: RunOptions | None = None, *,
               progress: Progress | None = None, cancel: Cancel | None = None) -> Trace:
    """Build `spec`'s module as `options` say, make its input (make_inputs) and trace it.

    For stepper "cell" the input is made time-major and h0 is the (batch, H) slice a cell
    takes, so the values equal those of the 1-layer module with the same weights.
    """
    options = options or RunOptions()
    module = build_module(spec, options)
    x, hx = make_inputs(spec, options.seed, options.input_kind, options.init)
    if options.stepper == "cell":
        if spec.batch_first:
            x = x.transpose(0, 1)
        hx = tuple(h[0] for h in hx) if isinstance(hx, tuple) else hx[0]
    result = trace(module, x, hx, progress=progress, cancel=cancel)
    # Keep the caller's spec (identical in every field the module knows) so fields such as
    # dropout, and batch_first under a cell stepper, read back exactly as set.
    result.spec = spec
    result.source = "cell" if options.stepper == "cell" else "spec"
    return result
