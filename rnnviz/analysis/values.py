"""Tensors printed exactly as torch prints them, without torch: `str(torch.tensor(a))` for a
float32 numpy array under torch's default print options (precision 4, threshold 1000,
edgeitems 3, linewidth 80), with where each element landed in the text so a view can
highlight a timestep or a slice.

The rules are torch's `_tensor_str` (torch 2.x): one formatter for the whole tensor picks
fixed (`0.1234`), integer (`1.`) or scientific (`1.2340e+05`) notation from the finite,
non-zero values, and pads every element to the widest; rows wrap at the line width; a
tensor of more than `threshold` elements shows `edgeitems` at each end of every dimension
with `...` between. `tests/test_values_format.py` compares with `str(torch.tensor)`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

Index = tuple[int, ...]


@dataclass(frozen=True)
class PrintOptions:
    """torch.set_printoptions' fields that shape the text (torch's defaults)."""

    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80


@dataclass(frozen=True)
class Printed:
    """The text torch prints and, for each element shown, its (start, end) in the text."""

    text: str
    spans: dict[Index, tuple[int, int]] = field(default_factory=dict)


class _Formatter:
    """torch's _Formatter for a floating tensor: notation and width from its values."""

    def __init__(self, values: np.ndarray, opts: PrintOptions) -> None:
        self.p = opts.precision
        self.int_mode, self.sci_mode, self.width = True, False, 1
        flat = values.reshape(-1)
        with np.errstate(invalid="ignore"):
            nz = flat[np.isfinite(flat) & (flat != 0)]
        if nz.size == 0:
            return
        absd = np.abs(nz).astype(np.float64)  # torch compares in double
        lo, hi = float(absd.min()), float(absd.max())
        self.int_mode = bool(np.all(nz == np.ceil(nz)))
        self.sci_mode = hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4
        py = [float(v) for v in nz]
        if self.sci_mode:
            self.width = max(len(f"{v:.{self.p}e}") for v in py)
        elif self.int_mode:
            self.width = max(len(f"{v:.0f}") + 1 for v in py)
        else:
            self.width = max(len(f"{v:.{self.p}f}") for v in py)

    def format(self, value: float) -> str:
        if self.sci_mode:
            ret = f"{value:{self.width}.{self.p}e}"
        elif self.int_mode:
            ret = f"{value:.0f}"
            if not (math.isinf(value) or math.isnan(value)):
                ret += "."
        else:
            ret = f"{value:.{self.p}f}"
        return " " * (self.width - len(ret)) + ret


def _summarized(a: np.ndarray, e: int) -> np.ndarray:
    """torch's get_summarized_data: the edge items of every dimension (for the formatter)."""
    if a.ndim == 0:
        return a
    if a.ndim == 1:
        return np.concatenate((a[:e], a[-e:])) if a.shape[0] > 2 * e else a
    if e == 0:
        return np.empty([0] * a.ndim, a.dtype)
    rows = (
        list(range(e)) + list(range(a.shape[0] - e, a.shape[0]))
        if a.shape[0] > 2 * e
        else range(a.shape[0])
    )
    return np.stack([_summarized(a[i], e) for i in rows])


class _Writer:
    """Builds the text piece by piece, recording each element's span."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.at = 0
        self.spans: dict[Index, tuple[int, int]] = {}

    def put(self, s: str, index: Index | None = None) -> None:
        if index is not None:
            self.spans[index] = (self.at, self.at + len(s))
        self.parts.append(s)
        self.at += len(s)


def _vector(
    w: _Writer,
    a: np.ndarray,
    where: Index,
    indent: int,
    summarize: bool,
    f: _Formatter,
    o: PrintOptions,
) -> None:
    per_line = max(1, math.floor((o.linewidth - indent) / (f.width + 2)))
    n = a.shape[0]
    items: list[tuple[str, Index | None]]
    if summarize and not o.edgeitems:
        items = [("...", None)]
    elif summarize and n > 2 * o.edgeitems:
        e = o.edgeitems
        items = [(f.format(float(a[i])), (*where, i)) for i in range(e)]
        items.append((" ...", None))
        items += [(f.format(float(a[i])), (*where, i)) for i in range(n - e, n)]
    else:
        items = [(f.format(float(a[i])), (*where, i)) for i in range(n)]
    w.put("[")
    for k, (text, index) in enumerate(items):
        if k:
            w.put("," + "\n" + " " * (indent + 1) if k % per_line == 0 else ", ")
        w.put(text, index)
    w.put("]")


def _nested(
    w: _Writer,
    a: np.ndarray,
    where: Index,
    indent: int,
    summarize: bool,
    f: _Formatter,
    o: PrintOptions,
) -> None:
    if a.ndim == 1:
        _vector(w, a, where, indent, summarize, f, o)
        return
    n, e = a.shape[0], o.edgeitems
    rows: list[int | None]
    rows = [*range(e), None, *range(n - e, n)] if summarize and n > 2 * e else list(range(n))
    sep = "," + "\n" * (a.ndim - 1) + " " * (indent + 1)
    w.put("[")
    for k, i in enumerate(rows):
        if k:
            w.put(sep)
        if i is None:
            w.put("...")
        else:
            _nested(w, a[i], (*where, i), indent + 1, summarize, f, o)
    w.put("]")


def torch_print(
    a: np.ndarray, opts: PrintOptions | None = None, prefix: str = "tensor("
) -> Printed:
    """`str(torch.from_numpy(a))` for a float32 array `a` of any shape, and each shown
    element's span in that text (elements elided by `...` have none)."""
    o = opts or PrintOptions()
    a = np.asarray(a, dtype=np.float32)
    w = _Writer()
    w.put(prefix)
    indent = len(prefix)
    if a.size == 0:
        w.put("[]")
        if a.ndim != 1:
            w.put(f", size={tuple(a.shape)}")
        w.put(")")
        return Printed("".join(w.parts), w.spans)
    summarize = a.size > o.threshold
    f = _Formatter(_summarized(a, o.edgeitems) if summarize else a, o)
    if a.ndim == 0:
        w.put(f.format(float(a)), ())
    else:
        _nested(w, a, (), indent, summarize, f, o)
    w.put(")")
    return Printed("".join(w.parts), w.spans)


def torch_str(a: np.ndarray, opts: PrintOptions | None = None) -> str:
    """The text alone of `torch_print`: what `print(torch.from_numpy(a))` shows."""
    return torch_print(a, opts).text
