"""The jobs the runner can run: each turns (spec, options) into one immutable result record.

A job is registered under the result kind it produces. A new capability plugs in here: a
record type, a `Job` that computes it (off the GUI thread, checking `cancel` between chunks
and reporting `progress`), and a view that `want`s its kind on the document.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rnnviz.config.budget import check_budget
from rnnviz.config.options import RunOptions
from rnnviz.config.spec import Spec
from rnnviz.document.document import TRACE

Progress = Callable[[float], None]
Cancel = Callable[[], bool]


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


def _check_trace(spec: Spec, options: RunOptions) -> None:
    options.check(spec)
    check_budget(spec)


def _describe_trace(spec: Spec, options: RunOptions) -> str:
    return f"tracing {spec.title()} on seq_len {spec.seq_len} × batch {spec.batch_size} …"


def _run_trace(spec: Spec, options: RunOptions, progress: Progress, cancel: Cancel) -> Any:
    from rnnviz.document.snapshot import compute_snapshot  # imports torch the first time
    from rnnviz.engine.threads import set_threads_for

    set_threads_for(spec)
    return compute_snapshot(spec, options, progress=progress, cancel=cancel)


#: Result kind → job. The forward trace is what every view draws.
JOBS: dict[str, Job] = {TRACE: Job(_check_trace, _describe_trace, _run_trace)}
