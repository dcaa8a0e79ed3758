"""Colour scales and non-finite masks for the gate heatmaps (numpy only, no widgets).

Scales are honest about what each gate can be: sigmoid gates live in [0, 1] and tanh-bounded
values in [−1, 1], so those scales are fixed and comparable across layers, timesteps and
configurations; the LSTM cell state, the RNN pre-activation and a relu h are unbounded, so
each gets its own symmetric scale from its largest finite |value| on screen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rnnviz.config.spec import Spec

#: Diverging blue–white–red (ColorBrewer RdBu, reversed): low blue, middle white, high red.
DIVERGING: tuple[tuple[float, tuple[int, int, int]], ...] = (
    (0.0, (5, 48, 97)),
    (0.2, (67, 147, 195)),
    (0.4, (209, 229, 240)),
    (0.5, (247, 247, 247)),
    (0.6, (253, 219, 199)),
    (0.8, (214, 96, 77)),
    (1.0, (103, 0, 31)),
)

#: Colours of values the colour map cannot show; none of them occurs in DIVERGING.
NONFINITE_COLOURS: dict[str, tuple[int, int, int]] = {
    "NaN": (255, 0, 255),
    "+Inf": (0, 0, 0),
    "−Inf": (0, 170, 0),
}

_SIGMOID = {"i", "f", "o", "r", "z"}

#: The gate view's colour-scale modes, by the names the CLI and exports use, with what each
#: is called in a figure's caption.
SCALE_MODES: dict[str, str] = {
    "fixed": "fixed colour scale",
    "stretched": "stretched colour scale",
    "signed-log": "signed-log colour scale",
}
#: The mode a view or export uses when nothing else says which.
DEFAULT_SCALE_MODE = "fixed"


def check_scale_mode(mode: str) -> str:
    """`mode` itself if it is one of SCALE_MODES; ValueError naming the modes otherwise."""
    if mode not in SCALE_MODES:
        raise ValueError(f"scale mode must be one of {', '.join(SCALE_MODES)}, got {mode!r}")
    return mode


def signed_log(a: np.ndarray) -> np.ndarray:
    """sign(a)·log10(1 + |a|) as float32 (same shape as `a`): keeps 0 at 0 and the sign,
    compresses float32's 3.4e38 to 38.5, so an exploding run stays on a finite scale."""
    return (np.sign(a) * np.log10(1.0 + np.abs(a.astype(np.float64)))).astype(np.float32)


def signed_log_inverse(y: float) -> float:
    """The value v whose sign(v)·log10(1 + |v|) is `y` (inverse of `signed_log`, float64)."""
    return float(np.sign(y) * (10.0 ** abs(y) - 1.0))


def _signed_log1(v: float) -> float:
    return math.copysign(math.log10(1.0 + abs(v)), v) if v else 0.0


#: What an unbounded quantity with its own scale is, for its bar's caption.
_OWN = {"c": "memory tape", "a": "pre-activation", "h": "relu, unbounded"}


@dataclass(frozen=True)
class ScaleGroup:
    """Gates drawn on one colour scale, with that scale's range and a caption for its bar.

    `name` is the kind of scale: "σ range" and "tanh range" (fixed by the function, shared
    by every gate it bounds) or "own scale" (one unbounded quantity, from its data).
    `values` is the range in the recorded values' own units, the only numbers a caption or
    title shows; with `log` the colours map sign(v)·log10(1 + |v|) instead of v, so the
    colour map's `levels` are that transform of `values`."""

    name: str
    gates: tuple[str, ...]
    values: tuple[float, float]
    fixed: bool  # True: the range is the function's (σ, tanh); False: from the data
    log: bool = False  # colours by the signed log of the values

    @property
    def levels(self) -> tuple[float, float]:
        """The colour map's (low, high), in the units the image is drawn in: `values`
        themselves, or their signed log with `log`."""
        if not self.log:
            return self.values
        lo, hi = signed_log(np.array(self.values, dtype=np.float64))
        return (float(lo), float(hi))

    def _span(self) -> str:
        lo, hi = self.values
        return f"{lo:.3g} … {hi:.3g}" if self.fixed or lo != -hi else f"±{hi:.3g}"

    def _kind(self) -> str:
        if self.log:
            return "signed-log scale" + ("" if self.name == "own scale" else ", data")
        if self.fixed or self.name == "own scale":
            return self.name
        return f"{self.name} stretched to the data"

    @property
    def caption(self) -> str:
        """The whole group, e.g. 'σ range, shared by i f o: 0 … 1' or
        'c (memory tape), own scale: ±3.2'."""
        if len(self.gates) == 1 and self.name == "own scale":
            return self.caption_for(self.gates[0])
        return f"{self._kind()}, shared by {' '.join(self.gates)}: {self._span()}"

    def caption_for(self, gate: str) -> str:
        """The caption of the bar under `gate`'s own heatmap, naming that gate alone:
        'f: σ range 0 … 1', 'h: tanh range −1 … 1', 'a (pre-activation): own scale ±3.2';
        on a log scale 'i: signed-log scale, data 0.203 … 0.786' or 'c (memory tape):
        signed-log scale ±1.19' (the recorded values' range, never their logs)."""
        if gate not in self.gates:
            raise ValueError(f"{gate!r} is not drawn on the scale of {' '.join(self.gates)}")
        if self.name == "own scale":
            return f"{gate} ({_OWN.get(gate, gate)}): {self._kind()} {self._span()}"
        return f"{gate}: {self._kind()} {self._span()}"

    @property
    def short(self) -> str:
        """The range of the values alone, for a plot title: '0…1', '±1', '±3.2',
        '0.41…0.58' (in the values' own units on a log scale too)."""
        lo, hi = self.values
        return f"±{hi:.3g}" if lo == -hi else f"{lo:.3g}…{hi:.3g}"


