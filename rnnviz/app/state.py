"""The one state object every view reads from and writes to.

Data flows one way: an edit sets `spec`/`options` → the trace runner computes a Snapshot off
the GUI thread → `snapshot` is set here → every view repaints from it. The selection
(layer, direction, timestep, unit, batch row) also lives here, so a click in one view moves
every other view without any view knowing another exists.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import QObject, Signal

from rnnviz.options import RunOptions
from rnnviz.snapshot import Snapshot
from rnnviz.spec import Spec, SpecError


@dataclass(frozen=True)
class Selection:
    """What the user is looking at: a cell (layer, direction, t), a hidden unit and a batch row."""

    layer: int = 0
    direction: str = "fwd"
    t: int = 0
    unit: int = 0
    batch: int = 0


class AppState(QObject):
    """Spec, run options, the last good Snapshot and the Selection, with change signals.

    - sigSpecChanged(Spec), sigOptionsChanged(RunOptions): an accepted edit; a new trace follows.
    - sigSpecError(field, message): an edit was refused (message "" clears); the last good
      snapshot stays on screen.
    - sigSnapshotChanged(Snapshot): a trace landed; views rebuild.
    - sigSelectionChanged(Selection): views move their cursor/highlight only.
    - sigBusy(str): what is computing ("" when idle); sigProgress(float) in [0, 1].
    """

    sigSpecChanged = Signal(object)
    sigOptionsChanged = Signal(object)
    sigSpecError = Signal(str, str)
    sigSnapshotChanged = Signal(object)
    sigSelectionChanged = Signal(object)
    sigBusy = Signal(str)
    sigProgress = Signal(float)
    sigFailed = Signal(str)

    def __init__(self, spec: Spec | None = None, options: RunOptions | None = None) -> None:
        super().__init__()
        self.spec: Spec = spec or Spec()
        self.options: RunOptions = options or RunOptions()
        self.snapshot: Snapshot | None = None
        self.selection = Selection()
        self.error: tuple[str, str] = ("", "")

    # ---- edits -----------------------------------------------------------------------------
    def edit_spec(self, **changes: Any) -> bool:
        """Apply field changes to the spec; on a SpecError emit sigSpecError and keep the old one.

        Returns True if the spec was accepted (changed or not)."""
        try:
            new = self.spec.replace(**changes)
            self.options.check(new)
        except SpecError as exc:
            self._set_error(exc.field, exc.message)
            return False
        except (TypeError, ValueError) as exc:
            self._set_error(next(iter(changes), "spec"), str(exc))
            return False
        self._set_error("", "")
        if new != self.spec:
            self.spec = new
            self.sigSpecChanged.emit(new)
        return True

    def set_spec(self, spec: Spec, options: RunOptions | None = None) -> bool:
        """Replace spec (and options) wholesale, e.g. from a preset or a session file."""
        options = options or self.options
        try:
            options.check(spec)
        except SpecError as exc:
            self._set_error(exc.field, exc.message)
            return False
        self._set_error("", "")
        changed_opts = options != self.options
        changed_spec = spec != self.spec
        self.spec, self.options = spec, options
        if changed_opts:
            self.sigOptionsChanged.emit(options)
        if changed_spec or changed_opts:
            self.sigSpecChanged.emit(spec)
        return True

    def edit_options(self, **changes: Any) -> bool:
        """Apply run-option changes (seed, input_kind, init, weight_scale, stepper)."""
        try:
            new = replace(self.options, **changes)
            new.check(self.spec)
        except SpecError as exc:
            self._set_error(exc.field, exc.message)
            return False
        self._set_error("", "")
        if new != self.options:
            self.options = new
            self.sigOptionsChanged.emit(new)
        return True

    def report_error(self, field: str, message: str) -> None:
        """Show a refusal that came from outside an edit (e.g. the memory budget, checked by
        the trace runner) exactly like an invalid field: sigSpecError, last snapshot stays."""
        self._set_error(field, message)

    def _set_error(self, field: str, message: str) -> None:
        if (field, message) != self.error:
            self.error = (field, message)
            self.sigSpecError.emit(field, message)

    # ---- results -----------------------------------------------------------------------------
    def set_snapshot(self, snap: Snapshot) -> None:
        """A trace landed: store it, clamp the selection into its ranges, tell the views."""
        self.snapshot = snap
        self.selection = self._clamped(self.selection, snap.spec)
        self.sigSnapshotChanged.emit(snap)
        self.sigSelectionChanged.emit(self.selection)

    # ---- selection ----------------------------------------------------------------------------
    def select(self, **changes: Any) -> None:
        """Move the selection (layer, direction, t, unit, batch); values are clamped to range."""
        spec = self.snapshot.spec if self.snapshot else self.spec
        new = self._clamped(replace(self.selection, **changes), spec)
        if new != self.selection:
            self.selection = new
            self.sigSelectionChanged.emit(new)

    def step(self, delta: int) -> None:
        """Move the timestep by `delta`, clamped to [0, seq_len - 1]."""
        self.select(t=self.selection.t + delta)

    @staticmethod
    def _clamped(sel: Selection, spec: Spec) -> Selection:
        def clamp(v: int, hi: int) -> int:
            return max(0, min(int(v), hi))

        direction = sel.direction if sel.direction in spec.directions else "fwd"
        units = spec.out_hidden if spec.cell != "lstm" else spec.hidden_size
        return Selection(layer=clamp(sel.layer, spec.num_layers - 1), direction=direction,
                         t=clamp(sel.t, spec.seq_len - 1), unit=clamp(sel.unit, units - 1),
                         batch=clamp(sel.batch, spec.batch_size - 1))
