"""File → Export… and Edit → Copy diagram: the window's front end to `rnnviz.io.export`.

The dialog writes exactly what `rnnviz export` writes for the same choices: both call
`rnnviz.io.export.export_bytes` and write with `write_export` (atomic). It exports the last good
snapshot (what the window shows), so a half-typed spec never ends up in a file.

torch never runs on the GUI thread here: a gate heatmap export while the trace still has lanes
pending (or has none yet) waits, with Cancel, for the runner to land the complete snapshot,
then writes from it. Computing inline would block the window for seconds on a large
configuration and give the GUI thread an OpenMP team of its own, which slows every later
two-thread trace in the process.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from rnnviz.analysis.graph import DEFAULT_FOLD
from rnnviz.analysis.scales import DEFAULT_SCALE_MODE, SCALE_MODES, check_scale_mode
from rnnviz.app.drawing import formats as _formats  # noqa: F401 - registers the drawn formats
from rnnviz.config.spec import Spec
from rnnviz.document.document import TRACE, Document, ResultKey
from rnnviz.document.snapshot import draw_fold
from rnnviz.document.training import TextSnapshot
from rnnviz.io.atomic import WriteError
from rnnviz.io.export import (
    FORMATS,
    MAX_SCALE,
    ExportError,
    default_filename,
    export_bytes,
    needs_trace,
    write_export,
)

#: Scale of the image put on the clipboard: twice the print size, crisp on slides.
CLIPBOARD_SCALE = 2.0


class ExportDialog(QDialog):
    """Choose a format, file, timestep, fold and scale; Export writes the file atomically.

    The file name follows the format and the spec (`default_filename`) until the user types
    their own; its extension still follows the format. Errors show in the dialog, in one line.
    sigExported(path, nbytes) fires after a successful write.
    """

    sigExported = Signal(str, int)

    def __init__(
        self,
        state: Document,
        parent: QWidget | None = None,
        directory: str | None = None,
        scale_mode: str | None = None,
    ) -> None:
        """`scale_mode` is the gate heatmaps' colour scale to start with (what the window's
        gate view shows; None: fixed)."""
        super().__init__(parent)
        self.setWindowTitle("Export")
        self.state = state
        self._directory = Path(directory or os.getcwd())
        self._custom_name = False
        #: Waiting for the runner's complete trace (a gates export with lanes pending).
        self.waiting = False
        #: The trace waited for: the shown spec with the window's run options.
        self._awaited: ResultKey | None = None
        spec = self.spec

        self.format_box = QComboBox()
        for f in FORMATS.values():
            self.format_box.addItem(f"{f.label} (.{f.ext})", f.key)
        self.path_edit = QLineEdit()
        self.path_edit.setObjectName("exportPath")
        self.path_edit.setMinimumWidth(420)  # room for a whole default file name
        self.browse_button = QPushButton("Browse…")
        self.browse_button.clicked.connect(self._browse)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(self.browse_button)

        self.timestep_check = QCheckBox("Highlight timestep")
        self.timestep_spin = QSpinBox()
        self.timestep_spin.setRange(0, spec.seq_len - 1)
        self.timestep_spin.setValue(min(state.selection.t, spec.seq_len - 1))
        self.timestep_check.setChecked(True)
        self.fold_check = QCheckBox("Fold: keep first and last")
        self.fold_spin = QSpinBox()
        self.fold_spin.setRange(1, 10_000)
        self.fold_spin.setValue(draw_fold(spec) or DEFAULT_FOLD)
        self.fold_spin.setSuffix(" steps")
        self.scale_spin = QDoubleSpinBox()
        self.scale_spin.setRange(0.25, MAX_SCALE)
        self.scale_spin.setSingleStep(0.25)
        self.scale_spin.setValue(1.0)
        self.scale_spin.setSuffix(" ×")
        self.scale_mode_box = QComboBox()
        for key, label in SCALE_MODES.items():
            self.scale_mode_box.addItem(label, key)
        self.scale_mode_box.setCurrentIndex(
            self.scale_mode_box.findData(check_scale_mode(scale_mode or DEFAULT_SCALE_MODE))
        )
        self.scale_mode_box.setToolTip(
            "Colour scale of the gate heatmaps, as the gate view's picker: fixed (σ 0…1, "
            "tanh ±1), stretched to the data, or signed log for values that explode"
        )
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.message = QLabel()
        self.message.setObjectName("exportMessage")
        self.message.setWordWrap(True)

        form = QFormLayout()
        form.addRow("Format", self.format_box)
        form.addRow("File", path_row)
        form.addRow(self.timestep_check, self.timestep_spin)
        form.addRow(self.fold_check, self.fold_spin)
        form.addRow("Scale", self.scale_spin)
        form.addRow("Colours", self.scale_mode_box)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.export_button = buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.export)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"<b>{spec.title()}</b> over {spec.seq_len} steps"))
        layout.addLayout(form)
        layout.addWidget(self.note)
        layout.addWidget(self.message)
        layout.addWidget(buttons)

        self.format_box.currentIndexChanged.connect(self._format_changed)
        self.path_edit.textEdited.connect(self._name_typed)
        for sig in (
            self.timestep_check.toggled,
            self.timestep_spin.valueChanged,
            self.fold_check.toggled,
            self.fold_spin.valueChanged,
            self.scale_mode_box.currentIndexChanged,
        ):
            sig.connect(self._refresh)
        # While training runs the views follow the newest epoch, dialog open or not: the
        # default name follows the snapshot the file will be written from.
        state.sigSnapshotChanged.connect(self._snapshot_changed)
        self._format_changed()

    # ---- what is chosen --------------------------------------------------------------------
    @property
    def spec(self) -> Spec:
        """The spec exported: the shown snapshot's, else the state's."""
        snap = self.state.snapshot
        return snap.spec if snap is not None else self.state.spec

    @property
    def epoch(self) -> int | None:
        """The training epoch whose weights the shown snapshot ran (None: random input),
        named in the default file name as the files' titles name it."""
        snap = self.state.snapshot
        return snap.epoch if isinstance(snap, TextSnapshot) else None

    @property
    def fmt(self) -> str:
        """The chosen format key."""
        return str(self.format_box.currentData())

    def choices(self) -> dict:
        """timestep, fold, scale and scale_mode as `export_bytes` takes them (None where not
        applicable: scale_mode is for the gate heatmaps only).

        fold is 0 (no fold) when the box is unchecked for drawn formats, which otherwise fold
        long sequences by default; for data formats unchecked means None (never folded).
        """
        kind = FORMATS[self.fmt].kind
        timestep = (
            self.timestep_spin.value()
            if (kind in ("drawn", "gates") and self.timestep_check.isChecked())
            else None
        )
        fold: int | None = None
        if kind in ("drawn", "data"):
            if self.fold_check.isChecked():
                fold = self.fold_spin.value()
            elif kind == "drawn":
                fold = 0
        scale = self.scale_spin.value() if kind in ("drawn", "gates") else 1.0
        scale_mode = self.scale_mode_box.currentData() if kind == "gates" else None
        return {"timestep": timestep, "fold": fold, "scale": scale, "scale_mode": scale_mode}

    def set_scale_mode(self, mode: str) -> None:
        """Select gate colour scale `mode` ("fixed", "stretched" or "signed-log")."""
        self.scale_mode_box.setCurrentIndex(self.scale_mode_box.findData(check_scale_mode(mode)))

    def set_format(self, key: str) -> None:
        """Select format `key` (as if chosen in the combo box)."""
        self.format_box.setCurrentIndex(self.format_box.findData(key))

    # ---- reactions ---------------------------------------------------------------------------
    def _format_changed(self) -> None:
        kind = FORMATS[self.fmt].kind
        drawn_like = kind in ("drawn", "gates")
        self.timestep_check.setEnabled(drawn_like)
        self.timestep_spin.setEnabled(drawn_like)
        self.fold_check.setEnabled(kind in ("drawn", "data"))
        self.fold_spin.setEnabled(kind in ("drawn", "data"))
        self.scale_spin.setEnabled(drawn_like)
        self.scale_mode_box.setEnabled(kind == "gates")
        # Drawn diagrams fold long sequences as the window does; data keeps every step.
        self.fold_check.blockSignals(True)
        self.fold_check.setChecked(kind == "drawn" and draw_fold(self.spec) is not None)
        self.fold_check.blockSignals(False)
        self._refresh()

    def _snapshot_changed(self, _snap: object) -> None:
        if not self._custom_name:
            self._refresh()

    def _name_typed(self, text: str) -> None:
        self._custom_name = bool(text.strip())
        self.message.clear()

    def _refresh(self) -> None:
        c = self.choices()
        f = FORMATS[self.fmt]
        if self._custom_name:
            # Keep the user's name, but let the extension follow the format.
            path = Path(self.path_edit.text())
            if path.suffix.lower() != "." + f.ext:
                self.path_edit.setText(str(path.with_suffix("." + f.ext)))
        else:
            # Name the fold only when it is not what the format does by default.
            default = (draw_fold(self.spec) or 0) if f.kind == "drawn" else None
            fold = None if c["fold"] == default else c["fold"]
            name = default_filename(
                self.spec, self.fmt, c["timestep"], fold, c["scale_mode"], epoch=self.epoch
            )
            self.path_edit.setText(str(self._directory / name))
        notes = {
            "drawn": "Drawn as in the window, with title and legend.",
            "gates": "The gate heatmaps of the shown trace.",
            "data": "Every step of the unrolled graph unless folded.",
            "table": "Tensor shapes and the parameter inventory.",
        }
        self.note.setText(notes[f.kind])
        self.message.clear()

    def _browse(self) -> None:
        f = FORMATS[self.fmt]
        path, _ = QFileDialog.getSaveFileName(
            self, "Export to", self.path_edit.text(), f"{f.label} (*.{f.ext})"
        )
        if path:
            self.path_edit.setText(path)
            self._custom_name = True
            self._refresh()

    # ---- the export --------------------------------------------------------------------------
    def export(self) -> bool:
        """Render and write the chosen export; True on success (the dialog then closes).

        A gates export whose trace is not complete starts waiting for it instead (False; the
        export follows by itself when the runner lands the complete snapshot)."""
        path = self.path_edit.text().strip()
        if not path:
            self.message.setText("Choose a file name.")
            return False
        if needs_trace(self.spec, self.fmt, self.state.options, self.state.snapshot):
            self._start_waiting()
            return False
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            data = export_bytes(
                self.spec,
                self.fmt,
                options=self.state.options,
                snapshot=self.state.snapshot,
                compute=False,
                selection=self.state.selection,  # the gate heatmaps show the lane on screen
                **self.choices(),
            )
            write_export(path, data)
        except (ExportError, WriteError) as exc:
            self.message.setText(str(exc))
            return False
        finally:
            QGuiApplication.restoreOverrideCursor()
        self.message.setText(f"Wrote {path} ({len(data):,} bytes)")
        self.sigExported.emit(path, len(data))
        self.accept()
        return True

    # ---- waiting for the complete trace ----------------------------------------------------
    # The wait ends in one of three ways, never by itself running forever: the complete trace
    # lands (the file is written), the document says it will not come (sigTraceUnfinished:
    # cancelled, failed, refused, configuration changed), or a trace of another configuration
    # lands. The user's Cancel closes the dialog; the trace on screen stays either way.
    def _start_waiting(self) -> None:
        awaited = ResultKey(TRACE, self.spec, self.state.options)
        if self.state.key(TRACE) != awaited:
            # The runner traces the document's configuration, not the one shown here.
            self.message.setText(
                f"The gate heatmaps need every lane of {self.spec.title()} verified, and the "
                "window is now on another configuration; nothing was written. Export again "
                "once its trace is on screen."
            )
            return
        if not self.waiting:
            self.waiting = True
            self._awaited = awaited
            self.state.sigSnapshotChanged.connect(self._trace_landed)
            self.state.sigJobChanged.connect(self._trace_progress)
            self.state.sigTraceUnfinished.connect(self._trace_unfinished)
        self._set_waiting_controls(True)
        self._show_wait()
        # The runner verifies the pending lanes on its worker thread from the recorded
        # forward (or the running trace job does); the answer comes back as an event.
        self.state.complete_trace()

    def _stop_waiting(self, why: str = "") -> None:
        if self.waiting:
            self.waiting = False
            self._awaited = None
            self.state.sigSnapshotChanged.disconnect(self._trace_landed)
            self.state.sigJobChanged.disconnect(self._trace_progress)
            self.state.sigTraceUnfinished.disconnect(self._trace_unfinished)
        self._set_waiting_controls(False)
        if why:
            self.message.setText(why)

    def _set_waiting_controls(self, waiting: bool) -> None:
        self.export_button.setEnabled(not waiting)
        self.format_box.setEnabled(not waiting)
        self.path_edit.setEnabled(not waiting)
        self.browse_button.setEnabled(not waiting)

    def wait_text(self) -> str:
        """How far the trace waited for has got, from one source at a time: the running trace
        job's line and progress (its line counts the lanes verified, posted with its
        progress), else the lanes of the trace on screen."""
        job = self.state.jobs.get(TRACE)
        snap = self.state.snapshot
        if job is not None and job.cancelling:
            # The user's Cancel came before this export: the runner starts verifying the
            # remaining lanes once that job has stopped (Document.complete_trace).
            done = "the cancelled trace job is stopping; the remaining lanes follow"
        elif job is not None:
            done = f"{job.text.removesuffix(' …')}, {job.progress:.0%}"
        elif snap is not None and snap.spec == self.spec:
            done = f"{snap.trace.lanes_verified} of {snap.trace.lanes_total} lanes verified"
        else:
            done = "starting"
        return (
            f"Waiting for the trace to verify every lane — {done}. The file is written when "
            "the trace is complete; Cancel stops waiting."
        )

    def _show_wait(self) -> None:
        self.message.setText(self.wait_text())

    def _trace_landed(self, snap: object) -> None:
        if not self.waiting:
            return
        awaited = self._awaited
        if awaited is not None and (
            getattr(snap, "spec", None) != awaited.spec
            or getattr(snap, "options", None) != awaited.options
        ):
            self._stop_waiting(
                "The window now shows a trace of another configuration; nothing was written. "
                "Export again for it."
            )
            return
        if needs_trace(self.spec, self.fmt, self.state.options, self.state.snapshot):
            self._show_wait()
            return
        self._stop_waiting()
        self.export()

    def _trace_progress(self, _job: object) -> None:
        if self.waiting:
            self._show_wait()

    def _trace_unfinished(self, why: str) -> None:
        if self.waiting:
            self._stop_waiting(f"Nothing was written: {why}. Export tries again.")

    def done(self, result: int) -> None:
        """Closing (Export written or Cancel) stops waiting for the trace."""
        self._stop_waiting()
        self.state.sigSnapshotChanged.disconnect(self._snapshot_changed)
        super().done(result)


