"""Everything the views show for one configuration, computed in one call off the GUI thread.

A Snapshot bundles the trace (torch's real run), the shape report and the drawn graph. The
window's worker and the CLI both call `compute_snapshot`, so they show the same numbers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

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


def draw_fold(spec: Spec) -> int | None:
    """The fold drawn views use for `spec`: DEFAULT_FOLD above DRAW_FOLD_ABOVE steps, else none."""
    return DEFAULT_FOLD if spec.seq_len > DRAW_FOLD_ABOVE else None


def compute_snapshot(
    spec: Spec,
    options: RunOptions | None = None,
    *,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> Snapshot:
    """Trace `spec` (see trace_spec) and derive its shape report and drawn graph."""
    from rnnviz.engine.tracing import trace_spec

    started = time.perf_counter()
    options = options or RunOptions()
    tr = trace_spec(spec, options, progress=progress, cancel=cancel)
    report = shapes(spec, options.api)
    graph = build_graph(spec, fold=draw_fold(spec), api=options.api)
    return Snapshot(spec, options, tr, report, graph, time.perf_counter() - started)