def tick_text(v: float) -> str:
    """A tick label for the value `v` (one of `signed_log_ticks`' values): '0', '0.5', '20',
    '-3000', and from 1e5 (or below 1e-3) '1e38', '-2.5e10', '5e-5'."""
    if v == 0:
        return "0"
    if 1e-3 <= abs(v) < 1e5:
        return f"{v:.12g}"
    mantissa, exp = f"{v:.12e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exp)}"


def _tick_rank(v: float, digits: int) -> tuple[int, ...]:
    """How readily `v` (with `digits` significant digits) is picked as a tick; lower first:
    0, then powers of ten (10^(10k), 10^(5k), the others), then 5·10^k, 2·10^k, the rest."""
    if v == 0:
        return (0,)
    k = math.floor(math.log10(abs(v)) + 1e-9)
    m = round(abs(v) / 10.0 ** (k - digits + 1))  # the mantissa, `digits` digits
    while m % 10 == 0 and m >= 10:
        m //= 10
    if m == 1:
        cls = 1 if k % 10 == 0 else 2 if k % 5 == 0 else 3
    else:
        cls = {5: 4, 2: 5}.get(m, 6 if m < 10 else 7 + len(str(m)))
    return (cls, -abs(k), m, int(v < 0))


def _candidates(rlo: float, rhi: float, digits: int) -> list[float]:
    """The values in [rlo, rhi] with `digits` significant digits (and 0 if in it), from
    the decade of the largest |value| down 60 decades (6 with more than one digit)."""
    out = [0.0] if rlo <= 0 <= rhi else []
    for sign, mlo, mhi in ((1.0, max(rlo, 0.0), rhi), (-1.0, max(-rhi, 0.0), -rlo)):
        if mhi <= 0 or mhi < mlo:
            continue
        top = int(np.floor(np.log10(mhi)))
        bottom = int(np.floor(np.log10(mlo))) if mlo > 0 else top - 60
        # More digits only matter in the top decades (a short range's ticks).
        for k in range(max(bottom, top - (60 if digits == 1 else 6)), top + 1):
            step = 10.0 ** (k - digits + 1)
            first = max(int(np.ceil(mlo / step - 1e-9)), 10 ** (digits - 1))
            last = min(int(np.floor(mhi / step + 1e-9)), 10**digits - 1)
            out.extend(sign * m * step for m in range(first, last + 1))
    return out


def signed_log_ticks(lo: float, hi: float, min_gap: float) -> list[tuple[float, float]]:
    """Ticks for a colour bar drawn in signed-log units from `lo` to `hi`: (position, value)
    pairs, the position being sign(v)·log10(1 + |v|) of the value v it is labelled with, at
    least `min_gap` (in those units) apart. Round values first: 0, powers of ten (1e10,
    1e20, … on a range up to 1e38; 0.1, 1 on a small one), then 5·10^k, 2·10^k, and more
    digits only when fewer than two ticks fit otherwise. Sorted by position."""
    if not hi > lo:
        return [(lo, signed_log_inverse(lo))]
    rlo, rhi = signed_log_inverse(lo), signed_log_inverse(hi)
    eps = (hi - lo) * 1e-9
    chosen: list[tuple[float, float]] = []
    for digits in (1, 2, 3, 4):
        pool = sorted(
            ((_signed_log1(v), v) for v in _candidates(rlo, rhi, digits)),
            key=lambda pv: _tick_rank(pv[1], digits),
        )
        picked: list[tuple[float, float]] = []
        for pos, v in pool:
            if lo - eps <= pos <= hi + eps and all(abs(pos - q) >= min_gap for q, _ in picked):
                picked.append((pos, v))
        chosen = picked if len(picked) > len(chosen) else chosen
        if len(chosen) >= 2 or hi - lo < min_gap:  # enough, or no room for two anyway
            break
    if not chosen:  # a range narrower than 4 digits: its ends (its middle if only one fits)
        ends = (rlo, rhi) if hi - lo >= min_gap else (signed_log_inverse((lo + hi) / 2),)
        chosen = [(_signed_log1(v), v) for v in (float(f"{e:.6g}") for e in ends)]
    return sorted(chosen)


