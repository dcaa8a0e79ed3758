"""The one runner: computes the document's missing results off the caller's thread (no Qt).

An accepted edit asks for the results some open view wants. The first edit after a quiet
spell starts at once (a click on a spin box arrow repaints within a frame or two); edits that
follow it inside the debounce time restart a short timer, and only the last of such a burst
runs when the timer fires. Before each start the job's memory budget is checked
(microseconds); a refusal is reported on the document like an invalid field. Each request
carries an id: starting a new one sets the previous one's cancel flag (the core checks it
between chunks and raises `Cancelled`), and a result whose id is not the latest is dropped,
so a burst of edits always ends with the results of the final spec.

Everything that touches the document goes through `post`, a callable that runs a function on
the document's thread: the app passes a Qt adapter that hops to the GUI thread
(`rnnviz.app.qt_post`); tests pass an inline or queued poster. torch is first imported on the
worker thread, so the window is on screen before that slow import starts.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from psygnal import Signal

from rnnviz.config.options import RunOptions
from rnnviz.config.spec import Spec, SpecError
from rnnviz.document.alarm import Alarm, Post
from rnnviz.document.document import TRACE, Document, ResultKey, partial_record
from rnnviz.document.jobs import JOBS, Job, JobContext
from rnnviz.document.priority import background_priority
from rnnviz.document.training import TRAIN, TRAIN_JOB

#: How long edits must pause before a job starts; spinbox arrows repeat faster than this.
DEBOUNCE_S = 0.12
#: Smallest progress step worth an event: a long trace ticks thousands of times.
PROGRESS_STEP = 0.01


def post_inline(fn: Callable[[], None]) -> None:
    """A poster that runs `fn` at once, on whatever thread asks (for single-threaded use)."""
    fn()


@dataclass
class _Request:
    rid: int
    key: ResultKey
    job: Job
    cancel: threading.Event
    #: The partial record this request finishes (Job.resume), None to compute from scratch.
    start: Any = None


class Runner:
    """Keeps a Document's wanted results in step with its spec and options.

    - sigIdle(): no request is running or waiting (tests and screenshot mode wait on it).
    Results go to `doc.set_result`; what runs and how far is `doc.set_job`; failures are
    `doc.fail`, refusals `doc.report_error`, a cancel `doc.notify`.
    """

    sigIdle = Signal()

    def __init__(
        self,
        doc: Document,
        post: Post = post_inline,
        debounce_s: float = DEBOUNCE_S,
        jobs: dict[str, Job] | None = None,
    ) -> None:
        self.doc = doc
        self._post = post
        self._jobs = jobs or {**JOBS, TRAIN: TRAIN_JOB}
        self._debounce_s = debounce_s
        self._pool: ThreadPoolExecutor | None = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="rnnviz-trace", initializer=background_priority
        )
        self._latest = 0  # id of the newest request; only its result is kept
        self._latest_of: dict[str, int] = {}  # result kind → id of its newest request
        self._lanes: dict[str, ThreadPoolExecutor] = {}  # worker threads of the other lanes
        self._running: dict[int, _Request] = {}  # submitted, not yet ended
        self._alarm = Alarm(post)
        self._timer = False  # the debounce alarm is set
        self._timer_gen = 0  # a fired alarm whose generation is old was restarted: ignore it
        self._pending = False  # an edit arrived since the last start
        self._held = False  # `hold`: requests wait for `release`
        #: Why the newest trace request ended without a complete trace ("" if none did):
        #: what the document tells a wait for the complete trace that can no longer end.
        self._trace_why = ""
        #: The first trace, computed elsewhere (`adopt_first_trace`); used once at most.
        self._first: Any = None
        doc.sigSpecChanged.connect(self.schedule)
        doc.sigOptionsChanged.connect(self.schedule)
        doc.sigWantedChanged.connect(self.schedule)
        doc.sigParamsChanged.connect(self.schedule)
        doc.sigCancelRequested.connect(self.cancel)
        doc.sigSourceChanged.connect(self.schedule)
        doc.sigCancelKind.connect(self.cancel_kind)

    # ---- requests ------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """True while a request is waiting for the debounce timer or running."""
        return self._timer or bool(self._running)

    def schedule(self, *_: Any) -> None:
        """Compute what the document lacks: at once after a quiet spell, else once edits
        pause for the debounce time (while held, once `release` is called)."""
        if self._pool is None:
            return
        if self._held:
            self._pending = True
            return
        leading = not self._timer and not self._running
        self._pending = True
        self._restart_timer()
        if leading:
            # Through the poster: with Qt that is the next turn of the event loop, not inside
            # the edit's own event, so the editor finishes handling its edit before a budget
            # refusal is reported.
            self._post(self._lead)

    def hold(self) -> None:
        """Start nothing on the document's changes until `release`; what they ask for is
        kept. The window's launch holds its first trace until the window has painted, so
        torch's import (which the first job begins with) does not slow the first paint.
        A start already posted or timed (the window's own set-up asks for results) waits too."""
        self._held = True
        self._stop_timer()

    def release(self) -> None:
        """End a `hold`: compute what the document asked for meanwhile, as `schedule` does."""
        self._held = False
        if self._pending:
            self.schedule()

    def adopt_first_trace(self, first: Any) -> None:
        """Take the next trace job's record from `first` (`rnnviz.document.first_trace`'s
        FirstTrace: `key`, `status` (the line while waiting), `wait(cancel)` → record or
        None, `close()`) when that job's key is `first.key`; a job for any other key ends
        it unused. A None from `wait` (the child failed), or any error taking it, makes the
        job trace as usual."""
        self._first = first

    def _take_first(self, req: _Request) -> Any:
        """Runs on the worker thread: the adopted first record if `req` is its job (waiting
        for it), else None; either way it is used up."""
        if req.key.kind != TRACE:  # (trace jobs run one at a time, on one worker thread)
            return None
        first, self._first = self._first, None
        if first is None:
            return None
        if first.key != req.key:
            first.close()
            return None
        # What the wait is for (the child's torch import, mostly), not "tracing …".
        self._post_safe(functools.partial(self._on_early, req.rid, None, first.status, None))
        return first.wait(req.cancel.is_set)

    def _restart_timer(self) -> None:
        self._timer_gen += 1
        gen = self._timer_gen
        self._timer = True
        self._alarm.set(self._debounce_s, lambda: self._on_timer(gen))

    def _stop_timer(self) -> None:
        self._alarm.clear()
        self._timer = False
        self._timer_gen += 1

    def _starting(self) -> bool:
        """A start waits for the debounce timer."""
        return self._timer and self._pending

    def _lead(self) -> None:
        if self._pending and self._pool is not None and not self._held:
            self.start_now()
            self._restart_timer()  # later edits of this burst wait for the quiet spell

    def _on_timer(self, gen: int) -> None:
        if gen != self._timer_gen:
            return  # restarted since: a newer alarm will fire
        self._timer = False
        if self._pending:
            self.start_now()
        else:
            self._finish_if_idle()

    def start_now(self) -> int:
        """Compute the document's missing wanted results now, superseding any running job.

        Returns the request id of the first job started (0 if nothing was needed, refused by
        the budget, or after shutdown)."""
        self._stop_timer()
        self._pending = False
        if self._pool is None:
            return 0
        kinds = self.doc.missing() or self.doc.wanted()[:1]
        # A running job whose key is still current keeps running (a training goes on while
        # the user moves the epoch slider); every other one is superseded.
        keep = {
            req.key
            for req in self._running.values()
            if not req.cancel.is_set() and req.key == self.doc.key(req.key.kind)
        }
        for req in self._running.values():
            if req.key not in keep:
                req.cancel.set()
        first = 0
        for kind in kinds:
            if self.doc.key(kind) in keep:
                continue
            rid = self._start(kind, self.doc.spec, self.doc.options)
            if not rid:
                break
            first = first or rid
        if not first:
            self._finish_if_idle()
        return first

    def _start(self, kind: str, spec: Spec, options: RunOptions) -> int:
        job = self._jobs[kind]
        spec, options = self.doc.key(kind).spec, self.doc.key(kind).options
        try:
            job.check(spec, options)
        except SpecError as exc:
            # Refused before any allocation: shown like an invalid field, old results stay.
            if kind == TRACE and self._first is not None:
                self._first.close()  # a child's trace of a refused spec is not shown either
                self._first = None
            self.doc.report_error(exc.field, exc.message)
            self._ended_why(kind, f"the trace was refused: {exc.message}")
            return 0
        self._latest += 1
        self._latest_of[kind] = self._latest
        self._ended_why(kind, "")  # a new trace request: no reason to give up yet
        key = self.doc.key(kind)
        start = self._resumable(kind)
        req = _Request(self._latest, key, job, threading.Event(), start)
        self._running[req.rid] = req
        self.doc.start_job(kind, *job.status(spec, options, start))
        assert self._pool is not None
        pool = self._pool
        if job.lane != "trace":
            pool = self._lanes.get(job.lane) or self._lanes.setdefault(
                job.lane,
                ThreadPoolExecutor(
                    max_workers=1,
                    thread_name_prefix=f"rnnviz-{job.lane}",
                    initializer=background_priority,
                ),
            )
        pool.submit(self._compute, req)
        return req.rid

    def _resumable(self, kind: str) -> Any:
        """The partial result a job of `kind` finishes from what it holds (a trace whose lanes
        were left pending), not computing it again; None to compute from scratch."""
        job = self._jobs[kind]
        resumes = job.resume is not None and self.doc.key(kind).source is None
        return self.doc.partial(kind) if resumes else None

    def _is_latest(self, rid: int) -> bool:
        """True if `rid` is the newest request of its kind (other kinds may be newer)."""
        req = self._running.get(rid)
        return rid == self._latest or (req is not None and self._latest_of.get(req.key.kind) == rid)

    def cancel_kind(self, kind: str) -> None:
        """Abandon only the running jobs of `kind` (training's Cancel); traces go on."""
        for req in self._running.values():
            if req.key.kind == kind:
                req.cancel.set()

    def cancel(self) -> None:
        """Abandon the running job (and any waiting edit); the last results stay."""
        self._stop_timer()
        self._pending = False
        for req in self._running.values():
            req.cancel.set()
        if not self._running:
            self._finish_if_idle()

    def shutdown(self) -> None:
        """Cancel everything and join the worker thread; nothing is posted afterwards."""
        self.cancel()
        self._alarm.close()
        first, self._first = self._first, None
        if first is not None:
            first.close()
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        for lane in list(self._lanes.values()):
            lane.shutdown(wait=True, cancel_futures=True)
        self._lanes.clear()
        self._running.clear()

    # ---- worker thread -------------------------------------------------------------------
    def _compute(self, req: _Request) -> None:
        """Runs on the worker thread; talks to the document only through `post`."""
        if req.cancel.is_set():  # superseded while waiting in the queue
            self._post_end(req.rid, "cancelled", "")
            return
        last = [-1.0]

        def progress(p: float) -> None:
            if p - last[0] >= PROGRESS_STEP or p >= 1.0:
                last[0] = p
                self._post_safe(lambda: self._on_progress(req.rid, float(p)))

        try:
            first = self._take_first(req)
            if first is not None and not self._adopted(req, first):
                return
        except Exception:  # noqa: BLE001 - the child's record is optional: trace here instead
            first, req.start = None, None
        if first is None and req.cancel.is_set():  # cancelled while waiting for it
            self._post_end(req.rid, "cancelled", "")
            return
        try:
            from rnnviz.engine.cancel import Cancelled  # imports torch's engine the first time
        except Exception as exc:  # a broken torch install must not kill the window
            self._post_end(req.rid, "failed", f"cannot load torch: {exc}")
            return

        def partial(record: Any) -> None:
            self._post_safe(lambda: self._on_partial(req.rid, record))

        kind = req.key.kind
        try:
            if req.key.source is not None and req.job.run_source is not None:
                ctx = JobContext(
                    progress, req.cancel.is_set, partial, lambda: kind in self.doc.paused
                )
                record = req.job.run_source(req.key, ctx)
            elif (req.job.stream is not None or req.start is not None) and not req.key.params:
                record = self._stream(req, progress)
            else:
                # A kind with settings of its own (ResultKey.params) gets them as keywords.
                record = req.job.run(
                    req.key.spec,
                    req.key.options,
                    progress,
                    req.cancel.is_set,
                    **dict(req.key.params),
                )
        except Cancelled:
            self._post_end(req.rid, "cancelled", "")
        except SpecError as exc:
            err = exc
            self._post_safe(lambda: self._on_refused(req.rid, err))
        except MemoryError:
            self._post_end(req.rid, "failed", f"out of memory computing {req.key.spec.title()}")
        except Exception as exc:  # shown in the status bar; the window keeps running
            self._post_end(req.rid, "failed", f"{type(exc).__name__}: {exc}")
        else:
            self._post_safe(lambda: self._on_result(req.rid, record))

    def _adopted(self, req: _Request, record: Any) -> bool:
        """The first trace's record came from elsewhere: post it as the result, or, when its
        trace has lanes pending and the job can finish them, as an early record, making it
        the request's start; returns whether the job still has to run (to finish it)."""
        if req.job.resume is None or partial_record(record) is None:
            self._post_safe(lambda: self._on_result(req.rid, record))
            return False
        status = req.job.status(req.key.spec, req.key.options, record)
        self._post_safe(functools.partial(self._on_early, req.rid, record, *status))
        req.start = record
        return True

    def _stream(self, req: _Request, progress: Callable[[float], None]) -> Any:
        """Run a streaming job (or finish a partial record, `req.start`): post each early
        record as it comes, and what the job does next with its progress in one post (so the
        status text and the percentage always tell the same story); return the final one."""

        def focus() -> tuple[int, str]:
            now = self.doc.selection  # a frozen record swapped whole: safe to read off-thread
            return now.layer, now.direction

        # Each report is posted when the next one comes, and one just before a yield goes
        # with the yield's text instead: a stream reports a lane verified and then says so
        # ("k of n done"), and the two must land together, never the number first.
        reached: list[float | None] = [None]

        def tracked(p: float) -> None:
            if reached[0] is not None:
                progress(reached[0])
            reached[0] = p

        if req.start is not None:
            assert req.job.resume is not None
            records = req.job.resume(req.start, tracked, req.cancel.is_set, focus)
        else:
            assert req.job.stream is not None
            records = req.job.stream(
                req.key.spec, req.key.options, tracked, req.cancel.is_set, focus
            )
        record = last = None
        for record, next_text in records:
            if not next_text:
                break
            if record is not None:
                last = record
            done, reached[0] = reached[0], None
            self._post_safe(functools.partial(self._on_early, req.rid, record, next_text, done))
        return record if record is not None else last

    def _post_safe(self, fn: Callable[[], None]) -> None:
        if self._pool is not None:
            self._post(fn)

    def _post_end(self, rid: int, kind: str, message: str) -> None:
        self._post_safe(lambda: self._on_ended(rid, kind, message))

    # ---- the document's thread -----------------------------------------------------------
    def _on_progress(self, rid: int, p: float) -> None:
        if self._is_latest(rid) and rid in self._running:
            self.doc.set_progress(p)
            kind = self._running[rid].key.kind
            status = self.doc.jobs.get(kind)
            if status is not None:
                self.doc.set_kind_job(kind, status.text, p)

    def _on_partial(self, rid: int, record: Any) -> None:
        req = self._running.get(rid)
        if (
            req is not None
            and self._pool is not None
            and not req.cancel.is_set()
            and req.key == self.doc.key(req.key.kind)
        ):
            self.doc.set_result(req.key, record)

    def _on_result(self, rid: int, record: Any) -> None:
        req = self._running.pop(rid, None)
        # With a newer edit waiting, this result already shows an old spec: drop it. Jobs of
        # other lanes depend only on their own source: kept while it is still current (a
        # cancelled training hands back the epochs it finished).
        if req is not None and self._pool is not None:
            if req.job.lane != "trace":
                if req.key == self.doc.key(req.key.kind):
                    self.doc.set_result(req.key, record)
            elif not self._pending and not req.cancel.is_set():
                self.doc.set_result(req.key, record)
        self._finish_if_idle()

    def _on_early(self, rid: int, record: Any, text: str, progress: float | None) -> None:
        """An early record of a running streaming job (None: only what it does next), shown
        now with what the job does next and how far it got (None: as before); the job goes
        on."""
        req = self._running.get(rid)
        if req is None or self._pool is None or self._pending or req.cancel.is_set():
            return
        if record is not None:
            self.doc.set_result(req.key, record)
        if progress is None:
            progress = (self.doc.jobs.get(req.key.kind) or self.doc.job).progress
        if self._is_latest(rid):
            if rid == self._latest:
                self.doc.set_job(text, progress)
            self.doc.set_kind_job(req.key.kind, text, progress)

    def _on_refused(self, rid: int, exc: SpecError) -> None:
        latest = self._is_latest(rid)
        req = self._running.pop(rid, None)
        latest = latest and self._still_asked(req)
        if latest and self._pool is not None:
            if req is not None and req.job.lane != "trace":
                # A job of its own lane (training) refuses its own settings, not the spec:
                # said as its failure, which its view shows, not beside a spec field.
                self.doc.fail(f"{exc.field}: {exc.message}", req.key.kind)
            else:
                self.doc.report_error(exc.field, exc.message)
            if req is not None:
                self._ended_why(req.key.kind, f"the trace was refused: {exc.message}")
        self._finish_if_idle()

    def _on_ended(self, rid: int, kind: str, message: str) -> None:
        latest = self._is_latest(rid)
        req = self._running.pop(rid, None)
        latest = latest and self._still_asked(req)
        if latest and self._pool is not None:
            if kind == "cancelled":
                # With a start waiting (an export or an edit asked for after the Cancel) the
                # result on screen is not the last word: the status line names what is next
                # (`_finish_if_idle`), and a notice would hide it.
                if not self._starting():
                    self.doc.notify("cancelled; showing the last finished result")
            else:
                self.doc.fail(message, req.key.kind if req is not None else TRACE)
            if req is not None:
                self._ended_why(
                    req.key.kind, "the trace was cancelled" if kind == "cancelled" else message
                )
        self._finish_if_idle()

    def _still_asked(self, req: _Request | None) -> bool:
        """False for a job of its own lane (training) whose source the document no longer
        asks for: a newer request is set but not started yet (the debounce), and the old
        one's failure or cancel must not be reported as the new one's (the Training view
        pins a failure on the request current when it is reported)."""
        if req is None or req.job.lane == "trace":
            return True
        return req.key == self.doc.key(req.key.kind)

    def _ended_why(self, kind: str, why: str) -> None:
        if kind == TRACE:
            self._trace_why = why

    def _finish_if_idle(self) -> None:
        if not self._running and self._starting():
            # Nothing runs and a start waits for the debounce (asked for while the job that
            # just ended ran, often a cancelled one): the line names what is next. It must
            # not still say "cancelling", and clearing it would hide the status widgets and
            # reveal them again a moment later, a flicker.
            kind = (self.doc.missing() or self.doc.wanted() or (TRACE,))[0]
            key = self.doc.key(kind)
            text, done = self._jobs[kind].status(key.spec, key.options, self._resumable(kind))
            self.doc.next_job(f"next: {text}", done)
        # A kind whose last job ended leaves the status bar's list.
        running = {req.key.kind for req in self._running.values()}
        for kind in [k for k in self.doc.jobs if k not in running]:
            self.doc.set_kind_job(kind, "")
        self._end_hopeless_wait()
        if not self._running and not self._timer:
            self.doc.set_job("")
            self.sigIdle.emit()

    def _end_hopeless_wait(self) -> None:
        """Something waits for the complete trace (Document.finishing) and no trace job runs
        or is about to: it will not come, so the document says why (sigTraceUnfinished)."""
        if self.doc.finishing is None or self._timer or self._pending or self._pool is None:
            return
        if any(req.key.kind == TRACE for req in self._running.values()):
            return
        why, self._trace_why = self._trace_why, ""
        self.doc.unfinished(why or "the trace job ended before every lane was verified")
