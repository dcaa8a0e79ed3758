"""Estimate the memory a configuration needs before anything is allocated, and refuse big ones.

A hidden_size of 65536 with 64 layers would ask torch for tens of GB and take the machine down
with it; the estimate is arithmetic on the Spec alone, so the refusal costs microseconds.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass

from rnnviz.config.spec import Spec, SpecError

#: Bytes per value: the app traces in float32.
ITEM = 4
#: Rough bytes networkx spends per node and per edge with our attributes (measured ~0.9 KB
#: per node with its edges on CPython 3.11; rounded up).
GRAPH_BYTES_PER_NODE = 1500
ENV_BUDGET = "RNNVIZ_MEMORY_BUDGET"
#: Copies of the parameters a trace holds: the module's and the trace's own.
PARAM_COPIES = 2


class BudgetError(SpecError):
    """The configuration would need more memory than the budget allows."""


@dataclass(frozen=True)
class MemoryEstimate:
    """Estimated peak bytes of one build + trace, by part."""

    parameters: int
    activations: int
    gates: int
    graph: int
    #: What the output path itself allocates on top (`estimate_for`): serialized text, a
    #: drawn scene and its painter, copies made to save, the libraries' working set.
    output: int = 0

    @property
    def total(self) -> int:
        """Sum of the parts."""
        return self.parameters + self.activations + self.gates + self.graph + self.output


def _param_count(spec: Spec) -> int:
    """Total parameters by formula (what `parameter_inventory` sums, without building it:
    this runs before every trace and must stay cheap for absurd specs too)."""
    g, h, hout = spec.gate_count, spec.hidden_size, spec.out_hidden
    per_dir = [
        g * h * (spec.layer_input_size(k) + hout)
        + (2 * g * h if spec.bias else 0)
        + spec.proj_size * h
        for k in range(min(spec.num_layers, 2))
    ]
    total = per_dir[0] + per_dir[-1] * (spec.num_layers - 1)
    return total * spec.num_directions


def estimate(
    spec: Spec, graph_nodes: bool = True, trace: bool = True, fold: int | None = None
) -> MemoryEstimate:
    """Estimated bytes to build, trace and draw `spec` in float32.

    `trace=False` counts only the graph (an export drawn from arithmetic builds no module);
    `fold=k` counts the graph drawn with k steps kept at each end.

    Parameters are held twice (the module and the trace's copy); activations cover the
    module's output, each layer's input and output, and the largest gate pre-activation
    buffer; gates are every recorded per-step array.
    """
    tb = spec.seq_len * spec.batch_size
    d, h, hout = spec.num_directions, spec.hidden_size, spec.out_hidden
    params = PARAM_COPIES * _param_count(spec) * ITEM
    per_dir_gates = {"lstm": 5 * h + hout, "gru": 4 * h, "rnn": 2 * h}[spec.cell]
    gates = spec.num_layers * d * tb * per_dir_gates * ITEM
    widest = max(spec.input_size, d * hout)
    activations = (3 * d * hout + widest + spec.gate_count * h * 2) * tb * ITEM
    steps = spec.seq_len if not fold or spec.seq_len <= 2 * fold + 1 else 2 * fold + 1
    nodes = spec.num_layers * d * (steps + 2) + 2 * steps if graph_nodes else 0
    if not trace:
        params = activations = gates = 0
    return MemoryEstimate(params, activations, gates, nodes * GRAPH_BYTES_PER_NODE)


def human(n: float) -> str:
    """Bytes as text with a binary unit, e.g. '1.5 GiB'."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"


def parse_bytes(text: str) -> int:
    """'4G', '512M', '1.5GiB' or a plain byte count → bytes; ValueError if unreadable."""
    t = text.strip().upper().removesuffix("IB").removesuffix("B")
    mult = 1
    if t and t[-1] in "KMGT":
        mult = 1024 ** ("KMGT".index(t[-1]) + 1)
        t = t[:-1]
    value = float(t)
    if not 0 < value < math.inf:  # NaN, 'inf' and '1e400' would fail int() below
        raise ValueError(f"memory budget must be positive, got {text!r}")
    return int(value * mult)


#: How long a reading of MemAvailable is reused: every trace checks the budget, and reading
#: /proc/meminfo cost more than the rest of a small trace's fixed work.
MEMINFO_TTL_S = 1.0
_meminfo: list[float] = []  # [time read (monotonic), bytes]


def available_memory() -> int:
    """MemAvailable from /proc/meminfo in bytes (read at most once per MEMINFO_TTL_S), or
    8 GiB where that cannot be read."""
    now = time.monotonic()
    if _meminfo and now - _meminfo[0] < MEMINFO_TTL_S:
        return int(_meminfo[1])
    value = _read_meminfo()
    _meminfo[:] = [now, value]
    return value


def _read_meminfo() -> int:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 8 << 30


#: A limit set for one call tree with `budget_limit` (the CLI's --memory-budget), so the
#: trace's own check uses the limit the user raised or lowered, not the default.
_LIMIT: ContextVar[int | None] = ContextVar("rnnviz_budget_limit", default=None)


@contextlib.contextmanager
def budget_limit(limit: int | None) -> Iterator[None]:
    """Within the block, `default_budget()` is `limit` (None leaves it unchanged)."""
    token = _LIMIT.set(limit if limit is not None else _LIMIT.get())
    try:
        yield
    finally:
        _LIMIT.reset(token)


def default_budget() -> int:
    """The `budget_limit` in force, else $RNNVIZ_MEMORY_BUDGET if set, else half of the
    memory available now."""
    limit = _LIMIT.get()
    if limit is not None:
        return limit
    env = os.environ.get(ENV_BUDGET)
    if env:
        try:
            return parse_bytes(env)
        except ValueError:
            raise SpecError(
                "memory_budget", f"${ENV_BUDGET}={env!r} is not a size like 4G or 512M"
            ) from None
    return available_memory() // 2


def check_budget(
    spec: Spec,
    budget: int | None = None,
    graph: bool = True,
    trace: bool = True,
    fold: int | None = None,
    *,
    estimate_of: MemoryEstimate | None = None,
) -> MemoryEstimate:
    """The estimate for what is made of `spec` — its trace unless `trace` is False, its graph
    (folded to `fold` steps at each end when given) unless `graph` is False — or
    `estimate_of` when given (e.g. `estimate_for(spec, "graphml")`); raises BudgetError
    naming the largest part if over `budget` (default: `default_budget()`)."""
    est = (
        estimate(spec, graph_nodes=graph, trace=trace, fold=fold)
        if estimate_of is None
        else estimate_of
    )
    limit = default_budget() if budget is None else budget
    if est.total > limit:
        parts = {
            "parameters": est.parameters,
            "activations": est.activations,
            "recorded gates": est.gates,
            "graph": est.graph,
            "output": est.output,
        }
        big = max(parts, key=lambda k: parts[k])
        raise BudgetError(
            "size",
            f"this configuration needs about {human(est.total)} "
            f"({big} {human(parts[big])}), over the memory budget of "
            f"{human(limit)}; reduce hidden_size, num_layers, seq_len or "
            f"batch_size, or raise the budget (--memory-budget / ${ENV_BUDGET})",
        )
    return est


# ---- per output ---------------------------------------------------------------------------------
#: Everything `estimate_for` knows: "trace" (a trace, saved), "shapes" (the report), and each
#: export format key.
OUTPUTS = (
    "trace",
    "shapes",
    "svg",
    "png",
    "pdf",
    "graphml",
    "dot",
    "json",
    "md",
    "csv",
    "gates-png",
    "gates-svg",
)
MiB = 1 << 20
#: Bytes per graph node each output allocates at its peak: the networkx graph, the writer's
#: own structures (GraphML builds an ElementTree, JSON a node-link dict) and the text. Fitted
#: to `rnnviz bench`'s budget section (`rnnviz.bench.budget`) on CPython 3.11, rounded up.
PER_NODE = {
    "graphml": 12_500,
    "dot": 3_200,
    "json": 6_800,
    "svg": 72_000,
    "pdf": 36_000,
    "png": 72_000,
}
#: A PNG also holds its pixels (ARGB32) and the encoder's buffers: bytes per node at scale 1,
#: times scale² (render.py caps the pixel count).
PNG_PIXELS_PER_NODE = 44_000
#: Bytes each output needs whatever the size: torch's and Qt's working set on first use.
FIXED = {
    "trace": 28 * MiB,
    "shapes": 2 * MiB,
    "md": 2 * MiB,
    "csv": 2 * MiB,
    "graphml": 4 * MiB,
    "dot": 2 * MiB,
    "json": 2 * MiB,
    "drawn": 20 * MiB,
    "gates": 60 * MiB,
}
#: Unfolded drawings above this many cells are refused: the scene costs ~70 KB and ~2 ms per
#: node, so 16k cells would be over a gigabyte and most of a minute for a picture no screen
#: or page can show. GraphML/DOT/JSON carry the whole graph; drawings fold.
MAX_DRAWN_CELLS = 2500


def graph_nodes(spec: Spec, fold: int | None = None) -> int:
    """Nodes of `build_graph(spec, fold)`: per layer and direction a cell per kept step plus
    h0 and h_n (and c's share of them), an input and an output per kept step, the fold
    markers, and for a bidirectional spec one concat node per layer and kept step (both
    directions joined into the next layer's input and the output)."""
    steps = spec.seq_len
    if fold and spec.seq_len > 2 * fold + 1:
        steps = 2 * fold + 1  # kept steps and one "…" marker per row
    concat = spec.num_layers * steps if spec.bidirectional else 0
    return spec.num_layers * spec.num_directions * (steps + 2) + 2 * steps + concat


def drawn_cells(spec: Spec, fold: int | None) -> int:
    """Cells a drawing shows with `fold` (None = unfolded)."""
    steps = spec.seq_len if not fold or spec.seq_len <= 2 * fold + 1 else 2 * fold
    return spec.num_layers * spec.num_directions * steps


def estimate_for(
    spec: Spec, output: str, fold: int | None = None, scale: float = 1.0
) -> MemoryEstimate:
    """Estimated peak bytes of producing `output` for `spec` (one of OUTPUTS).

    `fold` is the fold the output really uses (None = unfolded; for the drawn formats pass
    `rnnviz.io.export.drawn_fold`). Only what the output computes is counted: tables need no
    trace, data formats no trace, drawings no trace (a PNG's pixels grow with `scale`²); "trace" counts the input twice (torch's
    tensor and the record's copy) and the contiguous gate copies made to save it; gate
    heatmaps need a trace. ValueError for an unknown output.
    """
    if output not in OUTPUTS:
        raise ValueError(f"unknown output {output!r} (outputs: {', '.join(OUTPUTS)})")
    base = estimate(spec, graph_nodes=False)
    if output in ("shapes", "md", "csv"):
        # Pure arithmetic on the spec (rnnviz.analysis.shapes): no module, no trace, no graph.
        return MemoryEstimate(0, 0, 0, 0, FIXED[output])
    if output in ("graphml", "dot", "json"):
        nodes = graph_nodes(spec, fold)
        return MemoryEstimate(0, 0, 0, nodes * GRAPH_BYTES_PER_NODE, _graph_output(output, nodes))
    if output in ("svg", "png", "pdf"):
        nodes = graph_nodes(spec, fold)
        per_node = PER_NODE[output]
        if output == "png":
            per_node += int(PNG_PIXELS_PER_NODE * scale * scale)
        return MemoryEstimate(
            0, 0, 0, nodes * GRAPH_BYTES_PER_NODE, FIXED["drawn"] + nodes * per_node
        )
    input_copy = spec.seq_len * spec.batch_size * spec.input_size * ITEM
    saved_gates = base.gates  # to_arrays makes every gate view contiguous before writing
    if output == "trace":
        return MemoryEstimate(
            base.parameters,
            base.activations + input_copy,
            base.gates,
            0,
            FIXED["trace"] + saved_gates,
        )
    # Gate heatmaps: a whole snapshot (trace, report, drawn graph) plus the rendered view.
    nodes = graph_nodes(spec, 4 if spec.seq_len > 64 else None)
    return MemoryEstimate(
        base.parameters,
        base.activations + input_copy,
        base.gates,
        nodes * GRAPH_BYTES_PER_NODE,
        FIXED["gates"] + base.gates,
    )


def _graph_output(fmt: str, nodes: int) -> int:
    return FIXED[fmt] + nodes * (PER_NODE[fmt] - GRAPH_BYTES_PER_NODE)
