"""Everything the views show for one configuration, computed in one call off the GUI thread.

A Snapshot bundles the trace (torch's real run), the shape report and the drawn graph. The
window's worker and the CLI both call `compute_snapshot`, so they show the same numbers.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import networkx as nx

from rnnviz.analysis.graph import DEFAULT_FOLD, DRAW_FOLD_ABOVE, build_graph
from rnnviz.analysis.shapes import ShapeReport, shapes
from rnnviz.config.options import RunOptions
from rnnviz.config.spec import Spec
from rnnviz.engine.record import Trace

if TYPE_CHECKING:  # torch is imported only when a snapshot is computed
    from rnnviz.engine.cancel import Cancel, Progress


@dataclass(frozen=True)
class Snapshot:
    """A spec, how it was run, and all that follows: trace, shape report, drawn graph."""

    spec: Spec
    options: RunOptions
    trace: Trace
    report: ShapeReport
    graph: nx.DiGraph  # folded for drawing when seq_len > DRAW_FOLD_ABOVE
    seconds: float

    @property
    def source_note(self) -> str:
        """What the trace is of beyond its spec and run options, in the words an export's
        title carries: "" for the random-input trace (a TextSnapshot names its epoch)."""
        return ""


def draw_fold(spec: Spec) -> int | None:
    """The fold drawn views use for `spec`: DEFAULT_FOLD above DRAW_FOLD_ABOVE steps, else none."""
    return DEFAULT_FOLD if spec.seq_len > DRAW_FOLD_ABOVE else None


def compute_snapshot(
    spec: Spec,
    options: RunOptions | None = None,
    *,
    lanes: Literal["all"] | Iterable[tuple[int, str]] = "all",
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> Snapshot:
    """Trace `spec` (see trace_spec) and derive its shape report and drawn graph.

    `lanes` as for `trace`: the window asks for the lane on screen first and completes the
    rest with `complete_snapshot`."""
    from rnnviz.engine.tracing import trace_spec

    started = time.perf_counter()
    options = options or RunOptions()
    tr = trace_spec(spec, options, lanes=lanes, progress=progress, cancel=cancel)
    return snapshot_of(spec, options, tr, time.perf_counter() - started)


def snapshot_of(spec: Spec, options: RunOptions, trace: Trace, seconds: float) -> Snapshot:
    """The Snapshot of a trace of `spec` run as `options` say (`trace_spec`'s, made here or
    in a child process): its shape report and drawn graph added; `seconds` is the trace's
    time so far. Needs no torch."""
    started = time.perf_counter()
    report = shapes(spec, options.api)
    graph = build_graph(spec, fold=draw_fold(spec), api=options.api)
    return Snapshot(spec, options, trace, report, graph, seconds + time.perf_counter() - started)


def complete_snapshot(
    snap: Snapshot,
    lanes: Literal["all"] | Iterable[tuple[int, str]] = "all",
    *,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> Snapshot:
    """`snap` with its trace's pending `lanes` recomputed and verified (`complete_lanes`);
    the same shape report and graph objects, so views see an unchanged drawing. Returns
    `snap` itself when nothing asked for is pending."""
    if snap.trace.complete:
        return snap
    from rnnviz.engine.lanes import complete_lanes

    started = time.perf_counter()
    tr = complete_lanes(snap.trace, lanes, progress=progress, cancel=cancel)
    if tr is snap.trace:
        return snap
    return dataclasses.replace(snap, trace=tr, seconds=snap.seconds + time.perf_counter() - started)
