"""The Training view: text in, model around, training live.

Controls write the document's text settings (`set_text`); Train, Pause and Cancel write a
training request, the "train" pause flag and a per-kind cancel; the runner trains on its own
lane and streams every epoch back as a partial TrainingHistory. The view draws that history
(loss curve, per-epoch predictions) and, from the TextSnapshot of the shown epoch, every
stage of the pipeline around the RNN with its shape and values. The epoch slider asks the
document to show an epoch; the graph, gate heatmaps, equations and shapes then follow, since
they draw `doc.snapshot`. Nothing here runs torch.
"""

from __future__ import annotations

from html import escape
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSlider,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from rnnviz.app.views.axes import IndexAxis
from rnnviz.app.views.exact_spin import BigIntSpinBox, ExactDoubleSpinBox
from rnnviz.app.views.training_words import (
    CLASS_STAGES,
    PER_STEP_STAGES,
    epoch_text,
    kept_text,
    pause_word,
    percent,
    separate_classes,
)
from rnnviz.app.widgets import WrappedLabel
from rnnviz.config.spec import CELLS, SpecError
from rnnviz.document.document import Document
from rnnviz.document.jobs import torch_loaded
from rnnviz.document.training import (
    TRAIN,
    TextSnapshot,
    attach,
    history,
    request_training,
    set_following,
    set_text,
    show_epoch,
    shown_epoch,
    text_settings,
)
from rnnviz.text.presets import TEXT_PRESETS
from rnnviz.text.settings import TextSettings

#: The lr box's smallest value (TextSettings takes any lr > 0; Qt's range rounds a
#: subnormal minimum to 0.0, which the arrows then reached).
LR_MIN = 1e-12
#: The seed box's largest value: TextSettings' own bound.
SEED_MAX = 2**63 - 1


#: Shortest time between two redraws of the loss curve and predictions while training (ms).
REPAINT_MS = 100
#: How many values a stage table shows at most (a long text's one-hot is large).
MAX_CELLS = 2000


def _fmt(v: Any) -> str:
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.4f}"
    if isinstance(v, (bool, np.bool_)):
        return "True" if v else "False"
    return str(v)


def _fill(
    table: QTableWidget,
    header: list[str],
    rows: list[list[str]],
    vlabels: list[str],
    resize: bool = True,
) -> None:
    table.clear()
    table.setColumnCount(len(header))
    table.setRowCount(len(rows))
    table.setHorizontalHeaderLabels(header)
    table.setVerticalHeaderLabels(vlabels)
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            item = QTableWidgetItem(text)
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            table.setItem(r, c, item)
    if resize:  # measures every item: fine for a stage, too slow for thousands of epochs
        table.resizeColumnsToContents()


