"""Every gate of every (layer, direction) recomputed from the weights and checked against
torch's own h_t (and c_t), as the trace records them."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import torch

from rnnviz.config.spec import Spec
from rnnviz.engine.arrays import to_numpy
from rnnviz.engine.cancel import Meter
from rnnviz.engine.cell_scan import cell_scan
from rnnviz.engine.gates import (
    DirectionWeights,
    gru_gates,
    lstm_gates,
    lstm_h,
    max_diff,
    previous_h,
    rnn_gates,
)


def count_nonfinite(a: np.ndarray) -> int:
    """How many values of `a` are Inf or NaN.

    A sum is finite only if every term is, so one fast reduction settles the usual case;
    the exact count runs only when the sum is not finite (or overflowed on its own).
    """
    with np.errstate(invalid="ignore", over="ignore"):  # Inf − Inf in the sum is the point
        return _count(a)


def count_nonfinite_all(arrays: Iterable[np.ndarray | torch.Tensor]) -> int:
    """`count_nonfinite` summed over `arrays` (numpy arrays or CPU/other torch tensors).

    The usual case, every value finite, is settled by one torch sum per buffer and one check
    of their total (finite only if every value is, or a sum overflowed): numpy's sums cost
    more than the arithmetic in small traces. Otherwise each array is counted on its own."""
    arrays = list(arrays)
    if _all_finite(arrays):
        return 0
    with np.errstate(invalid="ignore", over="ignore"):
        return sum(_count(a if isinstance(a, np.ndarray) else to_numpy(a)) for a in arrays)


def _all_finite(arrays: list[np.ndarray | torch.Tensor]) -> bool:
    """True only when every value of every array is finite (False may also mean a sum
    overflowed, or torch cannot read an array: then the exact count decides).

    A plain sum per buffer (`_summands`), not one `torch._foreach_norm` over all of them: the
    gates are strided views of one buffer, where the fused norm fell back to a slow path
    (measured on the bench's window traces: 87 µs vs 24 µs for the small LSTM's 14 arrays,
    1.45 ms vs 0.22 ms for the GRU's)."""
    try:
        tensors = _summands(arrays)
    except (TypeError, ValueError):  # negative strides, object arrays, dtypes torch lacks
        return False
    if not tensors:
        return True
    if any(not t.dtype.is_floating_point for t in tensors):
        return False
    sums = [t.sum() for t in tensors]
    if len({(s.dtype, s.device) for s in sums}) > 1:  # stack wants one dtype and device
        return all(math.isfinite(float(s)) for s in sums)
    return math.isfinite(float(torch.stack(sums).sum()))


def _summands(arrays: list[np.ndarray | torch.Tensor]) -> list[torch.Tensor]:
    """Tensors holding every value of `arrays`, each torch buffer once.

    A trace's gates are views of a few buffers (an LSTM lane's four gates share one, every h
    of a layer is a slice of that layer's output): a tensor view counts as the tensor it is
    a view of (`_base`), summed once for all its views (the bench's small LSTM window trace:
    8 sums where there were 14, and no `from_numpy`). A buffer may hold values no array
    records (padding); a non-finite one there only sends the caller to the exact count,
    which reads the arrays themselves."""
    out: list[torch.Tensor] = []
    seen: set[int] = set()
    for a in arrays:
        if isinstance(a, torch.Tensor):
            if not a.numel():
                continue
            buffer = a._base if a._base is not None else a
            if id(buffer) not in seen:
                seen.add(id(buffer))
                out.append(buffer.detach() if buffer.requires_grad else buffer)
        elif a.size:
            out.append(torch.from_numpy(a))
    return out


def _count(a: np.ndarray) -> int:
    if a.size == 0 or _finite_sum(a):
        return 0
    return int(a.size - np.count_nonzero(np.isfinite(a)))


def _finite_sum(a: np.ndarray) -> bool:
    """Whether the sum of `a` is finite. torch sums on every core where numpy uses one (and a
    slower pairwise sum): 27 µs vs 127 µs for 1M float32 values; both settle only the usual
    case, the exact count above does not depend on which one ran."""
    try:
        t = torch.from_numpy(a)
    except (TypeError, ValueError):  # negative strides, object arrays: numpy's own sum
        return bool(np.isfinite(np.add.reduce(a, axis=None)))
    return math.isfinite(float(t.sum()))


#: Relative difference accepted as round-off (the verdict's tolerance).
REL_TOL = 1e-4
#: A tensor "reaches float's limit" when its largest finite |value| is within this factor of
#: the dtype's maximum, or it holds Inf/NaN: there, summation order decides overflow.
LIMIT_FACTOR = 2.0**-10
#: The largest relative difference still put down to summation order at that limit.
LIMIT_REL = 0.25


class LimitTally:
    """Of the compared pairs that disagree, how many only where torch's values reach float's
    limit (`at_limit`) and how many elsewhere (`real`): the forward's `Diff` and the
    gradients' comparison judge a pair alike."""

    def __init__(self) -> None:
        self.at_limit, self.real = 0, 0

    def judge(self, rel: float, mismatched: int, tol: float, theirs: torch.Tensor) -> None:
        """Count one pair: relative difference `rel`, `mismatched` non-finite disagreements,
        `tol` the round-off allowed, `theirs` torch's side."""
        if rel > tol or mismatched:
            self.count(rel <= LIMIT_REL and reaches_limit(theirs))

    def count(self, at_limit: bool) -> None:
        """Count one pair that disagrees: only at float's limit, or elsewhere."""
        if at_limit:
            self.at_limit += 1
        else:
            self.real += 1

    @property
    def at_float_limit(self) -> bool:
        """True when some pair disagrees and every one that does is at float's limit."""
        return self.at_limit > 0 and self.real == 0


class Diff(LimitTally):
    """Running maximum of absolute and relative differences, and whether every pair that
    disagrees beyond round-off does so only where its values reach float's limit."""

    def __init__(self) -> None:
        super().__init__()
        self.abs, self.rel, self.mismatched = 0.0, 0.0, 0

    def add(
        self,
        a: torch.Tensor,
        b: torch.Tensor,
        out: torch.Tensor | None = None,
        steps: bool = False,
        overflowable: Callable[[], torch.Tensor] | None = None,
    ) -> None:
        """Fold the comparison of recomputed `a` with torch's `b` in (`out`: scratch for
        |a − b|, see `max_diff`); `steps`: both are time-major (T, B, …), and float's limit
        is judged step by step (`judge_steps`); `overflowable()`, asked only when a step
        disagrees, marks the values whose terms can overflow (`overflowable_terms`)."""
        d, r, m = max_diff(a, b, out)
        self.abs = max(self.abs, d)
        self.mismatched += m
        # Step by step where one scale for the whole tensor can hide a step. A step's
        # relative gap is at most the largest absolute gap (its scale is 1 + something), so
        # with |Δ| ≤ REL_TOL everywhere no step can disagree: the usual trace (|Δ| ~ 1e-7)
        # skips this; relu runs and anything that disagrees at all take it.
        if steps and (r > REL_TOL or m or d > REL_TOL):
            j = judge_steps(a, b, REL_TOL)
            if j.disagrees and not j.at_limit and overflowable is not None:
                # Only now (rare): where the sum's terms can overflow, either side's value
                # is float's limit, whatever it is.
                j = judge_steps(a, b, REL_TOL, overflowable())
            self.rel = max(self.rel, j.rel)
            if j.disagrees:
                self.count(j.at_limit)
            return
        self.rel = max(self.rel, r)
        self.judge(r, m, REL_TOL, b)


@dataclass(frozen=True)
class StepJudgement:
    """A time-major pair judged step by step (`judge_steps`): the largest relative gap of any
    (step, batch row), and whether the pair disagrees, and if so only at float's limit."""

    rel: float
    disagrees: bool
    at_limit: bool


def judge_steps(
    ours: torch.Tensor,
    theirs: torch.Tensor,
    tol: float,
    overflowable: torch.Tensor | None = None,
) -> StepJudgement:
    """Judge time-major `ours` against torch's `theirs` (T, B, …) per (step t, batch row b):
    the gap |ours − theirs| relative to 1 + the largest finite |theirs| of that row at steps
    t-1…t+1, and non-finite disagreements. A disagreeing (t, b) is put down to float's limit
    only when torch's values of that row reach the limit within t-1…t+1 and its relative gap
    there is at most LIMIT_REL.

    Why per step and row: a row's step reads only its own step before (t-1 forward, t+1
    backward), where an overflow or a cancellation of huge terms is what makes two summation
    orders part. Judged tensor-wide, one row's 3e38 at t = 63 scaled a wrong value at t = 2
    down to a relative 1e-40 ("matches torch"), and one overflow excused every disagreement
    in the tensor.

    `overflowable` (same shape, bool) marks values whose sum's terms can overflow float32 in
    some order (`overflowable_terms`): whatever the two sides hold there is put down to
    float's limit. A relu hides such an overflow: torch's order reached −Inf and relu gave 0
    where ours (and float64) gave 2.057e38, a finite gap of 100 %."""
    steps = theirs.shape[0]
    if theirs.dim() < 2 or steps < 1 or theirs.numel() == 0:
        return StepJudgement(0.0, False, False)
    rows = theirs.shape[1] if theirs.dim() >= 3 else 1
    a, b = ours.reshape(steps, rows, -1), theirs.reshape(steps, rows, -1)
    fin_a, fin_b = torch.isfinite(a), torch.isfinite(b)
    both = fin_a & fin_b
    zero = torch.zeros((), dtype=b.dtype)
    scale = torch.where(fin_b, b.abs(), zero).amax(2)  # (T, B): each row's largest finite |b|
    gap = torch.where(both, (a - b).abs(), zero)
    agree = both | (a == b) | (torch.isnan(a) & torch.isnan(b))
    excused_values = torch.zeros((), dtype=torch.bool)
    if overflowable is not None:
        free = overflowable.reshape(steps, rows, -1)
        excused_values = ((gap > 0) | ~agree) & free
        gap = torch.where(free, zero, gap)
        agree = agree | free
    diff = gap.amax(2)
    mismatch = (~agree).any(2)
    limit = (~fin_b).any(2) | (scale >= torch.finfo(b.dtype).max * LIMIT_FACTOR)
    near_scale, near_limit = scale.clone(), limit.clone()
    near_scale[1:] = torch.maximum(near_scale[1:], scale[:-1])
    near_scale[:-1] = torch.maximum(near_scale[:-1], scale[1:])
    near_limit[1:] |= limit[:-1]
    near_limit[:-1] |= limit[1:]
    # float64 for the ratio: 1 + scale overflows float32 at the limit's own values.
    rel = diff.double() / (1.0 + near_scale.double())
    disagree = (rel > tol) | mismatch
    excused = near_limit & (rel <= LIMIT_REL)
    at_overflow = bool(excused_values.any())
    return StepJudgement(
        float(rel.max()),
        bool(disagree.any()) or at_overflow,
        bool((~disagree | excused).all()) and (bool(disagree.any()) or at_overflow),
    )


def overflowable_terms(lane: Lane) -> torch.Tensor:
    """For an Elman lane, where a = W_ih x + b_ih + W_hh h_{t-1} + b_hh has terms whose
    magnitudes add up past float's largest value (summed in float64): there some summation
    order can overflow, and what the two sides hold is float's limit, not the recurrence.
    (T, B, H) bool."""
    w = lane.w
    x = lane.x.abs().double()
    hprev = previous_h(lane.hseq, lane.h0, lane.reverse).abs().double()
    with torch.no_grad():
        terms = x @ w.w_ih.abs().double().t() + hprev @ w.w_hh.abs().double().t()
        for bias in (w.b_ih, w.b_hh):
            if bias is not None:
                terms = terms + bias.abs().double()
    return ~(terms < torch.finfo(lane.hseq.dtype).max)  # NaN (Inf·0) counts as overflowable


def steps_at_limit(ours: torch.Tensor, theirs: torch.Tensor, tol: float) -> bool:
    """Whether every (step, row) where time-major `ours` and `theirs` disagree is put down to
    float's limit (`judge_steps`); True when none disagrees."""
    j = judge_steps(ours, theirs, tol)
    return j.at_limit or not j.disagrees


def reaches_limit(t: torch.Tensor) -> bool:
    """Whether `t` holds Inf/NaN or a finite |value| within LIMIT_FACTOR of its dtype's
    largest: where a different summation order decides whether a sum overflows."""
    if not t.dtype.is_floating_point or t.numel() == 0:
        return False
    finite = torch.isfinite(t)
    if not bool(finite.all()):
        return True
    return float(t.abs().max()) >= torch.finfo(t.dtype).max * LIMIT_FACTOR


class _Scratch:
    """Dense buffers by (role, shape, dtype), each made once and handed out again."""

    def __init__(self) -> None:
        self._held: dict[tuple[str, tuple[int, ...], torch.dtype], torch.Tensor] = {}

    def like(self, t: torch.Tensor, role: str) -> torch.Tensor | None:
        """A dense buffer of t's shape and dtype for `role`, or None off the CPU (the
        callers then allocate as before)."""
        if t.device.type != "cpu":
            return None
        key = (role, tuple(t.shape), t.dtype)
        buf = self._held.get(key)
        if buf is None:
            buf = self._held[key] = torch.empty(t.shape, dtype=t.dtype)
        return buf


@dataclass
class Lane:
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


def recompute(
    spec: Spec, lanes: list[Lane], diff: Diff, meter: Meter, c_steps: torch.Tensor | None = None
) -> dict[tuple[int, str, str], torch.Tensor]:
    """Every gate of every lane from the weights, compared with torch as it goes.

    Returns (layer, direction, gate) → tensor (T, B, size), views of a few buffers (each
    lane's gates share theirs; `count_nonfinite_all` sums each buffer once); h is torch's own
    (verified here).
    `c_steps` is torch's c_t for every t when it is known (a stepped LSTMCell).
    """
    out: dict[tuple[int, str, str], torch.Tensor] = {}
    per_lane: list[dict[str, torch.Tensor]] = []
    for lane in lanes:
        if spec.cell == "lstm":
            per_lane.append(
                lstm_gates(lane.x, lane.hseq, lane.h0, lane.w, spec.hidden_size, lane.reverse)
            )
        elif spec.cell == "gru":
            hprev = previous_h(lane.hseq, lane.h0, lane.reverse)
            per_lane.append(gru_gates(lane.x, hprev, lane.w))
        else:
            per_lane.append(
                rnn_gates(lane.x, lane.hseq, lane.h0, lane.w, spec.nonlinearity, lane.reverse)
            )
        meter.tick()
    if spec.cell == "lstm":
        cs = cell_scan(
            [
                (g["i"], g["f"], g["g"], lane.c0, lane.reverse)  # type: ignore[misc]
                for g, lane in zip(per_lane, lanes)
            ]
        )
        for g, lane, c in zip(per_lane, lanes, cs):
            g["c"] = c
            if lane.c_last is not None:
                diff.add(c[0 if lane.reverse else -1], lane.c_last)
            if c_steps is not None:
                diff.add(c, c_steps, steps=True)
    # The comparisons and copies below touch every recorded value; keep a cancel prompt.
    # The recomputed h is only compared (torch's own is shown), so it and |h − torch's h|
    # live in two scratch buffers reused lane after lane, made just before each comparison:
    # before, every lane's h was held until all were compared (the big bench LSTM: 8 × 4 MiB
    # more at the peak) and each comparison made a temporary of its own.
    scratch = _Scratch()
    for g, lane in zip(per_lane, lanes):
        meter.check()
        if spec.cell == "lstm":
            h = lstm_h(g["o"], g["c"], lane.w, out=scratch.like(g["c"], "h"))
        else:
            h = g["h"]
        terms = (lambda lane=lane: overflowable_terms(lane)) if spec.cell == "rnn" else None
        diff.add(h, lane.hseq, out=scratch.like(h, "d"), steps=True, overflowable=terms)
        g["h"] = lane.hseq  # show torch's own h, verified above
        for name, arr in g.items():
            out[(lane.layer, lane.direction, name)] = arr
    return out
