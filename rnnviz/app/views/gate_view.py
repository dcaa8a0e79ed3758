"""Gate activations: one heatmap per gate (unit × time) for the selected layer, direction and
batch row, with shared colour scales, colour bars, cursors, hover values and click-to-select.

Every value drawn is the trace's own array; nothing is recomputed here. A new snapshot (or a
new layer, direction or batch row) replaces the images; a step in time or a new unit only
moves the cursor lines, so playback stays inside a frame at H=512, T=500.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from rnnviz.analysis.equations import fmt
from rnnviz.analysis.scales import (
    DIVERGING,
    NONFINITE_COLOURS,
    ScaleGroup,
    finite_or_zero,
    nonfinite_counts,
    nonfinite_overlay,
    scale_groups,
)
from rnnviz.config.glossary import GATES, gate_label
from rnnviz.document.document import Document
from rnnviz.document.selection import Selection
from rnnviz.document.snapshot import Snapshot

_DIRECTION_NAMES = {"fwd": "forward", "bwd": "backward"}
_CURSOR_PEN = pg.mkPen((20, 20, 20), width=1.5)
_UNIT_PEN = pg.mkPen((20, 20, 20), width=1, style=Qt.PenStyle.DashLine)


def _colormap() -> pg.ColorMap:
    pos = [p for p, _ in DIVERGING]
    colours = [c for _, c in DIVERGING]
    return pg.ColorMap(pos, colours)


class _IndexAxis(pg.AxisItem):
    """An axis of timesteps or units: whole-number ticks only, no SI-prefix rescaling
    (a one-step sequence would otherwise be labelled "t (x0.001)" from −400 to 400)."""

    def __init__(self, orientation: str) -> None:
        super().__init__(orientation)
        self.enableAutoSIPrefix(False)
        self.setTextPen("k")
        self.setPen((90, 90, 90))

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list:  # noqa: N802,N803
        out = []
        for spacing, values in super().tickValues(minVal, maxVal, size):
            if spacing >= 1:
                out.append((spacing, [v for v in values if float(v).is_integer()]))
        if not out:  # zoomed in past one index per tick: label every index
            lo, hi = int(np.ceil(minVal)), int(np.floor(maxVal))
            out = [(1.0, [float(v) for v in range(lo, hi + 1)])]
        return out


def signed_log(a: np.ndarray) -> np.ndarray:
    """sign(a)·log10(1 + |a|): keeps 0 at 0 and the sign, compresses 1e38 to 38."""
    return (np.sign(a) * np.log10(1.0 + np.abs(a.astype(np.float64)))).astype(np.float32)


def _drawable(a: np.ndarray) -> np.ndarray:
    """pyqtgraph rescales float32 images in float32; near float32's limit (an exploding RNN)
    that overflows, so such images are drawn from float64."""
    return (
        a.astype(np.float64)
        if a.dtype == np.float32 and a.size and float(np.max(np.abs(a))) > 1e30
        else a
    )


def format_value(v: float) -> str:
    """A recorded float32 value with all the digits it has ('nan', 'inf', '-inf' as such)."""
    return fmt(v, 8)


def _same_key(a: Any, b: Any) -> bool:
    """Whether two (spec, arrays, batch) keys name the same images (arrays by identity)."""
    if a is None or b is None:
        return False
    return (
        a[0] == b[0]
        and a[2] == b[2]
        and len(a[1]) == len(b[1])
        and all(x is y for x, y in zip(a[1], b[1]))
    )


class GateView(QWidget):
    """Heatmaps of every gate of the selected (layer, direction, batch row) over time."""

    def __init__(self, state: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.plots: dict[str, pg.PlotItem] = {}
        self.images: dict[str, pg.ImageItem] = {}
        self.overlays: dict[str, pg.ImageItem] = {}
        self.t_lines: dict[str, pg.InfiniteLine] = {}
        self.unit_lines: dict[str, pg.InfiniteLine] = {}
        self.bars: list[pg.ColorBarItem] = []
        self.groups: list[ScaleGroup] = []
        self.data: dict[str, np.ndarray] = {}
        #: How many times the images were replaced (tests check a step does not do it).
        self.image_updates = 0
        self._figure = False  # export: no pickers, the caption names the whole spec
        self._layout_key: Any = None
        self._shown: Any = None
        self._cmap = _colormap()

        self.layer_spin = QSpinBox(self)
        self.layer_spin.setPrefix("layer ")
        self.layer_spin.setToolTip("Which layer's gates to show")
        self.direction_combo = QComboBox(self)
        self.direction_combo.setToolTip("Which direction's gates to show")
        self.batch_spin = QSpinBox(self)
        self.batch_spin.setPrefix("batch ")
        self.batch_spin.setToolTip("Which batch row (sequence) to show")
        self.scale_combo = QComboBox(self)
        self.scale_combo.addItem("fixed scale", False)
        self.scale_combo.addItem("stretched", "stretch")
        self.scale_combo.addItem("signed log", "log")
        self.scale_combo.setToolTip(
            "Colour scale.\n"
            "Fixed: σ gates on 0…1 and tanh values on ±1, comparable everywhere.\n"
            "Stretched: each scale spans the values on screen, to see small differences.\n"
            "Signed log: colour by sign(v)·log₁₀(1 + |v|), for values that explode.\n"
            "Hover always shows the recorded value itself."
        )
        self.scale_combo.currentIndexChanged.connect(self._scale_picked)
        for combo in (self.direction_combo, self.scale_combo):
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            combo.setMinimumContentsLength(6)
        self.caption = QLabel(self)
        self.caption.setTextFormat(Qt.TextFormat.PlainText)
        self.caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.hover = QLabel(self)
        self.hover.setTextFormat(Qt.TextFormat.PlainText)
        self.hover.setToolTip("The value under the mouse, exactly as recorded (float32)")
        self.hover.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.legend = QLabel(self)
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setVisible(False)

        self.canvas = pg.GraphicsLayoutWidget(self)
        self.canvas.setBackground("w")
        self.canvas.ci.setSpacing(4)
        self.canvas.scene().sigMouseClicked.connect(self._clicked)
        self.canvas.scene().sigMouseMoved.connect(self._moved)
        self.placeholder = QLabel("computing the first trace…", self)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.placeholder)
        self.stack.addWidget(self.canvas)

        row = QHBoxLayout()
        row.setContentsMargins(4, 2, 4, 0)
        for w in (self.layer_spin, self.direction_combo, self.batch_spin, self.scale_combo):
            row.addWidget(w)
        row.addWidget(self.caption, 1)
        bottom = QHBoxLayout()
        bottom.setContentsMargins(4, 0, 4, 2)
        bottom.addWidget(self.hover, 1)
        bottom.addWidget(self.legend)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addLayout(row)
        lay.addWidget(self.stack, 1)
        lay.addLayout(bottom)

        self.layer_spin.valueChanged.connect(lambda v: self.state.select(layer=v))
        self.direction_combo.currentIndexChanged.connect(self._direction_picked)
        self.batch_spin.valueChanged.connect(lambda v: self.state.select(batch=v))
        state.sigSnapshotChanged.connect(self._snapshot_changed)
        state.sigSelectionChanged.connect(self._selection_changed)
        if state.snapshot is not None:
            self._snapshot_changed(state.snapshot)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(960, 600)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API
        # Small on purpose: beside the two docks the window must still fit an 800 px screen;
        # the pickers shrink (their combos elide) rather than set the window's width.
        return QSize(160, 160)

    # ---- what tests and exports read ------------------------------------------------------------
    def image_shape(self, gate: str) -> tuple[int, int]:
        """(timesteps, units) of the heatmap of `gate`."""
        img = self.images[gate].image
        return (int(img.shape[0]), int(img.shape[1]))

    def cursor_t(self) -> int:
        """The timestep every cursor line is at (they move together)."""
        values = {round(line.value()) for line in self.t_lines.values()}
        assert len(values) == 1, values
        return int(values.pop())

    def cursor_unit(self) -> int:
        """The unit the horizontal cursor lines mark."""
        return int(round(next(iter(self.unit_lines.values())).value()))

    def set_figure_mode(self, on: bool) -> None:
        """Hide the pickers and hover line (for exports: a figure, not a screenshot of
        controls); the caption naming the layer, direction, batch row and t stays."""
        self._figure = on
        for w in (
            self.layer_spin,
            self.direction_combo,
            self.batch_spin,
            self.scale_combo,
            self.hover,
        ):
            w.setVisible(not on)
        if self.state.snapshot is not None:
            self._move_cursors(self.state.snapshot, self.state.selection)

    def nonfinite_legend_visible(self) -> bool:
        """Whether the NaN/±Inf legend is shown (only when the data on screen has them)."""
        return not self.legend.isHidden()

    # ---- pickers ------------------------------------------------------------------------------
    def _direction_picked(self, index: int) -> None:
        direction = self.direction_combo.itemData(index)
        if direction:
            self.state.select(direction=direction)

    def _scale_picked(self, _index: int) -> None:
        # A view setting, not shared state: only the colour levels change.
        snap = self.state.snapshot
        if snap is not None:
            self._shown = None
            self._selection_changed(self.state.selection)

    def _sync_pickers(self, snap: Snapshot, sel: Selection) -> None:
        spec = snap.spec
        pickers = (self.layer_spin, self.direction_combo, self.batch_spin)
        for w in pickers:
            w.blockSignals(True)
        try:
            self.layer_spin.setRange(0, spec.num_layers - 1)
            self.layer_spin.setValue(sel.layer)
            self.layer_spin.setEnabled(spec.num_layers > 1)
            if [
                self.direction_combo.itemData(i) for i in range(self.direction_combo.count())
            ] != list(spec.directions):
                self.direction_combo.clear()
                for d in spec.directions:
                    self.direction_combo.addItem(_DIRECTION_NAMES[d], d)
            self.direction_combo.setCurrentIndex(spec.directions.index(sel.direction))
            self.direction_combo.setEnabled(len(spec.directions) > 1)
            self.batch_spin.setRange(0, spec.batch_size - 1)
            self.batch_spin.setValue(sel.batch)
            self.batch_spin.setEnabled(spec.batch_size > 1)
        finally:
            for w in pickers:
                w.blockSignals(False)

    # ---- state → view -------------------------------------------------------------------------
    def _snapshot_changed(self, snap: Snapshot) -> None:
        # New arrays make a new key; the lane on screen kept from an earlier result of the
        # same run (the window's remaining lanes landing) keeps its images.
        self._selection_changed(self.state.selection)

    def _selection_changed(self, sel: Selection) -> None:
        snap = self.state.snapshot
        if snap is None:
            return
        self._sync_pickers(snap, sel)
        # Keyed by the lane's arrays themselves (held, compared by identity): when the window's
        # remaining lanes land, the lane on screen is the same arrays and is not redrawn.
        arrays = tuple(
            snap.trace.gates.get((sel.layer, sel.direction, g)) for g in snap.spec.trace_gates
        )
        key = (snap.spec, arrays, sel.batch)
        if not snap.trace.has_lane(sel.layer, sel.direction):
            # Only this lane's h is recorded so far: say so and ask for it (the runner then
            # verifies it next), never draw gates that were not recomputed.
            self._shown, self.data = None, {}
            self.placeholder.setText(
                f"layer {sel.layer} {_DIRECTION_NAMES[sel.direction]}: gates not recomputed "
                f"yet ({snap.trace.lanes_text()}) — computing this lane next …"
            )
            self.placeholder.setWordWrap(True)
            self.caption.setText(
                f"{snap.spec.cell.upper()} · layer {sel.layer} · "
                f"{_DIRECTION_NAMES[sel.direction]} — not recomputed yet"
            )
            self.stack.setCurrentWidget(self.placeholder)
            self.state.ask_lanes()
            return
        if not _same_key(key, self._shown):
            self._show_images(snap, sel)
            self._shown = key
        self._move_cursors(snap, sel)

    def _ensure_plots(self, snap: Snapshot) -> None:
        """Create the plots when the set of gates (or their sizes) changed; else keep them."""
        spec = snap.spec
        # Sizes are not part of the key: a new hidden_size only needs new images and ranges
        # (recreating six pyqtgraph plots costs ~170 ms); only whether h differs in size from
        # the gates (proj_size) changes which plots share a y axis.
        key = (spec.cell, spec.nonlinearity, spec.trace_gates, spec.proj_size > 0)
        if key == self._layout_key:
            return
        self._layout_key = key
        self.canvas.ci.clear()
        self.plots.clear()
        self.images.clear()
        self.overlays.clear()
        self.t_lines.clear()
        self.unit_lines.clear()
        self.bars = []
        gates = spec.trace_gates
        cols = 3 if len(gates) > 4 else 2
        first: pg.PlotItem | None = None
        for k, gate in enumerate(gates):
            plot = self.canvas.ci.addPlot(
                row=k // cols,
                col=k % cols,
                axisItems={"bottom": _IndexAxis("bottom"), "left": _IndexAxis("left")},
            )
            plot.setMenuEnabled(False)
            plot.hideButtons()
            plot.invertY(True)  # unit 0 at the top, like a table
            plot.setLabel("bottom", "t")
            plot.setLabel("left", "unit")
            img = pg.ImageItem(axisOrder="col-major")
            img.setAutoDownsample(True)
            plot.addItem(img)
            tl = pg.InfiniteLine(angle=90, movable=False, pen=_CURSOR_PEN)
            ul = pg.InfiniteLine(angle=0, movable=False, pen=_UNIT_PEN)
            plot.addItem(tl)
            plot.addItem(ul)
            if first is None:
                first = plot
            else:
                plot.setXLink(first)
                if self._units(spec, gate) == self._units(spec, gates[0]):
                    plot.setYLink(first)
            self.plots[gate], self.images[gate] = plot, img
            self.t_lines[gate], self.unit_lines[gate] = tl, ul
        bar_row = (len(gates) - 1) // cols + 1
        n_groups = len(scale_groups(spec, {}))
        for k in range(n_groups):
            bar = pg.ColorBarItem(
                values=(0, 1),
                colorMap=self._cmap,
                interactive=False,
                orientation="horizontal",
                width=14,
                pen=(90, 90, 90),
                colorMapMenu=False,
            )
            bar.getAxis("bottom").setTextPen("k")
            # "±0.939", not "±939 (x0.001)": the numbers should read like the values.
            bar.getAxis("bottom").enableAutoSIPrefix(False)
            self.canvas.ci.addItem(bar, row=bar_row, col=k)
            self.bars.append(bar)

    @staticmethod
    def _units(spec: Any, gate: str) -> int:
        return spec.out_hidden if gate == "h" else spec.hidden_size

    def _show_images(self, snap: Snapshot, sel: Selection) -> None:
        self._ensure_plots(snap)
        spec, tr = snap.spec, snap.trace
        self.data = {
            g: tr.gates[(sel.layer, sel.direction, g)][:, sel.batch, :] for g in spec.trace_gates
        }
        mode = self.scale_combo.currentData()
        shown = {g: finite_or_zero(a) for g, a in self.data.items()}
        if mode == "log":
            shown = {g: signed_log(a) for g, a in shown.items()}
        self.groups = scale_groups(spec, shown, stretch=bool(mode))
        group_of = {g: grp for grp in self.groups for g in grp.gates}
        counts: dict[str, int] = {}
        for gate, arr in self.data.items():
            grp = group_of[gate]
            img = self.images[gate]
            img.setImage(_drawable(shown[gate]), autoLevels=False, levels=grp.levels)
            img.setColorMap(self._cmap)
            # Pixel (t, u) centred on (t, u), so the cursor at x = t runs through its middle.
            img.setRect(QRectF(-0.5, -0.5, arr.shape[0], arr.shape[1]))
            self._set_overlay(gate, arr)
            for key, n in nonfinite_counts(arr).items():
                counts[key] = counts.get(key, 0) + n
            en, zh, _ = GATES[gate]
            tape = " · the memory tape" if gate == "c" else ""
            # Two short lines, not one long one: a plot is never wider than its title, and
            # three columns of one-line titles would not fit the window's centre.
            plot = self.plots[gate]
            plot.setTitle(f"{gate} — {en}{tape}<br>{zh} [{grp.short}]", color="k", size="9pt")
            plot.titleLabel.setMinimumWidth(0)
        for bar, grp in zip(self.bars, self.groups):
            bar.setLevels(grp.levels)
            caption = grp.caption if mode != "log" else f"{grp.caption} (sign·log₁₀(1+|v|))"
            bar.getAxis("bottom").setLabel(caption, color="k")
        self._show_legend(counts)
        first = self.plots[spec.trace_gates[0]]
        first.setXRange(-0.5, spec.seq_len - 0.5, padding=0)
        first.setYRange(-0.5, spec.hidden_size - 0.5, padding=0)
        for gate, plot in self.plots.items():
            if plot.getViewBox().linkedView(pg.ViewBox.YAxis) is None and plot is not first:
                plot.setYRange(-0.5, self._units(spec, gate) - 0.5, padding=0)
        self.image_updates += 1
        self.stack.setCurrentWidget(self.canvas)

    def _set_overlay(self, gate: str, arr: np.ndarray) -> None:
        rgba = nonfinite_overlay(arr)
        old = self.overlays.pop(gate, None)
        if old is not None:
            self.plots[gate].removeItem(old)
        if rgba is None:
            return
        over = pg.ImageItem(rgba, axisOrder="col-major")
        over.setRect(QRectF(-0.5, -0.5, arr.shape[0], arr.shape[1]))
        over.setZValue(1)
        self.plots[gate].addItem(over)
        self.overlays[gate] = over

    def _show_legend(self, counts: dict[str, int]) -> None:
        if not counts:
            self.legend.setVisible(False)
            return
        parts = []
        for key, n in counts.items():
            r, g, b = NONFINITE_COLOURS[key]
            parts.append(f"<span style='color:rgb({r},{g},{b})'>■</span> {key} ({n:,})")
        self.legend.setText("not finite: " + " &nbsp; ".join(parts))
        self.legend.setToolTip(
            "Values float32 cannot hold (overflow) are drawn in these "
            "colours, outside the colour scale"
        )
        self.legend.setVisible(True)

    def _move_cursors(self, snap: Snapshot, sel: Selection) -> None:
        self._follow(sel.t)
        for gate in self.t_lines:
            self.t_lines[gate].setValue(sel.t)
            units = self._units(snap.spec, gate)
            self.unit_lines[gate].setValue(min(sel.unit, units - 1))
        gate = "c" if snap.spec.cell == "lstm" else "h"  # the memory tape, else the state
        value = self._value(gate, sel.t, sel.unit)
        where = "" if snap.spec.num_directions == 1 else f" · {_DIRECTION_NAMES[sel.direction]}"
        name = snap.spec.title() if self._figure else snap.spec.cell.upper()
        self.caption.setText(
            f"{name} · layer {sel.layer}{where} · batch {sel.batch} — "
            f"unit {sel.unit}, t {sel.t}: {gate} = {value}"
        )

    def _follow(self, t: int) -> None:
        """Keep the cursor on screen when zoomed in on time: if t left the visible range (x is
        linked across plots), pan to centre it, keeping the zoom. Nothing moves otherwise, so
        a step inside the view costs no axis redraw."""
        if not self.plots:
            return
        first = next(iter(self.plots.values()))
        x0, x1 = first.getViewBox().viewRange()[0]
        if not x0 <= t <= x1:
            half = (x1 - x0) / 2
            first.setXRange(t - half, t + half, padding=0)

    def _value(self, gate: str, t: int, unit: int) -> str:
        arr = self.data.get(gate)
        if arr is None or not (0 <= t < arr.shape[0] and 0 <= unit < arr.shape[1]):
            return "—"
        return format_value(arr[t, unit])

    # ---- mouse --------------------------------------------------------------------------------
    def _hit(self, scene_pos: QPointF) -> tuple[str, int, int] | None:
        """(gate, t, unit) of the heatmap pixel at a scene position, or None."""
        for gate, plot in self.plots.items():
            vb = plot.getViewBox()
            if not vb.sceneBoundingRect().contains(scene_pos):
                continue
            p = vb.mapSceneToView(scene_pos)
            t, unit = int(round(p.x())), int(round(p.y()))
            arr = self.data.get(gate)
            if arr is not None and 0 <= t < arr.shape[0] and 0 <= unit < arr.shape[1]:
                return gate, t, unit
            return None
        return None

    def _moved(self, scene_pos: QPointF) -> None:
        hit = self._hit(scene_pos)
        if hit is None:
            self.hover.setText("")
            self.canvas.setToolTip("")
            return
        gate, t, unit = hit
        text = f"{gate_label(gate)} · unit {unit}, t {t} = {self._value(gate, t, unit)}"
        self.hover.setText(text)
        self.canvas.setToolTip(text)

    def _clicked(self, event: Any) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        hit = self._hit(event.scenePos())
        if hit is not None:
            _, t, unit = hit
            # After the click's own processing, so the view does not start a drag from it.
            QTimer.singleShot(0, lambda: self.state.select(t=t, unit=unit))
