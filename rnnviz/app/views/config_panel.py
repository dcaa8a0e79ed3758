"""The configuration form: one widget per Spec field and run option, errors shown inline.

An edit sends the field that was edited — and only the fields the user has edited since the
state last accepted them — to `state.edit_spec` / `state.edit_options`. Nothing else is sent,
so a loaded session's other values (a seed of 2**40, weight_scale 1e-5) stay exactly as they
are; and a combination that is invalid now (proj_size 6 with hidden_size 6) becomes valid as
soon as another field makes it so (hidden_size 8), without the user retyping it. Every
widget holds every value its field accepts (`exact_spin`), so nothing is clamped or rounded. A refused edit leaves the state, and the
last good trace on screen, untouched; the reason appears in red under the offending field.
When the state's spec changes from elsewhere (a preset, a session) the widgets follow with
their signals blocked, so loading never echoes back as an edit.
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from rnnviz.app.views.exact_spin import BigIntSpinBox, ExactDoubleSpinBox
from rnnviz.app.widgets import FittedButton
from rnnviz.config.api import CELL, MODULE, check_api, class_name, title
from rnnviz.config.budget import PARAM_COPIES, estimate, human
from rnnviz.config.options import INIT_KINDS, INPUT_KINDS, SEEDINGS, STEPPERS, RunOptions
from rnnviz.config.spec import CELLS, MAX_BATCH, MAX_LAYERS, MAX_SEQ, MAX_SIZE, NONLINEARITIES, Spec
from rnnviz.document.document import Document

#: Integer spec fields: (field, label, minimum, maximum, tooltip). Maxima are the Spec's own
#: bounds, so a spec from the CLI or a session is never clamped by the widget.
INT_FIELDS = (
    ("input_size", "input_size", 1, MAX_SIZE, "Features per timestep (x_t has this many)"),
    ("hidden_size", "hidden_size", 1, MAX_SIZE, "Units in h_t and c_t"),
    ("num_layers", "num_layers", 1, MAX_LAYERS, "Stacked layers; layer k reads layer k−1's h"),
    (
        "proj_size",
        "proj_size",
        0,
        MAX_SIZE,
        "LSTM only: project h_t down to this size (0 = off; must be < hidden_size)",
    ),
    ("seq_len", "seq_len", 1, MAX_SEQ, "Timesteps in the input (T)"),
    ("batch_size", "batch_size", 1, MAX_BATCH, "Sequences run side by side (N)"),
)
BOOL_FIELDS = (
    ("bidirectional", "bidirectional", "Also run the sequence backwards; outputs concatenate"),
    ("batch_first", "batch_first", "Input and output as (N, T, features) instead of (T, N, …)"),
    ("bias", "bias", "Learnable biases b_ih and b_hh"),
)
#: Where an error about something that is not a widget is shown.
GENERAL = "general"
#: Largest seed (RunOptions' own bound); the seed box holds any Python int up to it.
SEED_MAX = 2**63 - 1
#: Largest dropout the Spec accepts ([0, 1)): the float just below 1.
DROPOUT_MAX = math.nextafter(1.0, 0.0)
#: Smallest weight_scale the box shows (the RunOptions accept any number in (0, 1e6]; below
#: 1e-300 Qt's 323 decimals would round; a smaller loaded value is kept and flagged, see load).
SCALE_MIN = 1e-300
SPEC_FIELDS = frozenset(
    ("cell", "nonlinearity", "dropout", *(f[0] for f in INT_FIELDS), *(f[0] for f in BOOL_FIELDS))
)
OPTION_FIELDS = frozenset(("seed", "input_kind", "init", "weight_scale", "stepper"))


def constructor_line(spec: Spec, options: RunOptions) -> str:
    """What torch builds: `spec.title()`, or `LSTMCell(5, 6)` when a *Cell is stepped
    (`rnnviz.config.api.title`, the line every view shows)."""
    return title(spec, options.api)


class ConfigPanel(QWidget):
    """Spec and run-option widgets bound to an Document (see module docstring)."""

    def __init__(self, state: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.widgets: dict[str, QWidget] = {}
        self.errors: dict[str, QLabel] = {}

        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)
        self.title = QLabel(self)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.title.setWordWrap(True)
        self.title.setStyleSheet("font-family: monospace; font-weight: bold;")
        self.title.setToolTip("The torch constructor this configuration builds")
        outer.addWidget(self.title)
        #: Tutorial 001's lesson: the same weights as nn.RNN or as RNNCell, one click apart.
        # A long constructor would widen the whole panel past a laptop's dock: the button
        # takes the dock's width and shortens to "Show as RNNCell(…)" when the call does
        # not fit (the whole call leads its tooltip).
        self.api_button = FittedButton(self)
        self.api_button.clicked.connect(self.toggle_api)
        outer.addWidget(self.api_button)
        self.memory = QLabel(self)
        self.memory.setWordWrap(True)
        self.memory.setToolTip(
            "Estimated peak memory to build, trace and draw this "
            "configuration (checked against the memory budget)"
        )
        outer.addWidget(self.memory)

        spec_box = QGroupBox("Module", self)
        self.spec_form = QFormLayout(spec_box)
        cell = QComboBox(self)
        cell.addItems([c for c in CELLS])
        cell.setToolTip("nn.RNN, nn.LSTM or nn.GRU")
        self._add(self.spec_form, "cell", "cell", cell)
        for name, label, lo, hi, tip in INT_FIELDS:
            box = QSpinBox(self)
            box.setRange(lo, hi)
            box.setKeyboardTracking(False)  # commit typed numbers on Enter, not per digit
            box.setToolTip(tip)
            if name == "proj_size":
                box.setSpecialValueText("0 (off)")
            self._add(self.spec_form, name, label, box)
        for name, label, tip in BOOL_FIELDS:
            check = QCheckBox(self)
            check.setToolTip(tip)
            self._add(self.spec_form, name, label, check)
        nl = QComboBox(self)
        nl.addItems(list(NONLINEARITIES))
        nl.setToolTip("Activation of nn.RNN (LSTM and GRU have fixed activations)")
        self._add(self.spec_form, "nonlinearity", "nonlinearity", nl)
        dropout = ExactDoubleSpinBox(self)
        dropout.set_exact_range(0.0, DROPOUT_MAX)
        dropout.setSingleStep(0.05)
        dropout.setKeyboardTracking(False)
        dropout.setToolTip(
            "Dropout between layers; acts only in training, so the traced (eval) pass is unaffected"
        )
        self._add(self.spec_form, "dropout", "dropout", dropout)
        outer.addWidget(spec_box)

        run_box = QGroupBox("Run", self)
        self.run_form = QFormLayout(run_box)
        # Shown while the views show a trained text model's epoch: a wrapped line, since a
        # group-box title cannot wrap and the full sentence widened the dock past 1280 px's.
        self.run_unused = QLabel(self)
        self.run_unused.setWordWrap(True)
        self.run_unused.setStyleSheet("color: #8a5a00")
        self.run_unused.hide()
        self.run_form.addRow(self.run_unused)
        kind = QComboBox(self)
        kind.addItems(list(INPUT_KINDS))
        kind.setToolTip("The input x: seeded randn, zeros or ones")
        self._add(self.run_form, "input_kind", "input", kind)
        init = QComboBox(self)
        init.addItems(list(INIT_KINDS))
        init.setToolTip("Initial h0 (and c0): zeros as torch defaults, or seeded randn")
        self._add(self.run_form, "init", "h0 / c0", init)
        seed = BigIntSpinBox(self)
        seed.setRange(0, SEED_MAX)
        seed.setToolTip("Seed for weights, input and initial state")
        self._add(self.run_form, "seed", "seed", seed)
        scale = ExactDoubleSpinBox(self)
        scale.set_exact_range(SCALE_MIN, 1e6)
        scale.setSingleStep(0.5)
        scale.setKeyboardTracking(False)
        scale.setToolTip("Multiply every weight after init (> 1 shows exploding values)")
        self._add(self.run_form, "weight_scale", "weight scale", scale)
        stepper = QComboBox(self)
        stepper.addItems(list(STEPPERS))
        stepper.setToolTip(
            "module: nn.RNN/LSTM/GRU; cell: step nn.*Cell by hand (one layer, one direction)"
        )
        self._add(self.run_form, "stepper", "stepper", stepper)
        seeding = QComboBox(self)
        seeding.addItems(list(SEEDINGS))
        seeding.setToolTip(
            "separate: weights from manual_seed(seed), x and h0 from their own generator; "
            "tutorial: the tutorials' order — torch.manual_seed(seed), build the module, "
            "x = torch.randn(…), h0 = torch.randn(…) — so a pasted example's numbers match"
        )
        self._add(self.run_form, "seeding", "seeding", seeding)
        outer.addWidget(run_box)
        self.run_box = run_box

        self.errors[GENERAL] = self._error_label()
        outer.addWidget(self.errors[GENERAL])
        outer.addStretch(1)

        self._loading = False
        self._committing = False
        #: Fields edited by the user and not yet accepted by the state (see module docstring).
        self._touched: set[str] = set()
        self.load(state.spec, state.options)
        state.sigSpecChanged.connect(self._state_changed)
        state.sigOptionsChanged.connect(self._state_changed)
        state.sigSpecError.connect(self.show_error)
        state.sigSnapshotChanged.connect(self._snapshot_source)
        for name, w in self.widgets.items():
            self._connect(name, w)

    # ---- construction helpers ----------------------------------------------------------------
    def _error_label(self) -> QLabel:
        label = QLabel(self)
        label.setWordWrap(True)
        label.setStyleSheet("color: #c62828;")
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        label.hide()
        return label

    def _add(self, form: QFormLayout, name: str, label: str, widget: QWidget) -> None:
        widget.setObjectName(name)
        self.widgets[name] = widget
        form.addRow(label, widget)
        err = self._error_label()
        self.errors[name] = err
        form.addRow("", err)

    def _connect(self, name: str, w: QWidget) -> None:
        def edited(*_: Any) -> None:
            self._edited(name)

        if isinstance(w, QComboBox):
            w.currentTextChanged.connect(edited)
        elif isinstance(w, QCheckBox):
            w.toggled.connect(edited)
        elif isinstance(w, (QSpinBox, QDoubleSpinBox, BigIntSpinBox)):
            w.valueChanged.connect(edited)

    # ---- reading and writing the widgets -------------------------------------------------------
    def value(self, name: str) -> Any:
        """The current value of the widget for field `name`."""
        w = self.widgets[name]
        if isinstance(w, QComboBox):
            return w.currentText()
        if isinstance(w, QCheckBox):
            return w.isChecked()
        if isinstance(w, QDoubleSpinBox):
            return round(w.value(), w.decimals())
        assert isinstance(w, (QSpinBox, BigIntSpinBox))
        return w.value()

    def _put(self, name: str, value: Any) -> None:
        w = self.widgets[name]
        w.blockSignals(True)
        try:
            if isinstance(w, QComboBox):
                w.setCurrentText(str(value))
            elif isinstance(w, QCheckBox):
                w.setChecked(bool(value))
            elif isinstance(w, (QSpinBox, QDoubleSpinBox, BigIntSpinBox)):
                w.setValue(value)
        finally:
            w.blockSignals(False)

    def spec_values(self) -> dict[str, Any]:
        """The spec fields as the form shows them (nonlinearity forced to tanh off rnn)."""
        values = {
            name: self.value(name)
            for name in (
                "cell",
                *(f[0] for f in INT_FIELDS),
                *(f[0] for f in BOOL_FIELDS),
                "nonlinearity",
                "dropout",
            )
        }
        if values["cell"] != "rnn":
            values["nonlinearity"] = "tanh"  # the combo is disabled; torch's rule, not a choice
        return values

    def option_values(self) -> dict[str, Any]:
        """The run options as the form shows them."""
        return {
            name: self.value(name)
            for name in ("seed", "input_kind", "init", "weight_scale", "stepper", "seeding")
        }

    def load(self, spec: Spec, options: RunOptions) -> None:
        """Show `spec` and `options` in the widgets without sending any edit."""
        self._loading = True
        try:
            for name, value in spec.to_dict().items():
                if name in self.widgets:
                    self._put(name, value)
            for name, value in options.to_dict().items():
                if name in self.widgets:
                    self._put(name, value)
        finally:
            self._loading = False
        self._touched.clear()  # what is shown is now the state: nothing pending
        self._refresh_labels(spec)
        self._flag_unshown({**spec.to_dict(), **options.to_dict()})

    def _flag_unshown(self, values: dict[str, Any]) -> None:
        """Say so under any field whose widget cannot show the state's value exactly (the
        state keeps it: only an edit of that field would change it)."""
        for name, value in values.items():
            shown = name in self.widgets and name in SPEC_FIELDS | OPTION_FIELDS
            if shown and self.value(name) != value:
                label = self.errors[name]
                label.setText(
                    f"{value!r} is kept, but this box cannot show it "
                    f"(it shows {self.value(name)!r}); editing it replaces the value"
                )
                label.show()

    # ---- reacting ------------------------------------------------------------------------------
    def _pending(self, fields: frozenset[str]) -> dict[str, Any]:
        """The touched fields among `fields`, with their widget values."""
        values = {n: self.value(n) for n in self._touched if n in fields}
        if "cell" in values and values["cell"] != "rnn" and self.state.spec.nonlinearity != "tanh":
            values["nonlinearity"] = "tanh"  # the combo is disabled; torch's rule, not a choice
        return values

    def _send(self, fields: frozenset[str]) -> bool:
        """Send the touched `fields` to the state; True (and no longer pending) if accepted."""
        values = self._pending(fields)
        if not values:
            return True
        edit = self.state.edit_spec if fields is SPEC_FIELDS else self.state.edit_options
        if edit(**values):
            self._touched -= fields
            return True
        return False

    def _edited(self, name: str) -> None:
        if self._loading:
            return
        self._update_enabled()
        self._touched.add(name)
        if name == "cell" and self.value("cell") != "rnn":
            self._touched.discard("nonlinearity")
        # Spec first: options are checked against it (stepper cell needs one layer); if the
        # spec is refused because of the options, the options may be what makes it valid.
        # While committing, the form is the source: a reload from the state in between
        # would wipe values not yet sent.
        self._committing = True
        try:
            if self._send(SPEC_FIELDS):
                self._send(OPTION_FIELDS)
            elif self._pending(OPTION_FIELDS) and self._send(OPTION_FIELDS):
                self._send(SPEC_FIELDS)
        finally:
            self._committing = False
        self._refresh_labels(self.state.spec)

    def _state_changed(self, *_: Any) -> None:
        # A change from elsewhere (preset, session): show it. Signals are blocked meanwhile.
        if not self._committing:
            self.load(self.state.spec, self.state.options)

    def _snapshot_source(self, snap: Any) -> None:
        # A trained text model's epoch (Training tab) is not run on these random inputs:
        # say so rather than show "input randn" beside a trace of one-hot "hello".
        epoch = getattr(snap, "epoch", None)
        self.run_box.setTitle(f"Run (unused: epoch {epoch})" if epoch else "Run")
        self.run_unused.setText(
            f"The views show training epoch {epoch} (Training tab), not these inputs; edit "
            "any field to go back to them."
            if epoch
            else ""
        )
        self.run_unused.setVisible(bool(epoch))

    def _update_enabled(self) -> None:
        rnn = self.value("cell") == "rnn"
        self.widgets["nonlinearity"].setEnabled(rnn)
        if not rnn:
            self._put("nonlinearity", "tanh")

    def toggle_api(self) -> None:
        """Switch between the module and its *Cell, keeping every other field and option."""
        other = MODULE if self.state.options.api == CELL else CELL
        self._put("stepper", "cell" if other == CELL else "module")
        self._edited("stepper")

    def _refresh_labels(self, spec: Spec) -> None:
        self._update_enabled()
        options = self.state.options
        self.title.setText(constructor_line(spec, options))
        other = MODULE if options.api == CELL else CELL
        full = f"Show as {title(spec, other)}"
        short = f"Show as {class_name(spec, other)}(…)"
        try:
            check_api(spec, other)
            self.api_button.setEnabled(True)
            tip = (
                f"Run the same weights as {class_name(spec, other)}: tutorial 001's "
                "RNNCell-against-RNN lesson, every other setting kept"
            )
        except ValueError as exc:
            self.api_button.setEnabled(False)
            tip = str(exc)
        self.api_button.set_texts(full, short, tip)
        est = estimate(spec)
        # The estimate holds the parameters twice (the module's and the trace's copy): say
        # so, "parameters 1.3 KiB" read as the size of RNN(5, 6, 2)'s 162 floats (648 B).
        self.memory.setText(
            f"≈ {human(est.total)} to trace and draw "
            f"(gates {human(est.gates)}, parameters {PARAM_COPIES} × "
            f"{human(est.parameters // PARAM_COPIES)})"
        )

    def show_error(self, field: str, message: str) -> None:
        """Show `message` in red under `field` (or under the form); "" clears every message."""
        for label in self.errors.values():
            label.hide()
            label.clear()
        if not message:
            return
        label = self.errors.get(field, self.errors[GENERAL])
        label.setText(message)
        label.show()
