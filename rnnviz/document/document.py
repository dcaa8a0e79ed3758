"""The document: everything the window shows, as plain Python with psygnal events (no Qt).

Data flows one way. An edit sets `spec`/`options` here; the runner (`rnnviz.document.runner`)
computes the results the document lacks off the GUI thread and hands them back with
`set_result`; every view repaints from the document's events. The selection (layer,
direction, timestep, unit, batch row) also lives here, so a click in one view moves every
other view without any view knowing another exists. What is running and how far it has got
is stored here too (`job`), so the status bar and the Cancel button read and write the
document, never the runner.

Results are immutable records keyed by what produced them (`ResultKey`: the job kind, the
spec and the run options). A view that needs a kind of result says so with `want(kind)`;
the runner computes only wanted kinds, so an unopened view costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from psygnal import Signal

from rnnviz.config.options import RunOptions
from rnnviz.config.spec import Spec, SpecError
from rnnviz.document.selection import Selection, clamp_selection

#: The forward trace, what every view draws; always wanted.
TRACE = "trace"
_NO_SPEC = Spec()
_NO_OPTIONS = RunOptions()


#: Per-timestep gradients of a loss (rnnviz.grad), computed only while a view wants them.
GRAD = "grad"
#: RNN tanh / RNN relu / LSTM / GRU side by side (rnnviz.grad.chain.compare).
COMPARE = "compare"
#: Kinds computed from what the trace shows: with a training epoch on screen (the trace's
#: source) their results are of that epoch's RNN on the training input, keyed by it.
FOLLOW_TRACE_SOURCE = frozenset({GRAD})


@dataclass(frozen=True)
class ResultKey:
    """What produced a result: the job kind ("trace", "grad", "compare" …), spec, options,
    and `params`: the kind's own settings as sorted (name, value) pairs (e.g. the loss of a
    gradient trace), () for kinds that have none."""

    kind: str
    spec: Spec
    options: RunOptions
    #: What else the result depends on: None for the random-input trace; a training request
    #: or an epoch of a training history for the text jobs (rnnviz.document.training).
    source: Any = None
    #: The kind's own settings as sorted (name, value) pairs, e.g. the gradients' loss.
    params: tuple[tuple[str, Any], ...] = ()


def partial_record(record: Any) -> Any:
    """`record` if a job can still finish it (its trace has lanes pending), else None."""
    trace = getattr(record, "trace", None)
    return record if trace is not None and not trace.complete else None


@dataclass(frozen=True)
class JobStatus:
    """What the runner is doing: the job's one-line description and progress in [0, 1].

    `text` is "" when idle. `cancelling` is set between a cancel request and the end of the
    job it was asked of; a job started after the request (`start_job`) is not cancelling.
    """

    text: str = ""
    progress: float = 0.0
    cancelling: bool = False

    @property
    def running(self) -> bool:
        """True while a job is queued or running."""
        return bool(self.text)


@dataclass(frozen=True)
class FieldError:
    """An edit or a job refused for one field ("" field and message: no error)."""

    field: str = ""
    message: str = ""


class Document:
    """Spec, run options, results, selection and job status, with change events.

    Events (psygnal; emitted on the thread that changes the document, which in the app is
    always the GUI thread):
    - sigSpecChanged(Spec), sigOptionsChanged(RunOptions): an accepted edit; jobs follow.
    - sigSpecError(field, message): an edit or a job was refused ("" message clears); the
      last good results stay on screen.
    - sigSnapshotChanged(Snapshot): a forward trace landed; views rebuild from it and from
      `selection` (the selection is already clamped to it: one update per view).
    - sigResultChanged(ResultKey): any result landed (views of other kinds listen here).
    - sigSelectionChanged(Selection): views move their cursor/highlight only.
    - sigJobChanged(JobStatus): what is running and how far it has got.
    - sigFailed(str): a job failed; sigStatus(str): a one-line notice (e.g. cancelled).
    - sigCancelRequested(): the user asked to cancel; the runner listens.
    - sigWantedChanged(): the set of wanted result kinds grew or shrank.
    - sigParamsChanged(kind): a kind's own settings changed (`set_params`); jobs follow.
    - sigTraceUnfinished(why): the complete trace asked for (`complete_trace`) will not come
      (cancelled, failed, refused, or the configuration changed); the partial one stays.
    """

    sigSpecChanged = Signal(object)
    sigOptionsChanged = Signal(object)
    sigSpecError = Signal(str, str)
    sigSnapshotChanged = Signal(object)
    sigResultChanged = Signal(object)
    sigSelectionChanged = Signal(object)
    sigJobChanged = Signal(object)
    sigFailed = Signal(str)
    sigStatus = Signal(str)
    sigCancelRequested = Signal()
    sigWantedChanged = Signal()
    #: The text source changed: training settings, a training request, the epoch shown, or
    #: pause (rnnviz.document.training); the runner schedules, the training view repaints.
    sigSourceChanged = Signal()
    #: Cancel only the jobs of one kind (the training view's Cancel leaves traces running).
    sigCancelKind = Signal(str)
    #: A kind's own settings changed (Document.set_params); the runner reschedules.
    sigParamsChanged = Signal(str)
    #: The complete trace asked for will not come, and why (Document.complete_trace).
    sigTraceUnfinished = Signal(str)

    def __init__(self, spec: Spec | None = None, options: RunOptions | None = None) -> None:
        self.spec: Spec = spec or Spec()
        self.options: RunOptions = options or RunOptions()
        #: The kind of the job whose failure sigFailed reported last.
        self.failed_kind = TRACE
        self.results: dict[ResultKey, Any] = {}
        self.snapshot: Any = None  # the last good forward trace (rnnviz.document.snapshot)
        self.selection = Selection()
        self.error = FieldError()
        self.job = JobStatus()
        #: What runs per result kind (a training and a trace run at once on their own lanes);
        #: the status bar lists them all. `job` stays the newest one's line and progress.
        self.jobs: dict[str, JobStatus] = {}
        self._wanted: dict[str, int] = {TRACE: 1}
        #: Result kind → what its key depends on besides spec/options (see ResultKey.source);
        #: a kind listed in `_needs_source` is not computed until it has one.
        self.sources: dict[str, Any] = {}
        self._needs_source: set[str] = set()
        #: Result kinds whose running job should hold between steps (training's Pause).
        self.paused: set[str] = set()
        #: kind → its own settings (see ResultKey.params), e.g. {"grad": {"loss": "sum"}}.
        self.params: dict[str, dict[str, Any]] = {}
        #: The trace whose pending lanes something waits for (complete_trace), None if nothing
        #: does: the runner finishes it, and the request ends when it lands complete or
        #: cannot (sigTraceUnfinished).
        self.finishing: ResultKey | None = None
        # Any edit that changes what a trace is keyed by ends the wait for the old one.
        for sig in (
            self.sigSpecChanged,
            self.sigOptionsChanged,
            self.sigSourceChanged,
            self.sigParamsChanged,
        ):
            sig.connect(self._finishing_moved)

    # ---- edits ---------------------------------------------------------------------------
    def edit_spec(self, **changes: Any) -> bool:
        """Apply field changes to the spec; on a SpecError report it and keep the old spec.

        Returns True if the spec was accepted (changed or not)."""
        try:
            new = self.spec.replace(**changes)
            self.options.check(new)
        except SpecError as exc:
            self.report_error(exc.field, exc.message)
            return False
        except (TypeError, ValueError) as exc:
            self.report_error(next(iter(changes), "spec"), str(exc))
            return False
        self.report_error("", "")
        if new != self.spec:
            self._leave_source(TRACE)
            self.spec = new
            self.sigSpecChanged.emit(new)
        return True

    def set_spec(
        self, spec: Spec, options: RunOptions | None = None, selection: dict[str, Any] | None = None
    ) -> bool:
        """Replace spec (and options, and the selection) wholesale: a preset or a session.

        `selection` (layer, direction, t, unit, batch) is clamped to the new spec, not to the
        trace on screen, so a session's timestep 40 survives while a 5-step trace is shown."""
        options = options or self.options
        try:
            options.check(spec)
        except SpecError as exc:
            self.report_error(exc.field, exc.message)
            return False
        self.report_error("", "")
        changed_opts = options != self.options
        changed_spec = spec != self.spec
        # A preset or session is a random-input configuration: the views leave the text model.
        self._leave_source(TRACE)
        self.spec, self.options = spec, options
        if selection:
            new = clamp_selection(replace(self.selection, **selection), spec)
            if self.snapshot is None or self.snapshot.spec == spec:
                self._set_selection(new)
            else:
                # Views index the shown trace with the selection, so it is announced with the
                # trace it fits (set_result), not before.
                self.selection = new
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
            self.report_error(exc.field, exc.message)
            return False
        self.report_error("", "")
        if new != self.options:
            self._leave_source(TRACE)
            self.options = new
            self.sigOptionsChanged.emit(new)
        return True

    def report_error(self, field: str, message: str) -> None:
        """Show a refusal (an invalid field, or the memory budget checked before a job) next
        to its field; the last good results stay."""
        new = FieldError(field, message)
        if new != self.error:
            self.error = new
            self.sigSpecError.emit(field, message)

    # ---- results -------------------------------------------------------------------------
    def key(self, kind: str) -> ResultKey:
        """The key a result of `kind` for the current spec, options, source and params would
        have."""
        source, params = self.sources.get(kind), self.params_key(kind)
        if source is None and kind in FOLLOW_TRACE_SOURCE:
            source = self.sources.get(TRACE)
        if kind in self._needs_source:
            # Such a result depends on its source alone (a training does not change when the
            # random-input spec is edited): fixed defaults stand in for spec and options.
            return ResultKey(kind, _NO_SPEC, _NO_OPTIONS, source, params)
        return ResultKey(kind, self.spec, self.options, source, params)

    def params_key(self, kind: str) -> tuple[tuple[str, Any], ...]:
        """`kind`'s settings as the sorted (name, value) pairs a ResultKey carries."""
        return tuple(sorted(self.params.get(kind, {}).items()))

    def set_params(self, kind: str, **values: Any) -> None:
        """Change settings of one result kind (e.g. set_params("grad", loss="sum")); the
        runner computes the result for the new settings if some view wants it."""
        new = {**self.params.get(kind, {}), **values}
        if new != self.params.get(kind, {}):
            self.params[kind] = new
            self.sigParamsChanged.emit(kind)

    def result(self, kind: str) -> Any:
        """The result of `kind` for the current spec and options, or None if not computed."""
        return self.results.get(self.key(kind))

    def partial(self, kind: str) -> Any:
        """The result of `kind` for the current spec and options when a job can still finish
        it (a trace with lanes pending), else None."""
        return partial_record(self.result(kind))

    def set_result(self, key: ResultKey, record: Any) -> None:
        """A job's result landed (on the GUI thread). Results of other specs are kept only
        for the newest of each kind, so memory holds one trace, not one per edit."""
        for old in [k for k in self.results if k.kind == key.kind and k != key]:
            del self.results[old]
        self.results[key] = record
        if key == self.finishing and self.partial(key.kind) is None:
            self.finishing = None  # complete: what complete_trace asked for has landed
        if key.kind == TRACE:
            self.snapshot = record
            # Clamp first and emit once: a view repaints from the snapshot and the selection
            # in one go, instead of once for the trace and again for the selection.
            self.selection = clamp_selection(self.selection, record.spec)
            self.sigSnapshotChanged.emit(record)
        self.sigResultChanged.emit(key)

    def set_snapshot(self, snap: Any) -> None:
        """A forward trace landed for its own spec and options (see `set_result`)."""
        self.set_result(ResultKey(TRACE, snap.spec, snap.options), snap)

    # ---- what views need -----------------------------------------------------------------
    def want(self, kind: str, wanted: bool = True) -> None:
        """A view that draws `kind` is open (True) or closed (False); counted per view."""
        n = self._wanted.get(kind, 0) + (1 if wanted else -1)
        if n > 0:
            self._wanted[kind] = n
        else:
            self._wanted.pop(kind, None)
        self.sigWantedChanged.emit()

    def ask_lanes(self) -> None:
        """A view shows a lane the trace has not verified yet: if nothing is running (the
        window's trace job verifies every lane after the first, the one on screen first),
        ask the runner to finish the trace (`complete_trace`); it starts with that lane."""
        snap = self.snapshot
        if snap is not None and not snap.trace.complete and not self.trace_running():
            self.complete_trace()

    def complete_trace(self) -> None:
        """Something (the export dialog, a view on a pending lane) waits for every lane of
        the current trace. Unless a trace job runs (it verifies the remaining lanes), the
        runner verifies the pending lanes of the partial trace from its recorded forward
        (none computed yet: it traces), alongside any other missing kind. The complete
        snapshot arrives on sigSnapshotChanged; when it cannot (the user cancels, the job
        fails or is refused, the spec or options change), sigTraceUnfinished says why. torch
        never runs on the caller's thread."""
        if self.result(TRACE) is not None and self.partial(TRACE) is None:
            return  # complete already
        self.finishing = self.key(TRACE)
        if not self.trace_running():
            self.sigWantedChanged.emit()

    def trace_running(self) -> bool:
        """True while a trace job runs that will go on verifying lanes: not one the user
        cancelled, which only winds down (a request made after the Cancel is the user's
        newer wish, served by a job started once the runner hears of it)."""
        job = self.jobs.get(TRACE)
        return job is not None and not job.cancelling

    def unfinished(self, why: str) -> None:
        """The complete trace asked for will not come (the runner stopped without it): end
        the request and say why on sigTraceUnfinished. The partial trace stays on screen."""
        if self.finishing is not None:
            self.finishing = None
            self.sigTraceUnfinished.emit(why)

    def _finishing_moved(self, *_: Any) -> None:
        if self.finishing is not None and self.finishing != self.key(TRACE):
            self.unfinished("the configuration changed while waiting for every lane")

    def wanted(self) -> tuple[str, ...]:
        """The result kinds some open view draws, the forward trace first."""
        return tuple(self._wanted)

    def missing(self) -> tuple[str, ...]:
        """Wanted kinds that have no result for the current spec and options, or only a
        partial one something waits for (`complete_trace`)."""
        return tuple(
            k
            for k in self._wanted
            if (
                self.key(k) not in self.results
                or (self.key(k) == self.finishing and self.partial(k) is not None)
            )
            and (k not in self._needs_source or self.sources.get(k) is not None)
        )

    # ---- sources (text mode) -------------------------------------------------------------
    def set_source(self, kind: str, source: Any, *, needed: bool = False) -> None:
        """Results of `kind` now depend on `source` (None: back to spec/options alone).

        `needed` marks a kind that is computed only with a source (training: only when
        asked) and whose key is the source alone. Emits sigSourceChanged; the runner then computes what is missing."""
        if needed:
            self._needs_source.add(kind)
        if source is None:
            self.sources.pop(kind, None)
        else:
            self.sources[kind] = source
        self.sigSourceChanged.emit()

    def _leave_source(self, kind: str) -> None:
        # Editing the spec or run options means "show this configuration on random inputs":
        # a trace of a trained text model cannot follow a new hidden size.
        if self.sources.pop(kind, None) is not None:
            self.sigSourceChanged.emit()

    def set_paused(self, kind: str, paused: bool) -> None:
        """Hold (True) or resume (False) the running job of `kind` between its steps; the
        job reads `paused` through the runner. Emits sigSourceChanged if it changed."""
        if paused == (kind in self.paused):
            return
        if paused:
            self.paused.add(kind)
        else:
            self.paused.discard(kind)
        self.sigSourceChanged.emit()

    def cancel_kind(self, kind: str) -> None:
        """Ask the runner to abandon only the running job of `kind`."""
        self.paused.discard(kind)
        job = self.jobs.get(kind)
        if job is not None and not job.cancelling:
            self.jobs[kind] = replace(job, cancelling=True)
            self.sigJobChanged.emit(self.job)
        self.sigCancelKind.emit(kind)

    # ---- jobs ----------------------------------------------------------------------------
    def start_job(self, kind: str, text: str, progress: float = 0.0) -> None:
        """The runner started a new job for result kind `kind`: it is the newest line and
        `kind`'s entry, and nobody has cancelled it (a cancel before it started was asked of
        the job it supersedes, which may still be winding down)."""
        # One event for both, and the cancelled job's flag does not carry over.
        self.job = JobStatus(text, progress)
        self.jobs[kind] = self.job
        self.sigJobChanged.emit(self.job)

    def next_job(self, text: str, progress: float = 0.0) -> None:
        """No job runs and the runner starts one shortly (its debounce): the line names it.
        Nobody has cancelled it: a Cancel before was asked of a job that has ended."""
        self.job = JobStatus(text, progress)
        self.sigJobChanged.emit(self.job)

    def set_job(self, text: str, progress: float = 0.0) -> None:
        """The runner reports what is running ("" when idle) and how far it has got; the
        same job goes on, so a cancel asked of it still holds."""
        new = JobStatus(text, progress, self.job.cancelling and bool(text))
        if new != self.job:
            self.job = new
            self.sigJobChanged.emit(new)

    def set_kind_job(self, kind: str, text: str, progress: float = 0.0) -> None:
        """The runner reports what runs for result kind `kind` ("" when it ended); emits
        sigJobChanged(job) so the status bar redraws the list. A cancel asked of that job
        still holds."""
        old = self.jobs.get(kind) or JobStatus()
        new = JobStatus(text, progress, old.cancelling and bool(text))
        if old == new:
            return
        if text:
            self.jobs[kind] = new
        else:
            self.jobs.pop(kind, None)
        self.sigJobChanged.emit(self.job)

    def set_progress(self, progress: float) -> None:
        """The running job's progress in [0, 1]."""
        if self.job.running:
            self.set_job(self.job.text, progress)

    def cancel(self) -> None:
        """Ask the runner to abandon what is running; the last results stay on screen, and
        a wait for the complete trace ends (the user stopped it)."""
        cancelled = {k: replace(j, cancelling=True) for k, j in self.jobs.items()}
        if self.job.running or cancelled != self.jobs:
            self.jobs = cancelled
            self.job = replace(self.job, cancelling=self.job.running)
            self.sigJobChanged.emit(self.job)
        self.unfinished("the trace was cancelled; the lanes verified so far stay on screen")
        self.sigCancelRequested.emit()

    def notify(self, message: str) -> None:
        """A one-line notice for the status bar."""
        self.sigStatus.emit(message)

    def fail(self, message: str, kind: str = TRACE) -> None:
        """A job of `kind` failed; the window keeps the last results and says why
        (`failed_kind` names the job while sigFailed is handled)."""
        self.failed_kind = kind
        self.sigFailed.emit(message)

    # ---- selection -----------------------------------------------------------------------
    def select(self, **changes: Any) -> None:
        """Move the selection (layer, direction, t, unit, batch); values are clamped to the
        shown trace's ranges (or the spec's, before any trace)."""
        spec = self.snapshot.spec if self.snapshot is not None else self.spec
        self._set_selection(clamp_selection(replace(self.selection, **changes), spec))

    def step(self, delta: int) -> None:
        """Move the timestep by `delta`, clamped to [0, seq_len - 1]."""
        self.select(t=self.selection.t + delta)

    def _set_selection(self, new: Selection) -> None:
        if new != self.selection:
            self.selection = new
            self.sigSelectionChanged.emit(new)