def finite_absmax(a: np.ndarray) -> float:
    """The largest |value| among the finite values of `a` (0.0 if there are none)."""
    if a.size == 0:
        return 0.0
    with np.errstate(invalid="ignore", over="ignore"):
        m = float(np.max(np.abs(a)))
    if np.isfinite(m):
        return m
    finite = a[np.isfinite(a)]
    return float(np.max(np.abs(finite))) if finite.size else 0.0


def finite_range(arrays: list[np.ndarray]) -> tuple[float, float] | None:
    """(min, max) over the finite values of `arrays`, or None if there are none."""
    lo, hi = np.inf, -np.inf
    for a in arrays:
        with np.errstate(invalid="ignore", over="ignore"):
            amin, amax = (
                float(np.min(a)) if a.size else np.inf,
                float(np.max(a)) if a.size else -np.inf,
            )
        if not (np.isfinite(amin) and np.isfinite(amax)):
            finite = a[np.isfinite(a)]
            if not finite.size:
                continue
            amin, amax = float(finite.min()), float(finite.max())
        lo, hi = min(lo, amin), max(hi, amax)
    return (lo, hi) if lo <= hi else None


def scale_groups(
    spec: Spec, data: dict[str, np.ndarray], stretch: bool = False, log: bool = False
) -> list[ScaleGroup]:
    """How the gates of `spec` share colour scales, given the arrays on screen.

    σ gates share [0, 1]; tanh-bounded gates (LSTM g and h, GRU n and h, a tanh RNN's h)
    share [−1, 1]; each unbounded quantity (LSTM c, RNN a, a relu RNN's h) has its own
    symmetric range from its largest finite |value|. With `stretch`, the σ and tanh groups
    also take their range from the data (σ: min…max, tanh: ±max|value|), which shows small
    differences — a random-weight LSTM's gates all sit near 0.5 — at the cost of scales that
    change from one layer or configuration to the next.

    `data` are the recorded values themselves and every range is theirs; with `log` the
    groups colour by their signed log (`ScaleGroup.levels`), while captions and titles
    still give the values' own range.
    """
    gates = spec.trace_gates
    sig = tuple(g for g in gates if g in _SIGMOID)
    bounded = tuple(
        g
        for g in gates
        if g in {"g", "n"} or g == "h" and not (spec.cell == "rnn" and spec.nonlinearity == "relu")
    )
    groups = []
    if sig:
        levels = (0.0, 1.0)
        got = finite_range([data[g] for g in sig if g in data]) if stretch else None
        if got is not None:
            levels = got if got[0] < got[1] else (got[0] - 0.5, got[0] + 0.5)
        groups.append(ScaleGroup("σ range", sig, levels, not stretch, log))
    if bounded:
        m = (
            max((finite_absmax(data[g]) for g in bounded if g in data), default=0.0)
            if stretch
            else 1.0
        )
        m = m if m > 0 else 1.0
        groups.append(ScaleGroup("tanh range", bounded, (-m, m), not stretch, log))
    for g in gates:
        if g in sig or g in bounded:
            continue
        m = finite_absmax(data[g]) if g in data else 0.0
        m = m if m > 0 else 1.0  # all zeros (or nothing finite): any range shows them
        groups.append(ScaleGroup("own scale", (g,), (-m, m), False, log))
    return groups


def nonfinite_counts(a: np.ndarray) -> dict[str, int]:
    """How many NaN, +Inf and −Inf values `a` has (only the kinds present)."""
    with np.errstate(invalid="ignore", over="ignore"):
        if a.size == 0 or np.isfinite(a.sum()):
            return {}
    counts = {
        "NaN": int(np.isnan(a).sum()),
        "+Inf": int(np.isposinf(a).sum()),
        "−Inf": int(np.isneginf(a).sum()),
    }
    return {k: v for k, v in counts.items() if v}


def nonfinite_overlay(a: np.ndarray) -> np.ndarray | None:
    """An RGBA uint8 image (a.shape + (4,)) that paints NaN/±Inf in NONFINITE_COLOURS and
    is transparent elsewhere; None when every value is finite."""
    if not nonfinite_counts(a):
        return None
    rgba = np.zeros((*a.shape, 4), dtype=np.uint8)
    for key, mask in (("NaN", np.isnan(a)), ("+Inf", np.isposinf(a)), ("−Inf", np.isneginf(a))):
        rgba[mask, :3] = NONFINITE_COLOURS[key]
        rgba[mask, 3] = 255
    return rgba


def finite_or_zero(a: np.ndarray) -> np.ndarray:
    """`a` itself when all finite, else a copy with NaN/±Inf set to 0 (drawn by the overlay)."""
    if not nonfinite_counts(a):
        return a
    return np.where(np.isfinite(a), a, 0.0).astype(a.dtype, copy=False)
