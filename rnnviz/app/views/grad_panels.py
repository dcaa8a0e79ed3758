"""The plots of the Gradients view, each a widget fed plain arrays (no Document, no torch).

`NormPlot` (‖∂L/∂h_t‖ per lane on a log axis, with a cursor), `GradHeatmap` (∂L/∂h_t as
unit × time on a signed-log scale), `ChainPlot` (step factors, their running product and
the bound) and `SaturationPlot` (Karpathy et al.'s left/right saturation scatter). The view
(`rnnviz.app.views.gradients_view`) decides what they show; they only draw it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtWidgets import QSizePolicy

from rnnviz.analysis.scales import DIVERGING, nonfinite_counts, nonfinite_overlay
from rnnviz.app.views.axes import IndexAxis, LogAxis
from rnnviz.app.widgets import nonfinite_legend

_CURSOR_PEN = pg.mkPen((20, 20, 20), width=1.5)
_UNIT_PEN = pg.mkPen((20, 20, 20), width=1, style=Qt.PenStyle.DashLine)
#: Lane colours (Okabe–Ito, distinguishable by colour-blind readers).
PALETTE = (
    (0, 114, 178),
    (213, 94, 0),
    (0, 158, 115),
    (204, 121, 167),
    (230, 159, 0),
    (86, 180, 233),
    (0, 0, 0),
    (240, 228, 66),
)
DIRECTION_NAMES = {"fwd": "forward", "bwd": "backward"}
#: What the Saturation page says instead of a plot when the lane has no σ gates (and what
#: its Export… says, since there is no plot to write).
NO_GATES = "An Elman RNN has no σ gates to saturate (LSTM: i f o; GRU: r z)."


def signed_decades(a: np.ndarray) -> tuple[np.ndarray, float]:
    """(sign(a)·log10(|a| / floor), floor) with floor the smallest nonzero finite |a|: every
    nonzero value, from 1e-30 to 1e+3, gets its own colour (a log10(1 + |a|) scale would
    paint all gradients below 0.01 white). Zeros and non-finite values map to 0."""
    b = np.nan_to_num(a.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    mag = np.abs(b)
    nonzero = mag[mag > 0]
    if not nonzero.size:
        return np.zeros_like(b), 0.0
    floor = float(nonzero.min())
    out = np.zeros_like(b)
    np.log10(mag / floor, out=out, where=mag > 0)
    return np.sign(b) * out, floor


def loggable(y: np.ndarray) -> np.ndarray:
    """`y` with the values a log axis cannot show (0, negative, Inf, NaN) as NaN: gaps."""
    y = np.asarray(y, dtype=np.float64)
    return np.where(np.isfinite(y) & (y > 0), y, np.nan)


def _undrawable(y: np.ndarray) -> str:
    """What `y` holds instead of a value a log axis can place: "every value is 0",
    "every value is 0 or NaN", …"""
    if not len(y):
        return "there are no values"
    kinds = []
    if (y == 0).any():
        kinds.append("0")
    if (np.isfinite(y) & (y < 0)).any():
        kinds.append("negative")
    if np.isnan(y).any():
        kinds.append("NaN")
    if np.isinf(y).any():
        kinds.append("±Inf")
    return "every value is " + " or ".join(kinds)


def legend_name(name: str, y: np.ndarray) -> str:
    """`name` for a log-axis curve's legend entry, saying "(no curve: every value is 0 …)"
    when `y` holds nothing a log axis can place, instead of standing beside no curve
    (rnncell-4-2's relu RNN, whose gradient is 0 at every step; the chain's "what reached s"
    from a step ∂L/∂h_t = 0 at, a 0/0 at every s)."""
    y = np.asarray(y, dtype=np.float64)
    if np.isfinite(loggable(y)).any():
        return name
    return f"{name} (no curve: {_undrawable(y)})"


class _LegendRow(pg.LegendItem):
    """A legend laid out by its plot's grid (below the plot), not floating over the data."""

    def updateSize(self) -> None:  # noqa: N802 - pyqtgraph's name
        # The base class sets its own geometry (it floats); in a layout, say the size changed
        # and let the layout place it.
        self.updateGeometry()


