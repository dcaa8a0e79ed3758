"""What a job is: the callables the runner calls to compute one kind of result.

The registry of jobs by result kind is `rnnviz.document.jobs.JOBS`; this module holds only the
types, so a module that defines a job (e.g. `rnnviz.document.training`) and the registry that
lists it do not import each other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from rnnviz.config.options import RunOptions
from rnnviz.config.spec import Spec

Progress = Callable[[float], None]
Cancel = Callable[[], bool]
#: What the user looks at now, as (layer, direction): read by a streaming job between chunks.
Focus = Callable[[], tuple[int, str]]
#: A streaming job yields (record, what it does next); "" next marks the final record, and a
#: None record only says what it does next (nothing new to show yet).
Stream = Callable[[Spec, RunOptions, Progress, Cancel, Focus], Iterator[tuple[Any, str]]]
#: Finishes a partial record of the job's kind (a trace with lanes pending); yields as Stream.
Resume = Callable[[Any, Progress, Cancel, Focus], Iterator[tuple[Any, str]]]


@dataclass(frozen=True)
class JobContext:
    """What a job with a source gets from the runner besides its key.

    - `progress(p)`: how far it has got, p in [0, 1].
    - `cancel()`: True once the job should stop (superseded or cancelled).
    - `partial(record)`: hand over a result so far (an epoch of training); the document gets
      it like a finished result, and the final record replaces it.
    - `paused()`: True while the user holds the job (training's Pause); a job that can pause
      waits between its steps.
    """

    progress: Callable[[float], None]
    cancel: Callable[[], bool]
    partial: Callable[[Any], None] = lambda record: None
    paused: Callable[[], bool] = lambda: False


@dataclass(frozen=True)
class Job:
    """How to compute one kind of result.

    - `check(spec, options)`: raise SpecError before any allocation (the memory budget);
      runs on the document's thread, so it must take microseconds.
    - `describe(spec, options)`: the status bar's one line while it runs.
    - `run(spec, options, progress, cancel)`: the record; runs on the worker thread.
    - `stream` (optional; the window's runner uses it instead of `run`): yields a first
      record early and better ones after, each with what it does next ("" for the last);
      `focus()` says what the user is looking at, so that comes first.
    - `resume` (optional): finishes a partial record of this kind from what it already
      holds (the trace's pending lanes from its recorded forward) instead of starting over.
    """

    check: Callable[[Spec, RunOptions], None]
    describe: Callable[[Spec, RunOptions], str]
    run: Callable[[Spec, RunOptions, Progress, Cancel], Any]
    #: For keys with a `source` (text mode): `run_source(key, context)` is called instead.
    run_source: Callable[[Any, JobContext], Any] | None = field(default=None)
    #: Jobs of one lane run one at a time on their own worker thread; training has its own
    #: lane so a paused or long training never blocks the traces the views need.
    lane: str = "trace"
    #: The window's streaming variant of `run` (lanes on demand; see _stream_trace).
    stream: Stream | None = None
    #: Finishes the partial record on screen (see Document.partial) instead of starting over.
    resume: Resume | None = None
    #: The status line and progress a resume starts from, given the partial record.
    describe_partial: Callable[[Any], tuple[str, float]] | None = None

    def status(self, spec: Spec, options: RunOptions, start: Any = None) -> tuple[str, float]:
        """The status line and progress a run of this job starts from: its description at 0,
        or, when it finishes the partial record `start`, how far that record has got."""
        if start is not None and self.describe_partial is not None:
            return self.describe_partial(start)
        return self.describe(spec, options), 0.0