def stage_rows(value: np.ndarray) -> tuple[list[str], list[list[str]], list[str]]:
    """A stage's array as a table: (column header, rows of strings, row labels). 0-d is one
    cell, 1-d one row, n-d rows indexed by every leading index (e.g. "[t, b]")."""
    if value.ndim == 0:
        return ["value"], [[_fmt(value.item())]], [""]
    if value.ndim == 1:
        return [str(i) for i in range(value.shape[0])], [[_fmt(v) for v in value]], [""]
    flat = value.reshape(-1, value.shape[-1])
    labels = [str(list(idx)) for idx in np.ndindex(*value.shape[:-1])]
    keep = max(1, MAX_CELLS // max(1, value.shape[-1]))
    rows = [[_fmt(v) for v in row] for row in flat[:keep]]
    return [str(i) for i in range(value.shape[-1])], rows, labels[:keep]


class TrainingView(QWidget):
    """Controls, Train/Pause/Cancel, epoch slider, loss curve, predictions and stages."""

    def __init__(self, state: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self._loading = False
        #: (the training request that failed, why): shown only while that request is the
        #: document's (`_failure_now`); a new request (Train, a run file) leaves it behind.
        self._failure: tuple[Any, str] = (None, "")
        # Partial histories land every few ms while training; the curve and the table are
        # redrawn at most every REPAINT_MS (the window's EpochFollower moves the views).
        self._repaint = QTimer(self)
        self._repaint.setSingleShot(True)
        self._repaint.setInterval(REPAINT_MS)
        self._repaint.timeout.connect(self._draw_history)
        attach(state)
        state.want(TRAIN)

        self.preset_combo = QComboBox(self)
        self.preset_combo.addItem("(custom)", None)
        for p in TEXT_PRESETS:
            self.preset_combo.addItem(p.name, p.key)
            self.preset_combo.setItemData(
                self.preset_combo.count() - 1, p.description, Qt.ItemDataRole.ToolTipRole
            )
        self.text_edit = QLineEdit(self)
        self.text_edit.setToolTip("Input texts, one per sequence, separated by ' / '")
        self.target_edit = QLineEdit(self)
        self.target_edit.setToolTip("Target texts (task map), one per input, separated by ' / '")
        self.task_combo = self._combo(("map", "next"), "map: text → target; next: next token")
        self.tokens_combo = self._combo(("chars", "words"), "characters or whitespace words")
        # Each number says what it is: bare "6", "1" and "0.1000" in a row of combos left
        # a student guessing which was hidden_size and which the learning rate.
        self.embedding_spin = self._spin(0, 4096, "nn.Embedding(V, E); 0 = one-hot", "embed ")
        self.embedding_spin.setSpecialValueText("one-hot")
        self.cell_combo = self._combo(CELLS, "recurrent layer")
        self.stepper_combo = self._combo(("module", "cell"), "module, or its *Cell stepped")
        self.hidden_spin = self._spin(1, 4096, "hidden_size", "hidden ")
        self.layers_spin = self._spin(1, 16, "num_layers", "layers ")
        self.head_combo = self._combo(("none", "step"), "Linear head per step, or h is the logits")
        self.optimizer_combo = self._combo(("adam", "sgd"), "torch.optim.Adam or SGD")
        # Exact boxes: the settings (and `rnnviz train`, and run files) take any lr in
        # (0, 100] and any seed up to 2**63 - 1; a QDoubleSpinBox of 4 decimals showed a run's
        # lr 5e-05 as 0.0001 and trained that, and a QSpinBox refused seed 3e9 (OverflowError).
        self.lr_spin = ExactDoubleSpinBox(self)
        self.lr_spin.setPrefix("lr ")
        self.lr_spin.setToolTip("learning rate, any number in (0, 100]")
        self.lr_spin.set_exact_range(LR_MIN, 100.0)
        self.lr_spin.setSingleStep(0.01)
        self.lr_spin.setKeyboardTracking(False)
        self.epochs_spin = self._spin(1, 100_000, "epochs")
        self.seed_spin = BigIntSpinBox(self)
        self.seed_spin.setRange(0, SEED_MAX)
        self.seed_spin.setToolTip("torch.manual_seed before the modules")
        #: The settings in force that the form has no control for (from the preset or run
        #: file loaded last): a run's loss, reduction and update, said, not carried silently.
        self.kept_label = QLabel(self)
        self.kept_label.setWordWrap(True)
        self.kept_label.setTextFormat(Qt.TextFormat.PlainText)
        self.kept_label.setStyleSheet("color: #475569")
        self.error_label = QLabel(self)
        # Plain text: a message naming <pad> is not rich text (Qt's guess dropped the tag).
        self.error_label.setTextFormat(Qt.TextFormat.PlainText)
        self.error_label.setStyleSheet("color: #b00020")
        self.error_label.setWordWrap(True)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("preset", self.preset_combo)
        form.addRow("text", self.text_edit)
        form.addRow("target", self.target_edit)
        grid = QHBoxLayout()
        for w in (self.task_combo, self.tokens_combo, self.embedding_spin):
            grid.addWidget(w)
        form.addRow("task", grid)
        grid = QHBoxLayout()
        for w in (self.cell_combo, self.stepper_combo, self.hidden_spin, self.layers_spin):
            grid.addWidget(w)
        form.addRow("rnn", grid)
        grid = QHBoxLayout()
        for hw in (self.head_combo, self.optimizer_combo, self.lr_spin):
            grid.addWidget(hw)
        form.addRow("head/opt", grid)
        grid = QHBoxLayout()
        grid.addWidget(QLabel("epochs", self))
        grid.addWidget(self.epochs_spin)
        grid.addWidget(QLabel("seed", self))
        grid.addWidget(self.seed_spin)
        form.addRow("", grid)

        self.train_button = QPushButton("Train", self)
        self.pause_button = QPushButton("Pause", self)
        self.pause_button.setCheckable(True)
        self.cancel_button = QPushButton("Cancel", self)
        self.progress_label = QLabel("not trained", self)
        #: For a reopened run file: what was done to show its epochs (hidden otherwise).
        self.file_label = QLabel(self)
        self.file_label.setWordWrap(True)
        self.file_label.setVisible(False)
        buttons = QHBoxLayout()
        for b in (self.train_button, self.pause_button, self.cancel_button):
            buttons.addWidget(b)
        buttons.addWidget(self.progress_label, 1)

        self.epoch_slider = QSlider(Qt.Orientation.Horizontal, self)
        self.epoch_slider.setRange(1, 1)
        self.epoch_slider.setEnabled(False)
        self.epoch_slider.setToolTip(
            "Show every view at this epoch's weights: those before its (first) optimizer step"
        )
        self.epoch_label = QLabel("epoch –", self)
        self.epoch_label.setWordWrap(True)
        epoch_row = QHBoxLayout()
        epoch_row.addWidget(QLabel("epoch", self))
        epoch_row.addWidget(self.epoch_slider, 1)

        # Epochs are whole numbers from 1: without IndexAxis the empty plot read
        # "epoch (x0.001)" from −400 to 400.
        self.plot = pg.PlotWidget(self, axisItems={"bottom": IndexAxis()})
        self.plot.setBackground("w")
        self.plot.setLabel("bottom", "epoch")
        self.plot.setLabel("left", "loss")
        self.plot.showGrid(x=True, y=True, alpha=0.3)
        self.plot.setMinimumHeight(120)
        self.curve = self.plot.plot(
            [], [], pen=pg.mkPen("#1f77b4", width=2), symbol="o", symbolSize=5
        )
        self.epoch_line = pg.InfiniteLine(angle=90, pen=pg.mkPen("#d62728", width=1))
        self.plot.addItem(self.epoch_line)

        self.predictions = QTableWidget(self)
        self.predictions.verticalHeader().setVisible(False)
        self.stage_combo = QComboBox(self)
        self.stage_label = QLabel(self)
        self.stage_label.setWordWrap(True)
        self.stage_table = QTableWidget(self)
        self.flow_label = WrappedLabel(self)
        self.flow_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        stage_box = QWidget(self)
        sl = QVBoxLayout(stage_box)
        sl.setContentsMargins(0, 0, 0, 0)
        sl.addWidget(self.flow_label)
        sl.addWidget(self.stage_combo)
        sl.addWidget(self.stage_label)
        sl.addWidget(self.stage_table, 1)

        # At 1280×720 the pane is smaller than the flow's lines, the picker and a table
        # together: it scrolls rather than draw the picker over the flow's last line.
        stage_scroll = QScrollArea(self)
        stage_scroll.setWidgetResizable(True)
        stage_scroll.setFrameShape(QFrame.Shape.NoFrame)
        stage_scroll.setWidget(stage_box)

        # The loss curve and the predictions side by side, the stages below: stacked, the
        # three shared ~280 px at 1280×720 and the stage pane got 90 px, its table never
        # in view.
        top = QSplitter(Qt.Orientation.Horizontal, self)
        top.addWidget(self.plot)
        top.addWidget(self.predictions)
        top.setSizes([450, 550])
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(top)
        split.addWidget(stage_scroll)
        split.setSizes([170, 260])

        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(form)
        lay.addWidget(self.kept_label)
        lay.addWidget(self.error_label)
        lay.addLayout(buttons)
        lay.addWidget(self.file_label)
        lay.addLayout(epoch_row)
        lay.addWidget(self.epoch_label)
        lay.addWidget(split, 1)

        self.preset_combo.currentIndexChanged.connect(self._preset_picked)
        for line in (self.text_edit, self.target_edit):
            line.editingFinished.connect(self._edited)
        for c in (
            self.task_combo,
            self.tokens_combo,
            self.cell_combo,
            self.stepper_combo,
            self.head_combo,
            self.optimizer_combo,
        ):
            c.currentIndexChanged.connect(self._edited)
        for s in (
            self.embedding_spin,
            self.hidden_spin,
            self.layers_spin,
            self.lr_spin,
            self.epochs_spin,
            self.seed_spin,
        ):
            s.valueChanged.connect(self._edited)
        self.train_button.clicked.connect(self.train)
        self.pause_button.toggled.connect(lambda on: self.state.set_paused(TRAIN, on))
        self.cancel_button.clicked.connect(lambda: self.state.cancel_kind(TRAIN))
        self.epoch_slider.valueChanged.connect(self._slider_moved)
        self.stage_combo.currentIndexChanged.connect(lambda _: self._show_stage())
        state.sigResultChanged.connect(self._result_changed)
        state.sigSnapshotChanged.connect(self._snapshot_changed)
        state.sigSourceChanged.connect(self._source_changed)
        state.sigFailed.connect(self._failed)

        self.load_settings(text_settings(state) or TEXT_PRESETS[1].settings)
        self.preset_combo.blockSignals(True)
        self.preset_combo.setCurrentIndex(self._preset_index(self.settings()))
        self.preset_combo.blockSignals(False)
        self._source_changed()

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API
        # As narrow as the shapes/equations tabs it shares a dock with: its rows of combos
        # shrink (they elide) rather than widen the window.
        return QSize(300, 300)

    # ---- small builders ----------------------------------------------------------------------
    def _combo(self, items: tuple[str, ...], tip: str) -> QComboBox:
        c = QComboBox(self)
        c.addItems(list(items))
        c.setToolTip(tip)
        return c

    def _spin(self, lo: int, hi: int, tip: str, prefix: str = "") -> QSpinBox:
        s = QSpinBox(self)
        s.setRange(lo, hi)
        s.setToolTip(tip)
        s.setPrefix(prefix)
        return s

    # ---- settings <-> controls ---------------------------------------------------------------
    def load_settings(self, s: TextSettings) -> None:
        """Show `s` in the controls and make it the document's text source."""
        self._loading = True
        try:
            self.text_edit.setText(" / ".join(s.texts))
            self.target_edit.setText(" / ".join(s.targets))
            self.target_edit.setEnabled(s.task == "map")
            self.task_combo.setCurrentText(s.task)
            self.tokens_combo.setCurrentText(s.tokenizer)
            self.embedding_spin.setValue(s.embedding_dim if s.encoding == "embedding" else 0)
            self.cell_combo.setCurrentText(s.cell)
            self.stepper_combo.setCurrentText(s.stepper)
            self.hidden_spin.setValue(s.hidden_size)
            self.layers_spin.setValue(s.num_layers)
            self.head_combo.setCurrentText(s.head if s.head != "last" else "step")
            self.optimizer_combo.setCurrentText(s.optimizer)
            self.lr_spin.setValue(s.lr)
            self.epochs_spin.setValue(s.epochs)
            self.seed_spin.setValue(s.seed)
        finally:
            self._loading = False
        self._base = s
        self.kept_label.setText(kept_text(s))
        # The box names what is loaded: a run file's settings kept the last preset's name.
        self.preset_combo.blockSignals(True)
        self.preset_combo.setCurrentIndex(self._preset_index(s))
        self.preset_combo.blockSignals(False)
        set_text(self.state, s)

    def settings(self) -> TextSettings:
        """The TextSettings the controls describe (raises SpecError naming a bad field)."""
        texts = tuple(t.strip() for t in self.text_edit.text().split(" / "))
        task = self.task_combo.currentText()
        targets = (
            tuple(t.strip() for t in self.target_edit.text().split(" / ")) if task == "map" else ()
        )
        emb = self.embedding_spin.value()
        return self._base.replace(
            texts=texts,
            targets=targets,
            task=task,
            tokenizer=self.tokens_combo.currentText(),
            encoding="embedding" if emb else "onehot",
            embedding_dim=emb or self._base.embedding_dim,
            cell=self.cell_combo.currentText(),
            stepper=self.stepper_combo.currentText(),
            hidden_size=self.hidden_spin.value(),
            num_layers=self.layers_spin.value(),
            head=self.head_combo.currentText(),
            optimizer=self.optimizer_combo.currentText(),
            lr=self.lr_spin.value(),
            epochs=self.epochs_spin.value(),
            seed=self.seed_spin.value(),
        )

    def _checked(self, full: bool) -> TextSettings | None:
        """The form's settings, or None with the reason beside the form: a field the
        settings refuse, or (`full`) a combination training refuses (`check_trainable`: a
        map target of another length, no head with hidden_size ≠ the classes)."""
        try:
            s = self.settings()
            if full:
                from rnnviz.text.pipeline import check_trainable  # imports torch

                check_trainable(s)
        except SpecError as exc:
            self.error_label.setText(f"{exc.field}: {exc.message}")
            return None
        # A valid form does not hide why the training on screen failed.
        self.error_label.setText(self._failure_now())
        return s

    def _failure_now(self) -> str:
        """Why the training on screen failed ("" if it has not)."""
        request, why = self._failure
        return why if request is not None and self.state.sources.get(TRAIN) is request else ""

    def _failed(self, message: str) -> None:
        """A training job failed or was refused: say so where the training is shown, not
        only in the status bar for 15 s ("starting …" stayed up, Pause and Cancel on)."""
        if self.state.failed_kind != TRAIN:
            return
        self._failure = (self.state.sources.get(TRAIN), message)
        self.error_label.setText(message)
        self._source_changed()
        self._progress_text(history(self.state))

    def _preset_index(self, s: TextSettings) -> int:
        for i, p in enumerate(TEXT_PRESETS):
            if p.settings == s:
                return i + 1
        return 0

    def _preset_picked(self, index: int) -> None:
        key = self.preset_combo.itemData(index)
        if key:
            self.load_settings(next(p.settings for p in TEXT_PRESETS if p.key == key))
            self.error_label.setText(self._failure_now())

    def _edited(self, *_: Any) -> None:
        if self._loading:
            return
        self.target_edit.setEnabled(self.task_combo.currentText() == "map")
        # Checked in full only once torch is loaded (the check builds the text pipeline,
        # which imports it): an edit must not freeze the window for the import.
        s = self._checked(full=torch_loaded())
        if s is None:
            return
        self.kept_label.setText(kept_text(s))  # the task decides whether targets share it
        set_text(self.state, s)
        self.preset_combo.blockSignals(True)
        self.preset_combo.setCurrentIndex(self._preset_index(s))
        self.preset_combo.blockSignals(False)

    # ---- actions -----------------------------------------------------------------------------
    def train(self) -> None:
        """Train the controls' settings (Train button); the slider follows the new epochs.
        Settings that cannot train (`check_trainable`) are refused beside the form; before
        torch is loaded (its import must not freeze the window) the job refuses them and
        the refusal shows the same way (`_failed`)."""
        s = self._checked(full=torch_loaded())
        if s is None:
            return
        self.pause_button.setChecked(False)
        request_training(self.state, s)
        self._source_changed()

    def _slider_moved(self, value: int) -> None:
        hist = history(self.state)
        if hist is None:
            return
        set_following(self.state, value >= len(hist.epochs))
        show_epoch(self.state, value)
        self._show_epoch_line(value)

    def set_empty_range(self) -> None:
        """Before any epoch the loss plot spans epochs 1 … the number asked for, loss 0 … 1
        (the first epoch drawn gives the curve its own range back)."""
        self.plot.setXRange(1, max(2, self.epochs_spin.value()), padding=0.02)
        self.plot.setYRange(0, 1, padding=0.02)

    # ---- document -> view --------------------------------------------------------------------
    def _source_changed(self) -> None:
        hist = history(self.state)
        failed = bool(self._failure_now())
        if not failed and self._failure[1] and self.error_label.text() == self._failure[1]:
            self.error_label.setText("")  # a new training: the old one's failure is history
        running = not failed and (
            hist is not None
            and not hist.done
            or (hist is None and self.state.sources.get(TRAIN) is not None)
        )
        self.train_button.setEnabled(True)
        self.pause_button.setEnabled(running)
        self.cancel_button.setEnabled(running)
        if not running and self.pause_button.isChecked():
            self.pause_button.blockSignals(True)
            self.pause_button.setChecked(False)
            self.pause_button.blockSignals(False)
        self._progress_text(hist)
        if hist is None:
            self.set_empty_range()
        if shown_epoch(self.state) is None and hist is not None:
            self.epoch_label.setText(
                "views show random inputs (the spec was edited); move the slider to show an epoch"
            )

    def _progress_text(self, hist: Any) -> None:
        request = self.state.sources.get(TRAIN)
        path = getattr(request, "path", "")
        self.file_label.setVisible(bool(path))
        if path:
            name = path.rsplit("/", 1)[-1]
            if hist is not None and hist.reproduction:
                mark = "✓" if hist.reproduced else "✗"
                colour = "#166534" if hist.reproduced else "#b00020"
                self.file_label.setText(
                    f"<span style='color:{colour}'>{mark} {name}: {hist.reproduction}</span>"
                )
            else:
                self.file_label.setText(
                    f"{name}: the file keeps initial/final weights and each epoch's loss and "
                    "predictions, not each epoch's weights — retraining its epochs from its "
                    "settings and initial weights, then comparing with the file …"
                )
        failed = bool(self._failure_now())
        if hist is None:
            pending = self.state.sources.get(TRAIN) is not None
            if failed:
                self.progress_label.setText("failed (see below)")
            else:
                self.progress_label.setText("starting …" if pending else "not trained")
            return
        n, total = len(hist.epochs), hist.total
        if failed:
            # Epochs landed before the job failed: they stay on screen, the state says why.
            self.progress_label.setText(f"failed after epoch {n}/{total} (see below)")
            return
        state = (
            "cancelled"
            if hist.cancelled
            else "done"
            if hist.done
            else pause_word(hist)
            if TRAIN in self.state.paused
            else "training"
        )
        self.progress_label.setText(f"{state}: epoch {n}/{total}, {hist.seconds:.2f} s")

    def _result_changed(self, key: Any) -> None:
        if key.kind != TRAIN or key != self.state.key(TRAIN):
            return
        hist = self.state.results[key]
        if hist.done or len(hist.epochs) <= 1:
            self._repaint.stop()
            self._draw_history()
        elif not self._repaint.isActive():
            self._repaint.start()

    def _draw_history(self) -> None:
        hist = history(self.state)
        if hist is None:
            return
        epochs = hist.epochs
        xs = np.arange(1, len(epochs) + 1, dtype=float)
        self.curve.setData(xs, np.array(hist.losses, dtype=float))
        if epochs:
            self.plot.enableAutoRange()  # the curve's own range (set_empty_range fixed one)
        self._fill_predictions(hist)
        self._source_changed()
        if not epochs:
            return
        self.epoch_slider.setEnabled(True)
        self.epoch_slider.blockSignals(True)
        self.epoch_slider.setRange(1, len(epochs))
        shown = shown_epoch(self.state)
        if shown is not None:
            self.epoch_slider.setValue(shown)
        self.epoch_slider.blockSignals(False)

    def _fill_predictions(self, hist: Any) -> None:
        rows = [
            [str(e.epoch), f"{e.loss:.4f}", percent(e.accuracy), " | ".join(e.predicted)]
            for e in reversed(hist.epochs)
        ]
        _fill(
            self.predictions,
            ["epoch", "loss", "acc", "predicted"],
            rows,
            [""] * len(rows),
            resize=len(rows) <= 20,
        )
        if len(rows) > 20:
            # Not measured item by item (thousands of epochs), but wide enough for what the
            # numeric columns can hold: "acc" read "1…" for 100% after 100 epochs.
            fm, pad = self.predictions.fontMetrics(), 16
            for col, widest in enumerate((rows[0][0], "0.0000", "100%")):
                width = max(fm.horizontalAdvance(widest), fm.horizontalAdvance(rows[0][col]))
                header = fm.horizontalAdvance(["epoch", "loss", "acc"][col])
                self.predictions.setColumnWidth(col, max(width, header) + pad)
        self.predictions.horizontalHeader().setStretchLastSection(True)

    def _show_epoch_line(self, epoch: int) -> None:
        self.epoch_line.setValue(epoch)

    def _snapshot_changed(self, snap: Any) -> None:
        if not isinstance(snap, TextSnapshot):
            return
        hist = snap.history
        e = hist.epochs[snap.epoch - 1] if hist is not None else None
        if hist is not None and e is not None:
            self.epoch_label.setText(epoch_text(hist.pipeline, e, snap.stages.stages))
        self.epoch_slider.blockSignals(True)
        self.epoch_slider.setValue(snap.epoch)
        self.epoch_slider.blockSignals(False)
        self._show_epoch_line(snap.epoch)
        prun = snap.stages
        label = {n.id: n.label.split("(")[0] for n in prun.nodes}
        self.flow_label.setText(
            escape(" → ".join(n.label for n in prun.nodes if n.id not in ("targets", "h_n")))
            + "<br>"
            + escape(
                ", ".join(f"{label[ed.src]} → {label[ed.dst]} {ed.shape}" for ed in prun.edges)
            )
        )
        # A separate target vocabulary (the tagger's DET / NN / V) gets its own table: the
        # class indices of predicted/targets/logits are not the input vocabulary's.
        classes = ["classes"] if separate_classes(prun.pipeline) else []
        names = ["vocabulary", *classes] + [st.name for st in prun.stages]
        current = self.stage_combo.currentText() or "indices"
        self.stage_combo.blockSignals(True)
        self.stage_combo.clear()
        self.stage_combo.addItems(names)
        self.stage_combo.setCurrentText(current if current in names else "indices")
        self.stage_combo.blockSignals(False)
        self._show_stage()

    def _show_stage(self) -> None:
        snap = self.state.snapshot
        if not isinstance(snap, TextSnapshot):
            return
        name = self.stage_combo.currentText()
        pipeline = snap.stages.pipeline
        separate = separate_classes(pipeline)
        if name in ("vocabulary", "classes"):
            vocab = pipeline.target_vocab if name == "classes" else pipeline.vocab
            rows = [[str(i), tok, str(n)] for i, tok, n in vocab.rows()]
            word = "class" if name == "classes" else "token"
            _fill(self.stage_table, ["index", word, "count"], rows, [""] * len(rows))
            if name == "classes":
                self.stage_label.setText(
                    f"classes: {len(vocab)} target tokens, the indices of predicted, targets "
                    "and the logits' columns"
                )
            else:
                what = "input vocabulary" if separate else "vocabulary"
                self.stage_label.setText(f"{what}: {len(vocab)} tokens")
            return
        stage = snap.stages.stage(name)
        header, rows, labels = stage_rows(stage.value)
        _fill(self.stage_table, header, rows, labels)
        if name in PER_STEP_STAGES:
            self._grey_padding(stage.value, snap.stages.stage("mask").value)
        shape = "(" + ", ".join(str(d) for d in stage.shape) + ")"
        note = ""
        if separate and name in CLASS_STAGES:
            legend = ", ".join(f"{i} = {t}" for i, t, _ in pipeline.target_vocab.rows()[:12])
            note = f" (classes: {legend}; see 'classes')"
        self.stage_label.setText(
            f"<b>{escape(name)}</b> {shape}: {escape(stage.description)}{escape(note)}"
        )

    def _grey_padding(self, value: np.ndarray, mask: np.ndarray) -> None:
        """Grey the cells of a (B, T[, C]) stage past each sequence's length: the model
        computes something there (the argmax of padding), which the loss ignores."""
        if mask.all() or value.shape[: mask.ndim] != mask.shape:
            return
        grey = QColor("#94a3b8")
        tip = "padding: past this sequence's length; the loss ignores it"
        table = self.stage_table
        for r in range(table.rowCount()):
            for c in range(table.columnCount()):
                real = mask[r, c] if value.ndim == 2 else mask.flat[r]
                item = table.item(r, c)
                if not real and item is not None:
                    item.setForeground(grey)
                    item.setToolTip(tip)

    def closeEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        """Stop wanting training results when the view closes."""
        self.state.want(TRAIN, False)
        super().closeEvent(event)