def legend_below(item: pg.PlotItem, columns: int = 4) -> pg.LegendItem:
    """A legend under `item`'s x axis, `columns` entries a row, that curves added with a name
    join (as with `addLegend`). Floating in the plot's corner, it covered the curves that
    end there: the norms of the last steps, where the loss is."""
    legend = _LegendRow(colCount=columns, labelTextColor="k", labelTextSize="8pt")
    # As wide as its entries, centred under the plot (not stretched over the whole width).
    legend.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
    item.layout.addItem(legend, 4, 1)
    item.layout.setAlignment(legend, Qt.AlignmentFlag.AlignHCenter)
    item.legend = legend
    return legend


class NormPlot(pg.PlotWidget):
    """Curves of per-timestep norms on a log y axis, with a vertical cursor at t.

    `curves[name]` holds each PlotDataItem; `data[name]` the raw (T,) values it was given
    (zeros and non-finite values are drawn as gaps, since a log axis cannot place them).
    """

    def __init__(self, title: str = "", ylabel: str = "‖∂L/∂h_t‖₂ (log)") -> None:
        super().__init__(background="w", axisItems={"bottom": IndexAxis(), "left": LogAxis()})
        item = self.getPlotItem()
        item.setMenuEnabled(False)
        item.hideButtons()
        item.showGrid(x=True, y=True, alpha=0.15)
        for name in ("left", "bottom"):
            ax = item.getAxis(name)
            ax.setTextPen("k")
            ax.setPen((90, 90, 90))
            ax.enableAutoSIPrefix(False)
        item.setLogMode(False, True)
        item.setLabel("bottom", "t (input position)", color="k")
        item.setLabel("left", ylabel, color="k")
        if title:
            item.setTitle(title, color="k", size="9pt")
        self.legend = legend_below(item)
        self.cursor = pg.InfiniteLine(angle=90, movable=False, pen=_CURSOR_PEN)
        item.addItem(self.cursor, ignoreBounds=True)
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.data: dict[str, np.ndarray] = {}

    def clear_curves(self) -> None:
        """Remove every curve (the cursor stays)."""
        for c in self.curves.values():
            self.getPlotItem().removeItem(c)
        self.legend.clear()
        self.curves.clear()
        self.data.clear()

    def add_curve(
        self, name: str, y: np.ndarray, colour: tuple[int, int, int], dashed: bool = False
    ) -> pg.PlotDataItem:
        """A curve of `y` over t = 0 … len(y) − 1, labelled `name` in the legend."""
        style = Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine
        pen = pg.mkPen(colour, width=2 if not dashed else 1.6, style=style)
        x = np.arange(len(y), dtype=np.float64)
        shown = loggable(y)
        # Long curves are drawn without markers, but a drawable step between gaps (0, NaN,
        # ±Inf) has no segment and would vanish: it keeps its marker (relu-explode's only
        # nonzero norm is one step of the top layer).
        ok = np.isfinite(shown)
        isolated = ok & ~np.r_[False, ok[:-1]] & ~np.r_[ok[1:], False]
        symbol = "o" if len(y) <= 40 or isolated.any() else None
        size = 4 if len(y) <= 40 else np.where(isolated, 6, 0).tolist()
        curve = pg.PlotDataItem(
            x,
            shown,
            pen=pen,
            name=legend_name(name, y),
            connect="finite",
            symbol=symbol,
            symbolSize=size,
            symbolBrush=colour,
            symbolPen=None,
        )
        self.getPlotItem().addItem(curve)
        self.curves[name] = curve
        self.data[name] = np.asarray(y, dtype=np.float64)
        return curve

    def drawable(self) -> bool:
        """Whether any curve has a value a log axis can place (finite and > 0)."""
        return any(np.isfinite(loggable(y)).any() for y in self.data.values())

    def set_cursor(self, t: int) -> None:
        """Move the cursor to t."""
        self.cursor.setValue(t)

    def cursor_t(self) -> int:
        """Where the cursor is."""
        return int(round(self.cursor.value()))


