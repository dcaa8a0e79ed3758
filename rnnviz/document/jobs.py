"""The jobs the runner can run: each turns (spec, options) into one immutable result record.

A job is registered under the result kind it produces. A new capability plugs in here: a
record type, a `Job` that computes it (off the GUI thread, checking `cancel` between chunks
and reporting `progress`), and a view that `want`s its kind on the document.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rnnviz.config.budget import check_budget
from rnnviz.config.options import RunOptions
from rnnviz.config.spec import Spec
from rnnviz.document.document import TRACE

Progress = Callable[[float], None]
Cancel = Callable[[], bool]


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
    """

    check: Callable[[Spec, RunOptions], None]
    describe: Callable[[Spec, RunOptions], str]
    run: Callable[[Spec, RunOptions, Progress, Cancel], Any]
    #: For keys with a `source` (text mode): `run_source(key, context)` is called instead.
    run_source: Callable[[Any, JobContext], Any] | None = field(default=None)
    #: Jobs of one lane run one at a time on their own worker thread; training has its own
    #: lane so a paused or long training never blocks the traces the views need.
    lane: str = "trace"


def _check_trace(spec: Spec, options: RunOptions) -> None:
    options.check(spec)
    check_budget(spec)


def _describe_trace(spec: Spec, options: RunOptions) -> str:
    return f"tracing {spec.title()} on seq_len {spec.seq_len} × batch {spec.batch_size} …"


def _run_trace_source(key: Any, ctx: JobContext) -> Any:
    from rnnviz.document.training import run_epoch_trace  # imports torch the first time

    return run_epoch_trace(key, ctx)


def _run_trace(spec: Spec, options: RunOptions, progress: Progress, cancel: Cancel) -> Any:
    from rnnviz.document.snapshot import compute_snapshot  # imports torch the first time
    from rnnviz.engine.threads import set_threads_for

    set_threads_for(spec)
    return compute_snapshot(spec, options, progress=progress, cancel=cancel)


#: Result kind → job. The forward trace is what every view draws.
JOBS: dict[str, Job] = {
    TRACE: Job(_check_trace, _describe_trace, _run_trace, run_source=_run_trace_source)
}
