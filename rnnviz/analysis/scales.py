"""Colour scales and non-finite masks for the gate heatmaps (numpy only, no widgets).

Scales are honest about what each gate can be: sigmoid gates live in [0, 1] and tanh-bounded
values in [−1, 1], so those scales are fixed and comparable across layers, timesteps and
configurations; the LSTM cell state, the RNN pre-activation and a relu h are unbounded, so
each gets its own symmetric scale from its largest finite |value| on screen.
"""

from __future__ import annotations

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


#: What an unbounded quantity with its own scale is, for its bar's caption.
_OWN = {"c": "memory tape", "a": "pre-activation", "h": "relu, unbounded"}


@dataclass(frozen=True)
class ScaleGroup:
    """Gates drawn on one colour scale, with that scale's range and a caption for its bar.

    `name` is the kind of scale: "σ range" and "tanh range" (fixed by the function, shared
    by every gate it bounds) or "own scale" (one unbounded quantity, from its data)."""

    name: str
    gates: tuple[str, ...]
    levels: tuple[float, float]
    fixed: bool  # True: the range is the function's (σ, tanh); False: from the data

    def _span(self) -> str:
        lo, hi = self.levels
        return f"{lo:.3g} … {hi:.3g}" if self.fixed or lo != -hi else f"±{hi:.3g}"

    def _kind(self) -> str:
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
        'f: σ range 0 … 1', 'h: tanh range −1 … 1', 'a (pre-activation): own scale ±3.2'."""
        if gate not in self.gates:
            raise ValueError(f"{gate!r} is not drawn on the scale of {' '.join(self.gates)}")
        if self.name == "own scale":
            return f"{gate} ({_OWN.get(gate, gate)}): own scale {self._span()}"
        return f"{gate}: {self._kind()} {self._span()}"

    @property
    def short(self) -> str:
        """The range alone, for a plot title: '0…1', '±1', '±3.2', '0.41…0.58'."""
        lo, hi = self.levels
        return f"±{hi:.3g}" if lo == -hi else f"{lo:.3g}…{hi:.3g}"


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
    spec: Spec, data: dict[str, np.ndarray], stretch: bool = False
) -> list[ScaleGroup]:
    """How the gates of `spec` share colour scales, given the arrays on screen.

    σ gates share [0, 1]; tanh-bounded gates (LSTM g and h, GRU n and h, a tanh RNN's h)
    share [−1, 1]; each unbounded quantity (LSTM c, RNN a, a relu RNN's h) has its own
    symmetric range from its largest finite |value|. With `stretch`, the σ and tanh groups
    also take their range from the data (σ: min…max, tanh: ±max|value|), which shows small
    differences — a random-weight LSTM's gates all sit near 0.5 — at the cost of scales that
    change from one layer or configuration to the next.
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
        groups.append(ScaleGroup("σ range", sig, levels, not stretch))
    if bounded:
        m = (
            max((finite_absmax(data[g]) for g in bounded if g in data), default=0.0)
            if stretch
            else 1.0
        )
        m = m if m > 0 else 1.0
        groups.append(ScaleGroup("tanh range", bounded, (-m, m), not stretch))
    for g in gates:
        if g in sig or g in bounded:
            continue
        m = finite_absmax(data[g]) if g in data else 0.0
        m = m if m > 0 else 1.0  # all zeros (or nothing finite): any range shows them
        groups.append(ScaleGroup("own scale", (g,), (-m, m), False))
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