class GradHeatmap(pg.GraphicsLayoutWidget):
    """∂L/∂h_t of one lane and batch row as unit × time on a signed log scale: colour by
    sign(v)·log₁₀(|v| / smallest nonzero |v|), so the decades of a vanishing gradient show.

    `on_click(t, unit)` is called for a left click on a pixel; `on_hover(text)` with the
    exact value under the mouse ("" outside)."""

    def __init__(
        self, on_click: Callable[[int, int], None], on_hover: Callable[[str], None]
    ) -> None:
        super().__init__()
        self.setBackground("w")
        self.on_click, self.on_hover = on_click, on_hover
        self.plot = self.ci.addPlot(
            row=0, col=0, axisItems={"bottom": IndexAxis(), "left": IndexAxis("left")}
        )
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.invertY(True)
        self.plot.setLabel("bottom", "t", color="k")
        self.plot.setLabel("left", "unit", color="k")
        for name in ("left", "bottom"):
            self.plot.getAxis(name).setTextPen("k")
        self.image = pg.ImageItem(axisOrder="col-major")
        self.plot.addItem(self.image)
        # NaN/±Inf painted over the colour map as in the Gates view: the signed-log scale
        # maps them to 0, which would draw them white, like a zero gradient.
        self.overlay = pg.ImageItem(axisOrder="col-major")
        self.overlay.setZValue(1)
        self.plot.addItem(self.overlay)
        self.t_line = pg.InfiniteLine(angle=90, movable=False, pen=_CURSOR_PEN)
        self.unit_line = pg.InfiniteLine(angle=0, movable=False, pen=_UNIT_PEN)
        self.plot.addItem(self.t_line)
        self.plot.addItem(self.unit_line)
        cmap = pg.ColorMap([p for p, _ in DIVERGING], [c for _, c in DIVERGING])
        self.image.setColorMap(cmap)
        self.bar = pg.ColorBarItem(
            values=(-1, 1),
            colorMap=cmap,
            interactive=False,
            orientation="vertical",
            width=12,
            colorMapMenu=False,
        )
        self.bar.getAxis("right").setTextPen("k")
        self.bar.getAxis("right").enableAutoSIPrefix(False)
        self.ci.addItem(self.bar, row=0, col=1)
        self.data = np.zeros((0, 0))
        self.scene().sigMouseClicked.connect(self._clicked)
        self.scene().sigMouseMoved.connect(self._moved)

    def set_data(self, a: np.ndarray, title: str) -> None:
        """Show `a` (T, units) — raw gradients; drawn as signed log, hovered exactly."""
        self.data = a
        shown, floor = signed_decades(a)
        top = float(np.abs(shown).max()) if shown.size else 0.0
        top = top or 1.0
        rect = QRectF(-0.5, -0.5, a.shape[0], a.shape[1])
        self.image.setImage(shown, autoLevels=False, levels=(-top, top))
        self.image.setRect(rect)
        rgba = nonfinite_overlay(a)
        if rgba is not None:
            self.overlay.setImage(rgba, autoLevels=False)
            self.overlay.setRect(rect)
        self.overlay.setVisible(rgba is not None)
        self.bar.setLevels((-top, top))
        counts = nonfinite_counts(a)
        if floor:
            label = f"sign · log₁₀(|∂L/∂h| / {floor:.2g})"
        else:  # no scale to divide by (it read "/ 0")
            label = "no finite nonzero ∂L/∂h" if counts else "all ∂L/∂h are 0"
        self.bar.getAxis("right").setLabel(label, color="k")
        legend = nonfinite_legend(counts)
        self.plot.setTitle(f"{title} · {legend}" if legend else title, color="k", size="9pt")
        self.plot.setXRange(-0.5, a.shape[0] - 0.5, padding=0)
        self.plot.setYRange(-0.5, a.shape[1] - 0.5, padding=0)

    def set_cursor(self, t: int, unit: int) -> None:
        """Move the cursor lines to (t, unit)."""
        self.t_line.setValue(t)
        self.unit_line.setValue(unit)

    def _hit(self, pos: QPointF) -> tuple[int, int] | None:
        vb = self.plot.getViewBox()
        if not vb.sceneBoundingRect().contains(pos):
            return None
        p = vb.mapSceneToView(pos)
        t, unit = int(round(p.x())), int(round(p.y()))
        if 0 <= t < self.data.shape[0] and 0 <= unit < self.data.shape[1]:
            return t, unit
        return None

    def _moved(self, pos: QPointF) -> None:
        hit = self._hit(pos)
        if hit is None:
            self.on_hover("")
            return
        t, unit = hit
        self.on_hover(f"∂L/∂h at t {t}, unit {unit} = {float(self.data[t, unit]):.6g}")

    def _clicked(self, event: object) -> None:
        if event.button() != Qt.MouseButton.LeftButton:  # type: ignore[attr-defined]
            return
        hit = self._hit(event.scenePos())  # type: ignore[attr-defined]
        if hit is not None:
            QTimer.singleShot(0, lambda: self.on_click(*hit))


