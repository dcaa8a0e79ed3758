"""Gate activations: one heatmap per gate (unit × time) for the selected layer, direction and
batch row, with shared colour scales, colour bars, cursors, hover values and click-to-select.

Every value drawn is the trace's own array; nothing is recomputed here. A new snapshot (or a
new layer, direction or batch row) replaces the images; a step in time or a new unit only
moves the cursor lines, so playback stays inside a frame at H=512, T=500.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QFont, QFontMetricsF
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from rnnviz.analysis.equations import fmt
from rnnviz.analysis.scales import (
    DIVERGING,
    SCALE_MODES,
    ScaleGroup,
    check_scale_mode,
    finite_or_zero,
    nonfinite_counts,
    nonfinite_overlay,
    scale_groups,
    signed_log,
    signed_log_ticks,
    tick_text,
)
from rnnviz.app.views.axes import IndexAxis
from rnnviz.app.widgets import ElidedLabel, nonfinite_legend, sync_lane_pickers
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


def _small_font() -> Any:
    font = QFont()
    font.setPointSizeF(7.5)
    return font


def _drawable(a: np.ndarray) -> np.ndarray:
    """pyqtgraph rescales float32 images in float32; near float32's limit (an exploding RNN)
    that overflows, so such images are drawn from float64."""
    return (
        a.astype(np.float64)
        if a.dtype == np.float32 and a.size and float(np.max(np.abs(a))) > 1e30
        else a
    )


class BarAxis(pg.AxisItem):
    """The numbered axis of a heatmap's colour bar.

    On a signed-log bar (`signed_log`), the axis runs in sign(v)·log10(1 + |v|) like the
    colours, but every tick is labelled with the recorded value v it stands for ("1e30",
    "0.5", "-1"), placed exactly at that value's log and never closer to the next label
    than the labels' width. The caption under the bar is elided to the bar's width, with
    the whole caption as its tooltip."""

    def __init__(self, orientation: str = "bottom") -> None:
        super().__init__(orientation)
        self.enableAutoSIPrefix(False)
        #: True: positions are signed logs, labels the values they stand for.
        self.signed_log = False
        self._ticks: dict[float, str] = {}  # position → label, of the last drawing
        self._label_width = -1.0  # the width the caption was last elided to

    def real_ticks(self) -> list[tuple[float, str]]:
        """(position, label) of the ticks a signed-log bar labels at its current size
        (empty when the bar is not signed-log); pyqtgraph may still leave out one whose
        label would stick out past the bar's end."""
        if not self.signed_log:
            return []
        lo, hi = sorted(self.range)
        return self._choose(lo, hi, max(self.width(), 1.0))

    def _text_width(self, text: str) -> float:
        return QFontMetricsF(self.style.get("tickFont") or _small_font()).horizontalAdvance(text)

    def _choose(self, lo: float, hi: float, size: float) -> list[tuple[float, str]]:
        per_px = (hi - lo) / size if size > 0 else 1.0
        # Room for a label of the usual width, then for the widest label actually chosen.
        gap = self._text_width("-1e30") + 10
        for _ in range(3):
            ticks = [(pos, tick_text(v)) for pos, v in signed_log_ticks(lo, hi, gap * per_px)]
            need = max(self._text_width(t) for _, t in ticks) + 10
            if need <= gap:
                break
            gap = need
        return ticks

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list:  # noqa: N802,N803
        if not self.signed_log:
            return super().tickValues(minVal, maxVal, size)
        self._ticks = dict(self._choose(minVal, maxVal, size))
        return [(None, list(self._ticks))]

    def tickStrings(self, values: list, scale: float, spacing: float) -> list:  # noqa: N802
        if not self.signed_log:
            return super().tickStrings(values, scale, spacing)
        return [self._ticks.get(v, "") for v in values]

    def labelString(self) -> str:  # noqa: N802 - pyqtgraph API
        full = self.labelText
        font = QFont()
        font.setPointSizeF(8)  # the size GateView sets the caption in
        width = self.width()
        self._label_width = width
        shown = (
            QFontMetricsF(font).elidedText(full, Qt.TextElideMode.ElideRight, width - 4)
            if width > 0
            else full
        )
        self.label.setToolTip(full if shown != full else "")
        style = ";".join(f"{k}: {v}" for k, v in self.labelStyle.items())
        return f"<span style='{style}'>{html.escape(shown)}</span>"

    def resizeEvent(self, ev: Any = None) -> None:  # noqa: N802 - Qt API
        if self.label is not None and self.width() != self._label_width:
            self._updateLabel()  # elide the caption to the new width
        super().resizeEvent(ev)

    def caption_shown(self) -> str:
        """The caption as drawn (elided to the bar's width when it does not fit)."""
        return self.label.toPlainText().strip() if self.label is not None else ""


