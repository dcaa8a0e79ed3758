"""The pyqtgraph axes the views share: whole-number index axes (timesteps, units) and a log
axis whose labels never overprint."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QFont, QFontMetricsF


class IndexAxis(pg.AxisItem):
    """An axis of timesteps or units: whole-number ticks only, no SI-prefix rescaling
    (a one-step sequence would otherwise be labelled "t (x0.001)" from −400 to 400)."""

    def __init__(self, orientation: str = "bottom") -> None:
        super().__init__(orientation)
        #: Steps per batch row when every row is drawn side by side (column = b·T + t).
        self.period: int | None = None
        self.enableAutoSIPrefix(False)
        if orientation in ("bottom", "top"):
            # Index 0 sits half a step from the axis's end, so its label pokes out by a few
            # pixels and pyqtgraph's default dropped it: t counted from 10 on a 100-step run.
            self.setStyle(hideOverlappingLabels=8)

    def tickStrings(self, values: list, scale: float, spacing: float) -> list:  # noqa: N802
        if not self.period:
            return super().tickStrings(values, scale, spacing)
        # Rows side by side: one step per row is labelled by row, else by step within it.
        if self.period == 1:
            return [f"b{int(v)}" for v in values]
        return [f"{int(v) % self.period}" for v in values]

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list:  # noqa: N802,N803
        out = []
        for spacing, values in super().tickValues(minVal, maxVal, size):
            if spacing >= 1:
                out.append((spacing, [v for v in values if float(v).is_integer()]))
        if not out:  # zoomed in past one index per tick: label every index
            # An inverted view (units top-down) asks with the range reversed, as pyqtgraph's
            # own tickValues allows: unsorted, two units got no label at all.
            low, high = sorted((minVal, maxVal))
            lo, hi = int(np.ceil(low)), int(np.floor(high))
            out = [(1.0, [float(v) for v in range(lo, hi + 1)])]
        return out


class LogAxis(pg.AxisItem):
    """A vertical log axis whose labels never overprint one another.

    pyqtgraph labels every minor tick (2…9 × 10^k) of a short log range, and near the top of
    each decade they fall a few pixels apart: "0.6 0.7 0.8 0.9 1" printed over each other at
    1280×720. Here a label closer than a line of text to one already placed (decades
    first, then upwards) is left out; its tick and grid line stay.

    And a range too short to hold two of those ticks (2.0 … 2.26: only "2") gets evenly
    spaced values instead, labelled with the digits that tell them apart (2.05, 2.1, 2.15 …):
    a plot with one label on its y axis cannot be read."""

    def __init__(self, orientation: str = "left") -> None:
        super().__init__(orientation)
        self.enableAutoSIPrefix(False)
        self._per_unit = 0.0  # pixels per log10 unit of the range being drawn
        self._placed: list[float] = []  # pixel positions already labelled in this drawing
        self._fine_step = 0.0  # the step of evenly spaced ticks on a short range, else 0

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list:  # noqa: N802,N803
        # Called once per drawing, before tickStrings is called level by level (decades
        # first): the start of a drawing.
        self._per_unit = size / (maxVal - minVal) if maxVal > minVal else 0.0
        self._placed = []
        self._fine_step = 0.0
        return super().tickValues(minVal, maxVal, size)

    def logTickValues(self, minVal, maxVal, size, stdTicks):  # type: ignore[no-untyped-def]  # noqa: N802,N803
        ticks = super().logTickValues(minVal, maxVal, size, stdTicks)
        inside = sum(minVal <= v <= maxVal for _, values in ticks for v in values)
        if inside >= 2 or not maxVal > minVal:
            return ticks
        lo, hi = 10.0**minVal, 10.0**maxVal
        if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo > 0):
            return ticks
        raw = (hi - lo) / 4  # about four labels over the axis
        mag = 10.0 ** math.floor(math.log10(raw))
        step = next(m * mag for m in (1.0, 2.0, 5.0, 10.0) if m * mag >= raw)
        first = math.ceil(lo / step)
        values = [k * step for k in range(first, int(math.floor(hi / step)) + 1)]
        values = [v for v in values if lo <= v <= hi]
        if len(values) < 2:
            return ticks
        self._fine_step = step
        return [(None, [math.log10(v) for v in values])]

    def logTickStrings(self, values, scale, spacing):  # type: ignore[no-untyped-def]  # noqa: N802
        if not self._fine_step:
            return super().logTickStrings(values, scale, spacing)
        out = []
        for v in values:
            x = 10.0 ** float(v) * scale
            # As many significant digits as the step needs: 2.15 beside 2.1, 2.1e-20 too.
            digits = max(
                1, math.floor(math.log10(abs(x))) - math.floor(math.log10(self._fine_step)) + 1
            )
            out.append(f"{x:.{digits}g}")
        return out

    def tickStrings(self, values: list, scale: float, spacing: float) -> list:  # noqa: N802
        strings = super().tickStrings(values, scale, spacing)
        if not self.logMode or self.orientation not in ("left", "right") or not self._per_unit:
            return strings
        font = self.style.get("tickFont") or QFont()
        gap = QFontMetricsF(font).height()
        out = [""] * len(strings)
        # Decades (10^k: whole log10 values) are placed first, then the rest upwards: a
        # short range comes as one level mixing both, and 0.09 must not push 0.1 out.
        order = sorted(range(len(values)), key=lambda i: (not float(values[i]).is_integer(), i))
        for i in order:
            px = float(values[i]) * self._per_unit
            if strings[i] and all(abs(px - q) >= gap for q in self._placed):
                self._placed.append(px)
                out[i] = strings[i]
        return out