class ChainPlot(pg.PlotWidget):
    """The chain back from t: ‖J_s‖₂ per step, their running product, and the bounds.

    x is the input position s the gradient has reached; y is log scale."""

    def __init__(self) -> None:
        super().__init__(background="w", axisItems={"bottom": IndexAxis(), "left": LogAxis()})
        item = self.getPlotItem()
        item.setMenuEnabled(False)
        item.hideButtons()
        item.showGrid(x=True, y=True, alpha=0.15)
        item.setLogMode(False, True)
        for name in ("left", "bottom"):
            item.getAxis(name).setTextPen("k")
            item.getAxis(name).enableAutoSIPrefix(False)
        item.setLabel("bottom", "s (input position the gradient has reached)", color="k")
        item.setLabel("left", "norm (log)", color="k")
        self.legend = legend_below(item, columns=3)
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.data: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def show_chain(
        self,
        steps: np.ndarray,
        factor: np.ndarray,
        product: np.ndarray,
        step_bound: np.ndarray | None,
        bound: float | None,
        reached: np.ndarray | None = None,
        state: str = "h",
    ) -> None:
        """Draw, at x = steps[k]: factor[k] = ‖J_{steps[k]}‖₂; product[k], the bound over the
        k step Jacobians from steps[0] = t to steps[k] (1 at t); `reached[k]`, what the
        gradient actually delivered at steps[k] relative to t over those same k steps (not a
        bound); for an RNN also max φ'·‖W_hh‖₂ per step and the powers bound^k of the
        constant bound ‖W_hh‖₂. `state` names the chain's state in the labels ("h", "(h,c)")."""
        item = self.getPlotItem()
        for c in self.curves.values():
            item.removeItem(c)
        self.legend.clear()
        self.curves.clear()
        self.data.clear()
        x = steps.astype(np.float64)
        series = [
            ("‖J_s‖₂ (step factor)", factor, PALETTE[0], Qt.PenStyle.SolidLine, "o"),
            ("∏‖J‖₂ from t to s (upper bound)", product, PALETTE[1], Qt.PenStyle.SolidLine, None),
        ]
        if reached is not None:
            series.append(
                (
                    f"‖∂L/∂{state}_s‖ ÷ ‖∂L/∂{state}_t‖ (what reached s)",
                    reached,
                    PALETTE[4],
                    Qt.PenStyle.SolidLine,
                    None,
                )
            )
        if step_bound is not None and bound is not None:
            series.append(
                ("max φ′(a_s)·‖W_hh‖₂", step_bound, PALETTE[2], Qt.PenStyle.DotLine, None)
            )
            # k steps from t to steps[k]: the power k, as product[k] spans k factors.
            powers = bound ** np.arange(len(steps), dtype=np.float64)
            series.append(
                ("bound (‖W_hh‖₂·max φ′)^k", powers, PALETTE[3], Qt.PenStyle.DashLine, None)
            )
        for name, y, colour, style, symbol in series:
            curve = pg.PlotDataItem(
                x,
                loggable(y),
                pen=pg.mkPen(colour, width=2, style=style),
                name=legend_name(name, y),
                connect="finite",
                symbol=symbol if len(x) <= 60 else None,
                symbolSize=4,
                symbolBrush=colour,
                symbolPen=None,
            )
            item.addItem(curve)
            self.curves[name] = curve
            self.data[name] = (x, np.asarray(y, dtype=np.float64))
        item.enableAutoRange()


