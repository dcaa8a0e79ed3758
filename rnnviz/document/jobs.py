"""The jobs the runner can run: each turns (spec, options) into one immutable result record.

A job is registered under the result kind it produces. A new capability plugs in here: a
record type, a `Job` that computes it (off the GUI thread, checking `cancel` between chunks
and reporting `progress`), and a view that `want`s its kind on the document.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Literal

from rnnviz.config.budget import BudgetError, check_budget, default_budget, estimate, human
from rnnviz.config.options import RunOptions
from rnnviz.config.spec import Spec
from rnnviz.document.document import COMPARE, GRAD, TRACE
from rnnviz.document.job import Cancel, Focus, Job, JobContext, Progress, Resume, Stream

__all__ = ["JOBS", "Cancel", "Focus", "Job", "JobContext", "Progress", "Resume", "Stream"]


def _check_trace(spec: Spec, options: RunOptions) -> None:
    options.check(spec)
    check_budget(spec)


def _describe_trace(spec: Spec, options: RunOptions) -> str:
    return f"tracing {spec.title()} on seq_len {spec.seq_len} × batch {spec.batch_size} …"


#: What the status line says while a session's first trace waits for torch's import.
LOADING_TORCH = "loading torch (once a session) …"


def torch_loaded() -> bool:
    """Whether torch has been imported in full: not merely started by another thread (the
    launch starts the import once the window has painted), which puts it in sys.modules
    at once. Never imports it."""
    import sys

    module = sys.modules.get("torch")
    return module is not None and not getattr(module.__spec__, "_initializing", False)


def _run_trace_source(key: Any, ctx: JobContext) -> Any:
    from rnnviz.document.training import run_epoch_trace  # imports torch the first time

    return run_epoch_trace(key, ctx)


def _run_trace(spec: Spec, options: RunOptions, progress: Progress, cancel: Cancel) -> Any:
    from rnnviz.document.snapshot import compute_snapshot  # imports torch the first time
    from rnnviz.engine.threads import set_threads_for

    set_threads_for(spec)
    return compute_snapshot(spec, options, progress=progress, cancel=cancel)


def _check_grads(spec: Spec, options: RunOptions, copies: int) -> None:
    """Refuse before allocating: a gradient trace holds its forward trace plus about as much
    again (∂L/∂h_t, ∂L/∂c_t, both sides' ∂L/∂θ), and a comparison holds four of them."""
    options.check(spec)
    est = estimate(spec, graph_nodes=False)
    need, limit = 2 * copies * est.total, default_budget()
    if need > limit:
        raise BudgetError(
            "size",
            f"gradients of this configuration need about {human(need)}, over the memory "
            f"budget of {human(limit)}; reduce hidden_size, num_layers, seq_len or batch_size",
        )


def _check_grad(spec: Spec, options: RunOptions) -> None:
    _check_grads(spec, options, 1)


def _check_compare(spec: Spec, options: RunOptions) -> None:
    _check_grads(spec, options, 4)


def _describe_grad(spec: Spec, options: RunOptions) -> str:
    return f"gradients through time of {spec.title()} over {spec.seq_len} steps …"


def _run_grad(
    spec: Spec, options: RunOptions, progress: Progress, cancel: Cancel, loss: str = "last"
) -> Any:
    """A `rnnviz.grad.result.GradResult` for `loss` (the kind's param; "last" by default)."""
    from rnnviz.engine.threads import set_threads_for
    from rnnviz.grad.result import grad_result

    set_threads_for(spec)
    return grad_result(spec, options, loss, progress=progress, cancel=cancel)


def _run_grad_source(key: Any, ctx: JobContext) -> Any:
    from rnnviz.document.training import run_epoch_grad  # imports torch the first time

    return run_epoch_grad(key, ctx)


def _describe_compare(spec: Spec, options: RunOptions) -> str:
    return f"comparing RNN tanh, RNN relu, LSTM and GRU over {spec.seq_len} steps …"


def _run_compare(
    spec: Spec,
    options: RunOptions,
    progress: Progress,
    cancel: Cancel,
    loss: str = "last",
    forget_bias: float | None = None,
    clip: float | None = None,
) -> Any:
    """A `rnnviz.grad.chain.Comparison` at the options' weight scale, with the kind's params
    (loss, forget-gate bias added to the LSTM, gradient clipping threshold)."""
    from rnnviz.config.spec import SpecError
    from rnnviz.engine.threads import set_threads_for
    from rnnviz.grad.chain import compare

    if forget_bias is not None and not spec.bias:
        raise SpecError("bias", "a forget-gate bias needs bias=True")
    set_threads_for(spec)
    return compare(spec, options, loss, None, forget_bias, clip, progress=progress, cancel=cancel)


#: Forward multiply-accumulates from which the window verifies the lane on screen first and
#: the other lanes after; below it the full trace costs a few ms and lands in one piece.
STREAM_MACS = 5e7


def _stream_trace(
    spec: Spec, options: RunOptions, progress: Progress, cancel: Cancel, focus: Focus
) -> Iterator[tuple[Any, str]]:
    """The window's trace: the forward and the lane on screen first (about the cost of the
    forward alone), then every other lane, one at a time, the lane on screen first whenever
    the user moved to one still pending. Yields a snapshot after the first lane, after each
    lane the user is waiting for, and when complete; in between, (None, what it does next)
    after every lane. Progress is the share of the lanes' multiply-adds verified
    (`verified_share`): the forward weighs as much as every lane together, and the first
    stage (forward and first lane) counts for both. A session's first trace first says
    that it waits for torch's import (LOADING_TORCH), then that it traces."""
    loading = not torch_loaded()
    if loading:
        # The import takes 1-2 s, longer than most traces: the line says so, not "tracing".
        yield None, LOADING_TORCH
    from rnnviz.document.snapshot import compute_snapshot
    from rnnviz.engine.threads import set_threads_for

    set_threads_for(spec)
    if loading:
        yield None, _describe_trace(spec, options)
    lanes = first_lanes(spec, focus)
    if lanes == "all":
        yield compute_snapshot(spec, options, progress=progress, cancel=cancel), ""
        return
    snap = compute_snapshot(
        spec,
        options,
        lanes=lanes,
        progress=_stage(progress, 0.0, _share(spec, lanes)),
        cancel=cancel,
    )
    progress(verified_share(snap.trace))
    if not snap.trace.complete:
        yield snap, _verifying(snap, snap)
    yield from _finish_lanes(snap, progress, cancel, focus)


def first_lanes(spec: Spec, focus: Focus) -> Literal["all"] | list[tuple[int, str]]:
    """The lanes the window's first result of `spec` verifies: all of them below
    STREAM_MACS, where the whole recompute costs a few ms and a second repaint of every view
    would cost more than it saves; else only the lane on screen (`focus()`)."""
    return "all" if spec.macs < STREAM_MACS else [_lane(spec, focus)]


def _resume_trace(
    snap: Any, progress: Progress, cancel: Cancel, focus: Focus
) -> Iterator[tuple[Any, str]]:
    """A partial trace finished from its recorded forward (a cancelled stream, or one whose
    result a view or an export waits for): only the pending lanes, bit for bit what the full
    trace gives (`complete_lanes`), yielded as `_stream_trace` yields them."""
    if not torch_loaded():
        # A partial first trace from the launch's child process: this process has not
        # imported torch yet, and the import comes first (1-2 s).
        yield None, LOADING_TORCH
    from rnnviz.engine.threads import set_threads_for

    set_threads_for(snap.spec)
    yield from _finish_lanes(snap, progress, cancel, focus)


def _finish_lanes(
    snap: Any, progress: Progress, cancel: Cancel, focus: Focus
) -> Iterator[tuple[Any, str]]:
    """Verify `snap`'s pending lanes one at a time, the lane on screen first whenever it is
    pending. `snap` is the record on screen. Yields (None, what it does next) after each
    lane, the snapshot instead when the lane on screen is verified here but not yet shown,
    and (complete snapshot, "") last; progress is `verified_share`."""
    from rnnviz.document.snapshot import complete_snapshot

    spec, shown = snap.spec, snap
    while not snap.trace.complete:
        wanted = _lane(spec, focus)
        pending = snap.trace.pending_lanes
        lane = wanted if wanted in pending else min(pending)
        verified = snap.trace.verified_lanes
        stage = _stage(progress, _share(spec, verified), _share(spec, [*verified, lane]))
        snap = complete_snapshot(snap, [lane], progress=stage, cancel=cancel)
        progress(verified_share(snap.trace))
        if not snap.trace.complete:
            # The lane the user looks at is shown as soon as it is verified (also one
            # verified before the user moved to it); the others are only counted, since
            # each landed snapshot repaints every view.
            wanted = _lane(spec, focus)
            if wanted in snap.trace.verified_lanes and not shown.trace.has_lane(*wanted):
                shown = snap
            yield (snap if shown is snap else None), _verifying(snap, shown)
    yield snap, ""


def _verifying(snap: Any, shown: Any) -> str:
    """What a stream does next: how many lanes it has verified (`snap`), and how many of
    them the record on screen holds (`shown`, the count the status badge gives). The two
    differ while verified lanes are only counted; the words say which is which, so the
    status line never seems to contradict the badge."""
    tr = snap.trace
    return (
        f"verifying the other lanes ({tr.lanes_verified} of {tr.lanes_total} done, "
        f"{shown.trace.lanes_verified} on screen) …"
    )


def _describe_resume(snap: Any) -> tuple[str, float]:
    """The status line and progress a resume of the partial trace `snap` (the one on
    screen) starts from."""
    return _verifying(snap, snap), verified_share(snap.trace)


def _work(spec: Spec) -> int:
    """Every multiply-add a streamed trace does, the unit its percentage counts in: the
    forward (`Spec.macs`) plus each lane's recompute (`Spec.lane_macs`; together as many as
    the forward again)."""
    return spec.macs + spec.num_directions * sum(map(spec.lane_macs, range(spec.num_layers)))


def _share(spec: Spec, lanes: Iterable[tuple[int, str]]) -> float:
    """The share of `_work` done once the forward and `lanes` are verified. Summed as
    integers: a float sum's order could make a superset's share an ulp smaller."""
    return (spec.macs + sum(spec.lane_macs(layer) for layer, _ in lanes)) / _work(spec)


def verified_share(trace: Any) -> float:
    """How much of the trace's work a (partial) trace holds: its forward (every record has
    it) and its verified lanes, each weighed by its multiply-adds; 1.0 when complete.
    Verifying a lane only adds, so it never goes back."""
    return _share(trace.spec, trace.verified_lanes)


def _stage(progress: Progress, done: float, end: float) -> Progress:
    """Progress of a stage that takes the work from `done` to `end` (shares of the whole):
    [done, end), never its end, which the caller reports once the stage's lane is verified
    (so the percentage never runs ahead of the lanes counted as verified)."""
    return lambda p: progress(done + min(max(p, 0.0), 0.99) * (end - done))


def _lane(spec: Spec, focus: Focus) -> tuple[int, str]:
    """The lane on screen, clamped to `spec` (the selection may still be an old spec's)."""
    layer, direction = focus()
    return (
        max(0, min(layer, spec.num_layers - 1)),
        direction if direction in spec.directions else "fwd",
    )


#: Result kind → job. The forward trace is what every view draws; gradients and the
#: comparison only while the Gradients view (or its Compare panel) is open.
JOBS: dict[str, Job] = {
    TRACE: Job(
        _check_trace,
        _describe_trace,
        _run_trace,
        run_source=_run_trace_source,
        stream=_stream_trace,
        resume=_resume_trace,
        describe_partial=_describe_resume,
    ),
    GRAD: Job(_check_grad, _describe_grad, _run_grad, run_source=_run_grad_source),
    COMPARE: Job(_check_compare, _describe_compare, _run_compare),
}