def _install_bar_axis(bar: pg.ColorBarItem) -> BarAxis:
    """Put a BarAxis in place of the colour bar's own numbered (bottom) axis."""
    axis = BarAxis("bottom")
    bar.setAxisItems({"bottom": axis})
    axis.unlinkFromView()  # its range is the colour levels, set by the bar
    axis.setStyle(showValues=True)
    axis.setZValue(0.5)
    bar.axis = axis
    axis.setRange(*bar.levels())
    return axis


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
        #: gate → the colour bar directly under that gate's heatmap (one each, so no bar
        #: can be read as another panel's scale).
        self.bars: dict[str, pg.ColorBarItem] = {}
        #: gate → the numbered axis of its bar (ticks and caption).
        self.bar_axes: dict[str, BarAxis] = {}
        self.groups: list[ScaleGroup] = []
        self.data: dict[str, np.ndarray] = {}
        #: How many times the images were replaced (tests check a step does not do it).
        self.image_updates = 0
        self._figure = False  # export: no pickers, the caption names the whole spec
        self._layout_key: Any = None
        self._shown: Any = None
        #: True when a snapshot or selection arrived while the view was hidden (a tab behind
        #: another): it is drawn when the view is shown, not before (showEvent).
        self._behind = False
        self._cmap = _colormap()

        self.layer_spin = QSpinBox(self)
        self.layer_spin.setPrefix("layer ")
        self.layer_spin.setToolTip("Which layer's gates to show")
        self.direction_combo = QComboBox(self)
        self.direction_combo.setToolTip("Which direction's gates to show")
        self.batch_spin = QSpinBox(self)
        self.batch_spin.setPrefix("batch ")
        self.batch_spin.setToolTip("Which batch row (sequence) to show")
        self.rows_check = QCheckBox("all rows", self)
        self.rows_check.setToolTip(
            "Draw every batch row side by side (row 0's steps, then row 1's, …);\n"
            "on by default when seq_len is 1, where one row is a one-column strip"
        )
        self.rows_check.toggled.connect(self._scale_picked)
        self._rows_for: Any = None
        self.scale_combo = QComboBox(self)
        # Item data are the mode names of SCALE_MODES, which `rnnviz export --scale-mode` takes.
        self.scale_combo.addItem("fixed scale", "fixed")
        self.scale_combo.addItem("stretched", "stretched")
        self.scale_combo.addItem("signed log", "signed-log")
        self.scale_combo.setToolTip(
            "Colour scale.\n"
            "Fixed: σ gates on 0…1 and tanh values on ±1, comparable everywhere.\n"
            "Stretched: each scale spans the values on screen, to see small differences.\n"
            "Signed log: colour by sign(v)·log₁₀(1 + |v|), for values that explode;\n"
            "the titles, captions and bar ticks still give the values themselves.\n"
            "Hover always shows the recorded value itself."
        )
        self.scale_combo.currentIndexChanged.connect(self._scale_picked)
        for combo in (self.direction_combo, self.scale_combo):
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            combo.setMinimumContentsLength(6)
        # Elided with the whole text as tooltip: beside the pickers at 1280 px the caption's
        # "c = -0.0123…" would otherwise be cut mid-number with nothing to read it from.
        self.caption = ElidedLabel("", self)
        self.hover = ElidedLabel("", self)
        self.hover.set_tip("The value under the mouse, exactly as recorded (float32)")
        self.legend = QLabel(self)
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setVisible(False)

        self.canvas = pg.GraphicsLayoutWidget(self)
        self.canvas.setBackground("w")
        self.canvas.ci.setSpacing(4)
        # Room between rows, so a bar's caption is not read as the title of the plot below.
        self.canvas.ci.layout.setVerticalSpacing(12)
        self.canvas.scene().sigMouseClicked.connect(self._clicked)
        self.canvas.scene().sigMouseMoved.connect(self._moved)
        self.placeholder = QLabel("computing the first trace…", self)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.placeholder)
        self.stack.addWidget(self.canvas)

        row = QHBoxLayout()
        row.setContentsMargins(4, 2, 4, 0)
        for w in (
            self.layer_spin,
            self.direction_combo,
            self.batch_spin,
            self.rows_check,
            self.scale_combo,
        ):
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
        """(columns, units) of the heatmap of `gate`: columns are timesteps, or batch rows ×
        timesteps with every row drawn."""
        img = self.images[gate].image
        return (int(img.shape[0]), int(img.shape[1]))

    def cursor_t(self) -> int:
        """The timestep every cursor line is at (they move together)."""
        values = {round(line.value()) for line in self.t_lines.values()}
        assert len(values) == 1, values
        return self._split(int(values.pop()))[1]

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
            self.rows_check,
            self.scale_combo,
            self.hover,
        ):
            w.setVisible(not on)
        if self.state.snapshot is not None:
            self._move_cursors(self.state.snapshot, self.state.selection)

    def scale_mode(self) -> str:
        """The colour-scale mode shown: "fixed", "stretched" or "signed-log" (SCALE_MODES)."""
        return str(self.scale_combo.currentData())

    def set_scale_mode(self, mode: str) -> None:
        """Show the heatmaps in colour-scale `mode` (one of SCALE_MODES; ValueError else)."""
        self.scale_combo.setCurrentIndex(self.scale_combo.findData(check_scale_mode(mode)))

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
        sync_lane_pickers(self.layer_spin, self.direction_combo, self.batch_spin, snap.spec, sel)

    # ---- state → view -------------------------------------------------------------------------
    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        """Draw what arrived while the view was hidden."""
        super().showEvent(event)
        if self._behind and self.state.snapshot is not None:
            self._snapshot_changed(self.state.snapshot)

    def _hidden(self) -> bool:
        # A hidden tab draws nothing: building six plots (~130 ms, the first time) and new
        # images on every landed trace would block the GUI thread for a view nobody sees.
        self._behind = not self.isVisible()
        return self._behind

    def _snapshot_changed(self, snap: Snapshot) -> None:
        if self._hidden():
            return
        shape = (snap.spec.seq_len, snap.spec.batch_size)
        if shape != self._rows_for:  # a new shape: all rows when one row would be a strip
            self._rows_for = shape
            self.rows_check.blockSignals(True)
            self.rows_check.setChecked(shape[0] == 1 and shape[1] > 1)
            self.rows_check.blockSignals(False)
        self.rows_check.setEnabled(snap.spec.batch_size > 1)
        # New arrays make a new key; the lane on screen kept from an earlier result of the
        # same run (the window's remaining lanes landing) keeps its images.
        self._selection_changed(self.state.selection)

    def _selection_changed(self, sel: Selection) -> None:
        snap = self.state.snapshot
        if snap is None or self._hidden():
            return
        self._sync_pickers(snap, sel)
        # Keyed by the lane's arrays themselves (held, compared by identity): when the window's
        # remaining lanes land, the lane on screen is the same arrays and is not redrawn.
        arrays = tuple(
            snap.trace.gates.get((sel.layer, sel.direction, g)) for g in snap.spec.trace_gates
        )
        key = (snap.spec, arrays, None if self._all_rows() else sel.batch)
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
        self.bars, self.bar_axes = {}, {}
        gates = spec.trace_gates
        cols = 3 if len(gates) > 4 else 2
        first: pg.PlotItem | None = None
        for k, gate in enumerate(gates):
            # Each gate's own cell: its heatmap with its colour bar right under it.
            cell = self.canvas.ci.addLayout(row=k // cols, col=k % cols)
            cell.setSpacing(0)
            cell.setContentsMargins(0, 0, 0, 0)
            plot = cell.addPlot(
                row=0,
                col=0,
                axisItems={"bottom": IndexAxis("bottom"), "left": IndexAxis("left")},
            )
            for name in ("bottom", "left"):
                plot.getAxis(name).setTextPen("k")
                plot.getAxis(name).setPen((90, 90, 90))
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
            bar = pg.ColorBarItem(
                values=(0, 1),
                colorMap=self._cmap,
                interactive=False,
                orientation="horizontal",
                width=9,
                pen=(90, 90, 90),
                colorMapMenu=False,
            )
            axis = _install_bar_axis(bar)
            axis.setTextPen("k")
            # "±0.939", not "±939 (x0.001)": the numbers should read like the values.
            axis.enableAutoSIPrefix(False)
            axis.setStyle(tickFont=_small_font(), tickTextOffset=1)
            axis.label.setFont(_small_font())
            # The bar spans the heatmap, not the heatmap's axis: indent it by the axis width.
            bar.layout.setContentsMargins(plot.getAxis("left").width() + 5, 5, 4, 0)
            cell.addItem(bar, row=1, col=0)
            self.bars[gate], self.bar_axes[gate] = bar, axis

    def _all_rows(self) -> bool:
        snap = self.state.snapshot
        return self.rows_check.isChecked() and snap is not None and snap.spec.batch_size > 1

    def _col(self, batch: int, t: int) -> int:
        """The image column of (batch row, t): t alone, or b·T + t with every row drawn."""
        snap = self.state.snapshot
        return batch * snap.spec.seq_len + t if snap is not None and self._all_rows() else t

    def _split(self, col: int) -> tuple[int | None, int]:
        """(batch row or None, t) of an image column (inverse of `_col`)."""
        snap = self.state.snapshot
        if snap is None or not self._all_rows():
            return None, col
        return divmod(col, snap.spec.seq_len)

    @staticmethod
    def _units(spec: Any, gate: str) -> int:
        return spec.out_hidden if gate == "h" else spec.hidden_size

    def _show_images(self, snap: Snapshot, sel: Selection) -> None:
        self._ensure_plots(snap)
        spec, tr = snap.spec, snap.trace
        every = self._all_rows()
        if every:  # (T, B, H) → (B·T, H): row 0's steps, then row 1's, …
            self.data = {
                g: tr.gates[(sel.layer, sel.direction, g)]
                .transpose(1, 0, 2)
                .reshape(-1, a.shape[2])
                for g in spec.trace_gates
                for a in (tr.gates[(sel.layer, sel.direction, g)],)
            }
        else:
            self.data = {
                g: tr.gates[(sel.layer, sel.direction, g)][:, sel.batch, :]
                for g in spec.trace_gates
            }
        columns = spec.seq_len * spec.batch_size if every else spec.seq_len
        mode = self.scale_mode()
        log = mode == "signed-log"
        finite = {g: finite_or_zero(a) for g, a in self.data.items()}
        # Ranges from the recorded values themselves (titles and captions give those); on
        # the signed-log scale only the colours map the values' signed log.
        self.groups = scale_groups(spec, finite, stretch=mode != "fixed", log=log)
        shown = {g: signed_log(a) for g, a in finite.items()} if log else finite
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
            # Whose numbers: h is torch's own, every other panel rnnviz's recomputation
            # (checked through h). At float32's limit a recomputed a could read +Inf beside
            # torch's NaN h, with nothing on the figure saying which side drew which.
            source = "torch's" if gate == "h" else "recomputed"
            plot.setTitle(
                f"{gate} — {en}{tape}<br>{zh} [{grp.short}] · {source}", color="k", size="9pt"
            )
            plot.titleLabel.setMinimumWidth(0)
            # A narrow plot clips its title; the whole title stays readable on hover.
            plot.titleLabel.setToolTip(f"{gate} — {en}{tape}\n{zh} [{grp.short}] · {source}")
        for gate, bar in self.bars.items():
            grp = group_of[gate]
            axis = self.bar_axes[gate]
            axis.signed_log = grp.log
            bar.setLevels(grp.levels)
            axis.picture = None  # new tick labels even when the levels did not change
            axis.setLabel(grp.caption_for(gate), color="k", size="8pt")
            axis.update()
        self._show_legend(counts)
        first = self.plots[spec.trace_gates[0]]
        first.setXRange(-0.5, columns - 0.5, padding=0)
        self._set_row_separators(spec, every)
        first.setYRange(-0.5, spec.hidden_size - 0.5, padding=0)
        for gate, plot in self.plots.items():
            if plot.getViewBox().linkedView(pg.ViewBox.YAxis) is None and plot is not first:
                plot.setYRange(-0.5, self._units(spec, gate) - 0.5, padding=0)
        self.image_updates += 1
        self.stack.setCurrentWidget(self.canvas)

    def _set_row_separators(self, spec: Any, every: bool) -> None:
        """Lines between batch rows drawn side by side, and axes that say so."""
        for plot, lines in getattr(self, "_separators", {}).items():
            for line in lines:
                plot.removeItem(line)
        self._separators: dict[Any, list[Any]] = {}
        for plot in self.plots.values():
            axis = plot.getAxis("bottom")
            axis.period = spec.seq_len if every else None
            axis.picture = None  # redraw the tick labels
            axis.update()
            plot.setLabel(
                "bottom",
                "batch row"
                if every and spec.seq_len == 1
                else "t, batch rows side by side"
                if every
                else "t",
            )
            lines = []
            if every:
                for b in range(1, spec.batch_size):
                    line = pg.InfiniteLine(
                        b * spec.seq_len - 0.5,
                        angle=90,
                        movable=False,
                        pen=pg.mkPen((60, 60, 60), width=2),
                    )
                    plot.addItem(line)
                    lines.append(line)
            self._separators[plot] = lines

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
        self.legend.setText(nonfinite_legend(counts))
        self.legend.setToolTip(
            "Values float32 cannot hold (overflow) are drawn in these colours, outside the "
            "colour scale. h is torch's own; the other panels are rnnviz's recomputation, "
            "which at float32's limit can overflow where torch's sum did not (the verdict "
            "counts those)"
        )
        self.legend.setVisible(True)

    def _move_cursors(self, snap: Snapshot, sel: Selection) -> None:
        col = self._col(sel.batch, sel.t)
        self._follow(col)
        for gate in self.t_lines:
            self.t_lines[gate].setValue(col)
            units = self._units(snap.spec, gate)
            self.unit_lines[gate].setValue(min(sel.unit, units - 1))
        gate = "c" if snap.spec.cell == "lstm" else "h"  # the memory tape, else the state
        value = self._value(gate, col, sel.unit)
        where = "" if snap.spec.num_directions == 1 else f" · {_DIRECTION_NAMES[sel.direction]}"
        cell_api = snap.trace.api == "cell"
        if self._figure:
            # A file has no epoch slider beside it: a text model's figure names its epoch.
            name = snap.trace.title + (f" · {snap.source_note}" if snap.source_note else "")
        else:
            name = snap.spec.cell.upper() + ("Cell" if cell_api else "")
        layer = "" if cell_api else f" · layer {sel.layer}"  # a Cell has no layers
        # A figure has no scale picker to read the mode from, so its caption names it.
        mode = f" · {SCALE_MODES[self.scale_mode()]}" if self._figure else ""
        if self._all_rows():
            # Every row is plotted, so the heading must not name one row as what is shown;
            # the row appears after the dash, with the cell the value is read from.
            rows = f" · all {snap.spec.batch_size} batch rows"
            cell = f"batch {sel.batch}, unit {sel.unit}"
        else:
            rows, cell = f" · batch {sel.batch}", f"unit {sel.unit}"
        self.caption.setText(
            f"{name}{layer}{where}{rows}{mode} — {cell}, t {sel.t}: {gate} = {value}"
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
        gate, col, unit = hit
        b, t = self._split(col)
        row = "" if b is None else f"batch {b}, "
        text = f"{gate_label(gate)} · {row}unit {unit}, t {t} = {self._value(gate, col, unit)}"
        self.hover.setText(text)
        self.canvas.setToolTip(text)

    def _clicked(self, event: Any) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        hit = self._hit(event.scenePos())
        if hit is not None:
            _, col, unit = hit
            b, t = self._split(col)
            where = {"t": t, "unit": unit} if b is None else {"batch": b, "t": t, "unit": unit}
            # After the click's own processing, so the view does not start a drag from it.
            QTimer.singleShot(0, lambda: self.state.select(**where))