def show_export_dialog(
    state: Document, parent: QWidget | None = None, scale_mode: str | None = None
) -> str | None:
    """Open the export dialog (modal), its gate colour scale starting at `scale_mode`;
    returns the path written, or None if cancelled."""
    dialog = ExportDialog(state, parent, scale_mode=scale_mode)
    written: list[str] = []
    dialog.sigExported.connect(lambda path, _n: written.append(path))
    dialog.exec()
    return written[-1] if written else None


def copy_diagram_to_clipboard(state: Document) -> QImage:
    """Put the diagram as drawn (current timestep highlighted) on the clipboard as an image.

    Rendered like a PNG export at CLIPBOARD_SCALE; returns the image placed.
    """
    snap = state.snapshot
    spec = snap.spec if snap is not None else state.spec
    # The snapshot and options, as File → Export passes them: they say how the module is
    # stepped (a Cell loop) and carry a training epoch's text stages; without them the copy
    # was a bare nn.RNN diagram of the spec, not the window's.
    data = export_bytes(
        spec,
        "png",
        options=state.options,
        snapshot=snap,
        timestep=state.selection.t,
        scale=CLIPBOARD_SCALE,
        compute=False,
    )
    image = QImage.fromData(data, "PNG")  # type: ignore[arg-type]  # stub wants bytes; Qt takes str
    clipboard = QApplication.clipboard()
    clipboard.setImage(image)
    return image
