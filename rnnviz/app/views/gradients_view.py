"""The Gradients view: backward through time, drawn from the grad and compare results.

Pages: the norm plot ‖∂L/∂h_t‖ (and ‖∂L/∂c_t‖ for LSTM) per lane with the ∂L/∂h_t heatmap
of the selected lane; the chain of step Jacobians back from the selected t; gate saturation;
and the comparison of RNN tanh / RNN relu / LSTM / GRU. Every number is a field of a record
computed by a job (rnnviz.grad.result.GradResult, rnnviz.grad.chain.Comparison); this module
only formats and draws them. It asks for gradients only while shown (`want("grad")`), and
for the heavy comparison only while its page is shown (`want("compare")`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from rnnviz.app.views.grad_compare import ComparePage
from rnnviz.app.views.grad_panels import (
    NO_GATES,
    PALETTE,
    ChainPlot,
    GradHeatmap,
    NormPlot,
    SaturationPlot,
)
from rnnviz.app.widgets import sync_lane_pickers
from rnnviz.document.document import GRAD, Document, ResultKey
from rnnviz.document.selection import Selection
from rnnviz.document.training import EpochSource

LOSS_TIPS = {
    "last": "L = Σ output[T−1]: the last step's output, summed over batch and features",
    "sum": "L = Σ output: every step's output contributes",
    "hn": "L = Σ h_n: every layer's final hidden state",
}


class GradientsView(QWidget):
    """∂L/∂h_t through time for the document's module, linked to the selection."""

    def __init__(self, state: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.result: Any = None  # the GradResult on screen (may be for an older spec)
        self._source: Any = None  # its key's source (an EpochSource in text mode)
        self._wanting = False
        self._shown_key: Any = None

        self.loss_combo = QComboBox(self)
        for name in ("last", "sum", "hn"):
            self.loss_combo.addItem(f"loss: {name}", name)
            self.loss_combo.setItemData(
                self.loss_combo.count() - 1, LOSS_TIPS[name], Qt.ItemDataRole.ToolTipRole
            )
        self.loss_combo.setToolTip("\n".join(LOSS_TIPS.values()))
        self.loss_combo.currentIndexChanged.connect(self._loss_picked)
        self.layer_spin = QSpinBox(self)
        self.layer_spin.setPrefix("layer ")
        self.layer_spin.valueChanged.connect(lambda v: self.state.select(layer=v))
        self.direction_combo = QComboBox(self)
        self.direction_combo.currentIndexChanged.connect(self._direction_picked)
        self.batch_spin = QSpinBox(self)
        self.batch_spin.setPrefix("batch ")
        self.batch_spin.valueChanged.connect(lambda v: self.state.select(batch=v))
        self.export_button = QToolButton(self)
        self.export_button.setText("Export…")
        self.export_button.setToolTip("Save the plot on this page as PNG or SVG, its data as CSV")
        self.export_button.clicked.connect(self.export_dialog)
        self.caption = QLabel("gradients are computed while this view is open", self)
        self.caption.setWordWrap(True)
        self.caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        self.norms = NormPlot()
        self.norms.setMinimumHeight(140)
        self.heatmap = GradHeatmap(lambda t, u: self.state.select(t=t, unit=u), self._hover)
        self.heatmap.setMinimumHeight(120)
        self.hover = QLabel(self)
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(self.norms)
        split.addWidget(self.heatmap)
        split.setSizes([300, 220])
        norms_page = QWidget(self)
        lay = QVBoxLayout(norms_page)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(split, 1)
        lay.addWidget(self.hover)

        self.chain = ChainPlot()
        self.chain_text = QLabel(self)
        self.chain_text.setWordWrap(True)
        self.chain_text.setTextFormat(Qt.TextFormat.RichText)
        self.chain_text.setAlignment(Qt.AlignmentFlag.AlignTop)
        chain_page = QSplitter(Qt.Orientation.Vertical, self)
        chain_page.addWidget(self.chain)
        chain_page.addWidget(self.chain_text)
        chain_page.setSizes([320, 200])

        self.saturation = SaturationPlot(lambda u: self.state.select(unit=u))
        self.saturation_text = QLabel(self)
        self.saturation_text.setWordWrap(True)
        sat_page = QWidget(self)
        lay = QVBoxLayout(sat_page)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.saturation, 1)
        lay.addWidget(self.saturation_text)

        self.compare = ComparePage(state, self)

        self.pages = QTabWidget(self)
        self.pages.addTab(norms_page, "Norms")
        self.pages.addTab(chain_page, "Chain")
        self.pages.addTab(sat_page, "Saturation")
        self.pages.addTab(self.compare, "Compare")
        self.pages.currentChanged.connect(self._page_changed)

        row = QHBoxLayout()
        row.setContentsMargins(4, 2, 4, 0)
        for w in (self.loss_combo, self.layer_spin, self.direction_combo, self.batch_spin):
            row.addWidget(w)
        row.addStretch(1)
        row.addWidget(self.export_button)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(2)
        outer.addLayout(row)
        outer.addWidget(self.caption)
        outer.addWidget(self.pages, 1)

        state.sigResultChanged.connect(self._result_changed)
        state.sigSelectionChanged.connect(self._selection_changed)
        state.sigSpecChanged.connect(self._caption_stale)
        state.sigOptionsChanged.connect(self._caption_stale)
        # A training epoch moved (or random inputs again): the gradients are keyed by it.
        state.sigSourceChanged.connect(self._caption_stale)
        state.sigParamsChanged.connect(self._params_changed)
        current = state.result(GRAD)
        if current is not None:
            self._show(current, state.key(GRAD).source)

    @property
    def source(self) -> Any:
        """The source of the gradients on screen, from their key: an EpochSource for a
        training epoch's RNN, None for random inputs."""
        return self._source

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(640, 620)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(200, 200)

    # ---- wanted only while visible -----------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt API
        """Shown: ask the document for gradients (and the comparison if its page is up)."""
        super().showEvent(event)
        self._set_wanting(True)

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802 - Qt API
        """Hidden (another tab, the dock closed, the window closed): stop asking."""
        super().hideEvent(event)
        self._set_wanting(False)

    def _set_wanting(self, on: bool) -> None:
        if on != self._wanting:
            self._wanting = on
            self.state.want(GRAD, on)
        self.compare.set_wanting(on and self.pages.currentWidget() is self.compare)

    def _page_changed(self, _index: int) -> None:
        self._set_wanting(self._wanting)

    # ---- pickers --------------------------------------------------------------------------------
    def _loss_picked(self, _index: int) -> None:
        loss = self.loss_combo.currentData()
        self.state.set_params(GRAD, loss=loss)
        self.compare.set_loss(loss)

    def _params_changed(self, kind: str) -> None:
        if kind == GRAD:
            loss = self.state.params.get(GRAD, {}).get("loss", "last")
            index = self.loss_combo.findData(loss)
            if index >= 0 and index != self.loss_combo.currentIndex():
                self.loss_combo.setCurrentIndex(index)
            self._caption_stale()

    def _direction_picked(self, index: int) -> None:
        d = self.direction_combo.itemData(index)
        if d:
            self.state.select(direction=d)

    def _sync_pickers(self, sel: Selection) -> None:
        sync_lane_pickers(
            self.layer_spin, self.direction_combo, self.batch_spin, self.result.spec, sel
        )

    # ---- document → view -----------------------------------------------------------------------
    def _result_changed(self, key: ResultKey) -> None:
        if key.kind == GRAD and key == self.state.key(GRAD):
            self._show(self.state.results[key], key.source)

    def _caption_stale(self, *_: Any) -> None:
        if self.result is not None and self.state.result(GRAD) is not self.result:
            gt = self.result.grads
            # Which epoch they are of, when a training epoch was differentiated (its key's
            # source, kept when it was shown).
            src, epoch = self._source, ""
            if isinstance(src, EpochSource):
                from rnnviz.text.notes import epoch_note

                epoch = ", " + epoch_note(src.epoch, src.sequence)
            self.caption.setText(
                f"showing the last finished gradients ({self.result.spec.title()}{epoch}, "
                f"loss {gt.loss}); new ones are computed while this view is open"
            )

    def selection(self) -> Selection:
        """The document's selection clamped to the spec of the gradients on screen."""
        from rnnviz.document.selection import clamp_selection

        return clamp_selection(self.state.selection, self.result.spec)

    def _show(self, result: Any, source: Any = None) -> None:
        # rnnviz.grad imports torch, which must not load while the window is built (launch →
        # window visible); with a gradient result on screen torch is loaded anyway.
        from rnnviz.grad.text import grad_badge_text, lane_name, norms_note

        self.result = result
        self._source = source  # the key's source: the epoch the gradients are of, or None
        self._shown_key = None
        gt = result.grads
        probe = ""
        if isinstance(source, EpochSource):
            # A training epoch's gradients: of that epoch's RNN on the training input, for
            # the picker's probe on the RNN's own output; its optimizer stepped on the
            # training loss instead. The epoch is the result's own (its key's source), not
            # the trace's on screen, which may land before or after it.
            head = source.request.settings.head
            through = "through the Linear head" if head != "none" else "on h itself, no head"
            one = f", sequence {source.sequence}" if source.sequence is not None else ""
            probe = (
                f" — epoch {source.epoch}'s RNN on the training input{one}; the loss is a "
                f"probe on the RNN's output, not the training loss ({through}) the "
                "optimizer used"
            )
            from rnnviz.text.notes import PADDED_NOTE

            if PADDED_NOTE in gt.trace.notes:
                # Sequences of several lengths: the probe differentiates the padded batch.
                probe += (
                    "; lengths differ, so this is the padded batch: steps past a sequence's "
                    "length are padding the packed training run never computed"
                )
        self.caption.setText(
            grad_badge_text(gt) + f" · loss {gt.loss} = {gt.loss_value:.6g}{probe}"
        )
        self.norms.clear_curves()
        spec = gt.spec
        k = 0
        for layer in range(spec.num_layers):
            for d in spec.directions:
                colour = PALETTE[k % len(PALETTE)]
                self.norms.add_curve(f"h {lane_name(spec, layer, d)}", gt.norms(layer, d), colour)
                if spec.cell == "lstm":
                    self.norms.add_curve(
                        f"c {lane_name(spec, layer, d)}", gt.c_norms(layer, d), colour, True
                    )
                k += 1
        # A log axis cannot place 0, NaN or ±Inf: say so when that leaves nothing drawn,
        # rather than show an empty plot; and when a curve just stops (a gradient that
        # vanished to 0), say why, and where float32 has few bits left.
        note = ""
        if self.norms.drawable():
            note = norms_note(list(self.norms.data.values()), gt.trace.tensors["input"].dtype)
        self.norms.getPlotItem().setTitle(
            "‖∂L/∂h_t‖₂ over batch × units"
            + (" (dashed: ‖∂L/∂c_t‖₂)" if spec.cell == "lstm" else "")
            + ("" if self.norms.drawable() else " — none to draw: every norm is 0, NaN or ±Inf")
            + (f"<br><span style='font-size:8pt'>{note}</span>" if note else ""),
            color="k",
            size="9pt",
        )
        self.norms.getPlotItem().enableAutoRange()
        self._selection_changed(self.state.selection)

    def _selection_changed(self, _sel: Selection) -> None:
        if self.result is None:
            return
        from rnnviz.grad.text import lane_name  # see _show

        sel = self.selection()
        self._sync_pickers(sel)
        gt = self.result.grads
        lane = (sel.layer, sel.direction, sel.batch)
        if lane != self._shown_key:
            self._shown_key = lane
            self.heatmap.set_data(
                gt.dh[(sel.layer, sel.direction)][:, sel.batch, :],
                f"∂L/∂h_t, {lane_name(gt.spec, sel.layer, sel.direction)}, batch {sel.batch}",
            )
            self._show_saturation(sel)
        self.norms.set_cursor(sel.t)
        self.heatmap.set_cursor(sel.t, min(sel.unit, gt.spec.out_hidden - 1))
        self.saturation.mark_unit(sel.unit)
        self._show_chain(sel)
        self.compare.set_selection(sel)

    def _hover(self, text: str) -> None:
        self.hover.setText(text)

    def _show_chain(self, sel: Selection) -> None:
        from rnnviz.grad.reach import reached  # see _show
        from rnnviz.grad.text import chain_text

        res = self.result
        cf = res.chains.get((sel.layer, sel.direction, sel.batch))
        if cf is None:
            self.chain.show_chain(np.zeros(0), np.zeros(0), np.zeros(0), None, None)
            note = res.chain_note or "chain not computed for this batch row"
            self.chain_text.setText(note)
            return
        steps = cf.steps(sel.t, sel.direction)
        sb = cf.step_bound[steps] if cf.step_bound is not None else None
        got = reached(res.grads, sel.layer, sel.direction, sel.batch, steps)
        self.chain.show_chain(
            steps,
            cf.factor[steps],
            cf.running_product(sel.t, sel.direction),
            sb,
            cf.bound,
            got,
            state="(h,c)" if res.spec.cell == "lstm" else "h",
        )
        self.chain_text.setText(chain_text(res, sel.layer, sel.direction, sel.batch, sel.t))

    def _show_saturation(self, sel: Selection) -> None:
        from rnnviz.grad.text import lane_name  # see _show

        res = self.result
        spec = res.spec
        fractions = {
            g: (s.left, s.right)
            for (layer, d, g), s in res.saturation.items()
            if (layer, d) == (sel.layer, sel.direction)
        }
        self.saturation.show_gates(fractions)
        if not fractions:
            self.saturation_text.setText(NO_GATES)
            return
        parts = []
        for g, (left, right) in fractions.items():
            part = (
                f"{g}: {int(((left + right) > 0.5).sum())} of {len(left)} units saturated "
                "more than half the time"
            )
            # Coinciding points draw as one: say so, or 32 units at (0, 0) read as one.
            spots = len(set(zip(left.tolist(), right.tolist())))
            if spots == 1 and len(left) > 1:
                part += f" (all {len(left)} points at ({left[0]:.0%}, {right[0]:.0%}))"
            elif spots < len(left):
                part += f" ({len(left)} points at {spots} places)"
            parts.append(part)
        self.saturation_text.setText(
            f"{lane_name(spec, sel.layer, sel.direction)}, all {spec.batch_size} batch row(s) "
            f"× {spec.seq_len} steps. " + "; ".join(parts) + ". Click a point to select its unit."
        )

    # ---- export ---------------------------------------------------------------------------------
    def current_plot(self) -> Any:
        """The plot widget of the page on screen (what Export… saves)."""
        page = self.pages.currentWidget()
        if page is self.compare:
            return self.compare.plot
        return {0: self.norms, 1: self.chain, 2: self.saturation}[self.pages.currentIndex()]

    def export_dialog(self) -> None:
        """Save the current page's plot (PNG/SVG, drawn by Qt) or its data (CSV)."""
        from rnnviz.app.drawing.grad_render import save_plot

        path, _ = QFileDialog.getSaveFileName(
            self, "Export plot", "gradients.png", "PNG (*.png);;SVG (*.svg);;CSV (*.csv)"
        )
        if path:
            from rnnviz.io.atomic import WriteError
            from rnnviz.io.export import ExportError

            try:
                save_plot(self, path)
            except (ExportError, WriteError) as exc:
                QMessageBox.warning(self, "Export plot", str(exc))