class SaturationPlot(pg.PlotWidget):
    """Karpathy, Johnson & Fei-Fei (2015)'s saturation plot: one point per (gate, unit) at
    (fraction of steps < 0.1, fraction > 0.9). `on_unit(unit)` is called on a click."""

    def __init__(self, on_unit: Callable[[int], None]) -> None:
        super().__init__(background="w")
        item = self.getPlotItem()
        item.setMenuEnabled(False)
        item.hideButtons()
        item.showGrid(x=True, y=True, alpha=0.15)
        for name in ("left", "bottom"):
            item.getAxis(name).setTextPen("k")
        # A unit's fraction is over every (step, batch row) value it took: "of steps" was
        # wrong for a batch.
        item.setLabel("bottom", "fraction of its values &lt; 0.1 (left-saturated)", color="k")
        item.setLabel("left", "fraction &gt; 0.9 (right-saturated)", color="k")
        item.setXRange(-0.03, 1.03, padding=0)
        item.setYRange(-0.03, 1.03, padding=0)
        # The diagonal x + y = 1: units on it are always saturated one way or the other.
        self.diagonal = pg.PlotDataItem([0, 1], [1, 0], pen=pg.mkPen((160, 160, 160), width=1))
        item.addItem(self.diagonal)
        self.legend = item.addLegend(offset=(-5, 5), labelTextColor="k", brush=(255, 255, 255, 200))
        self.on_unit = on_unit
        self.scatters: dict[str, pg.ScatterPlotItem] = {}
        self.ring = pg.ScatterPlotItem(
            size=16, pen=pg.mkPen((20, 20, 20), width=2), brush=None, symbol="o"
        )
        self.ring.setZValue(10)
        item.addItem(self.ring)
        self.points: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def show_gates(self, fractions: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
        """fractions: gate → (left (units,), right (units,)). Each point's data is its unit."""
        item = self.getPlotItem()
        for s in self.scatters.values():
            item.removeItem(s)
        self.legend.clear()
        self.scatters.clear()
        self.points = dict(fractions)
        # Nothing to place (an Elman RNN has no σ gates): no axes, no line, nothing to read.
        self.setVisible(bool(fractions))
        if fractions:
            self.legend.addItem(self.diagonal, "x + y = 1: saturated at every value")
        for k, (gate, (left, right)) in enumerate(fractions.items()):
            colour = PALETTE[k % len(PALETTE)]
            sc = pg.ScatterPlotItem(
                x=left,
                y=right,
                data=np.arange(len(left)),
                size=9,
                brush=pg.mkBrush(*colour, 170),
                pen=pg.mkPen(*colour),
                name=f"gate {gate}",
                hoverable=True,
                tip=lambda x, y, data, gate=gate: (
                    f"gate {gate}, unit {data}: {x:.0%} < 0.1, {y:.0%} > 0.9"
                ),
            )
            sc.sigClicked.connect(self._clicked)
            item.addItem(sc)
            self.scatters[gate] = sc
        # Identical points (e.g. units never saturated, at (0, 0)) overlap; the hover tip and
        # the click pick the topmost.

    def mark_unit(self, unit: int) -> None:
        """Ring the selected unit's point in every gate."""
        xs, ys = [], []
        for left, right in self.points.values():
            if 0 <= unit < len(left):
                xs.append(left[unit])
                ys.append(right[unit])
        self.ring.setData(x=xs, y=ys)

    def _clicked(self, _item: object, points: list, _event: object = None) -> None:
        if len(points):
            unit = int(points[0].data())
            QTimer.singleShot(0, lambda: self.on_unit(unit))
