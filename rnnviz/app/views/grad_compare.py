"""The Compare page of the Gradients view: RNN tanh, RNN relu, LSTM and GRU on one norm plot.

Same sizes, seed and input as the document's module (rnnviz.grad.chain.compare). The
weight-scale control is the document's own run option (it scales every weight of every
cell, here and in the other views); the forget-gate bias and the clipping threshold are the
compare result's params. The comparison is computed only while this page is on screen.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from rnnviz.app.views.grad_panels import PALETTE, NormPlot
from rnnviz.document.document import COMPARE, Document, ResultKey
from rnnviz.document.selection import Selection
from rnnviz.document.training import shown_epoch


def fresh_note(seed: int) -> str:
    """What a comparison is of while a training epoch is on screen: fresh modules, not the
    trained one (the page's summary and its exported plot say it in these words)."""
    return (
        f"Fresh RNN tanh, RNN relu, LSTM and GRU modules at these sizes (seed {seed}) on "
        "random inputs, not the trained model on screen"
    )


class ComparePage(QWidget):
    """Controls, the overlaid norm plot and the decay ratios of the four cells."""

    def __init__(self, state: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.result: Any = None
        self._wanting = False
        self._lane = (0, "fwd")

        self.scale_spin = QDoubleSpinBox(self)
        self.scale_spin.setPrefix("weights × ")
        self.scale_spin.setDecimals(2)
        self.scale_spin.setRange(0.01, 1e6)
        self.scale_spin.setSingleStep(0.25)
        self.scale_spin.setValue(state.options.weight_scale)
        self.scale_spin.setToolTip(
            "The run option weight_scale: every weight of every cell multiplied by it "
            "(> 1 makes gradients explode). Shared with the other views."
        )
        self.scale_spin.valueChanged.connect(lambda v: self.state.edit_options(weight_scale=v))
        self.bias_check = QCheckBox("forget-gate bias +", self)
        self.bias_check.setToolTip(
            "Add this to the LSTM's forget-gate bias rows (bias_ih[H:2H]), as TensorFlow's "
            "forget_bias=1.0 does (tutorial 002): f starts near σ(1) = 0.73"
        )
        self.bias_spin = QDoubleSpinBox(self)
        self.bias_spin.setRange(-10, 10)
        self.bias_spin.setSingleStep(0.5)
        self.bias_spin.setValue(1.0)
        self.clip_check = QCheckBox("clip ‖∂L/∂θ‖ to", self)
        self.clip_check.setToolTip(
            "torch.nn.utils.clip_grad_norm_(max_norm) on torch's parameter gradients: "
            "the norms before and after are listed below"
        )
        self.clip_spin = QDoubleSpinBox(self)
        self.clip_spin.setRange(1e-3, 1e6)
        self.clip_spin.setValue(1.0)
        for check in (self.bias_check, self.clip_check):
            check.toggled.connect(self._params_edited)
        for spin in (self.bias_spin, self.clip_spin):
            spin.valueChanged.connect(self._params_edited)

        self.plot = NormPlot()
        self.summary = QLabel("the comparison runs while this page is open", self)
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        row = QHBoxLayout()
        row.setContentsMargins(4, 2, 4, 0)
        row.addWidget(self.scale_spin)
        row.addWidget(self.bias_check)
        row.addWidget(self.bias_spin)
        row.addWidget(self.clip_check)
        row.addWidget(self.clip_spin)
        row.addStretch(1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(row)
        lay.addWidget(self.plot, 1)
        lay.addWidget(self.summary)

        state.sigResultChanged.connect(self._result_changed)
        state.sigOptionsChanged.connect(self._options_changed)
        # Entering or leaving a training epoch changes what the summary must say of it.
        state.sigSourceChanged.connect(self._summarise)
        self._params_edited()

    def set_wanting(self, on: bool) -> None:
        """Ask for the comparison (True) or stop asking; called by the view."""
        if on != self._wanting:
            self._wanting = on
            self.state.want(COMPARE, on)

    def set_loss(self, loss: str) -> None:
        """The loss picked in the view applies to the comparison too."""
        self.state.set_params(COMPARE, loss=loss)

    def _params_edited(self, *_: Any) -> None:
        self.bias_spin.setEnabled(self.bias_check.isChecked())
        self.clip_spin.setEnabled(self.clip_check.isChecked())
        self.bias_check.setEnabled(self.state.spec.bias)
        self.state.set_params(
            COMPARE,
            forget_bias=self.bias_spin.value()
            if self.bias_check.isChecked() and self.state.spec.bias
            else None,
            clip=self.clip_spin.value() if self.clip_check.isChecked() else None,
        )

    def _options_changed(self, options: Any) -> None:
        if abs(self.scale_spin.value() - options.weight_scale) > 1e-12:
            self.scale_spin.blockSignals(True)
            self.scale_spin.setValue(options.weight_scale)
            self.scale_spin.blockSignals(False)

    def _result_changed(self, key: ResultKey) -> None:
        if key.kind == COMPARE and key == self.state.key(COMPARE):
            self.result = self.state.results[key]
            self._draw()

    def set_selection(self, sel: Selection) -> None:
        """Show the selected (layer, direction) lane of every cell."""
        self.plot.set_cursor(sel.t)
        lane = (sel.layer, sel.direction)
        if lane != self._lane:
            self._lane = lane
            self._draw()

    def lane(self) -> tuple[int, str]:
        """The (layer, direction) the plot draws: the selected lane, or layer 0 forward
        when the comparison has no such lane."""
        if self.result is not None and self._lane not in self.result.entries[0].norms:
            return (0, "fwd")
        return self._lane

    def _draw(self) -> None:
        res = self.result
        if res is None:
            return
        self.plot.clear_curves()
        first = res.entries[0]
        lane = self.lane()
        for k, e in enumerate(res.entries):
            self.plot.add_curve(e.label, e.norms[lane], PALETTE[k])
        spec = first.spec
        where = f"layer {lane[0]}" + (f" {lane[1]}" if spec.bidirectional else "")
        settings = [f"loss {res.loss}", f"weights × {res.weight_scale:g}"]
        if res.forget_bias is not None:
            settings.append(f"LSTM forget bias +{res.forget_bias:g}")
        self.plot.getPlotItem().setTitle(
            f"‖∂L/∂h_t‖₂, {where}: {spec.input_size} → {spec.hidden_size}, "
            f"{spec.num_layers} layer(s), T = {spec.seq_len}, batch {spec.batch_size}, "
            + ", ".join(settings),
            color="k",
            size="9pt",
        )
        self.plot.getPlotItem().enableAutoRange()
        self._summarise()

    def _summarise(self, *_: Any) -> None:
        """The decay table under the plot, saying whether a training epoch is on screen
        (redone alone when one comes or goes: the plot and its zoom stay as they are)."""
        res = self.result
        if res is None:
            return
        # Imported here: rnnviz.grad imports torch, which must not load while the window is
        # built (launch → window visible); a result on screen means torch is loaded anyway.
        from rnnviz.grad.text import decay_header, decay_lines

        header = decay_header(res)
        if shown_epoch(self.state) is not None:
            # The Gradients page above is the trained epoch's RNN; this one never is.
            header = fresh_note(self.state.options.seed) + ". " + header
        self.summary.setText(header + "\n" + "\n".join(decay_lines(res)))
