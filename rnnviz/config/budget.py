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


class BudgetError(SpecError):
    """The configuration would need more memory than the budget allows."""


@dataclass(frozen=True)
class MemoryEstimate:
    """Estimated peak bytes of one build + trace, by part."""

    parameters: int
    activations: int
    gates: int
    graph: int

    @property
    def total(self) -> int:
        """Sum of the parts."""
        return self.parameters + self.activations + self.gates + self.graph


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


def estimate(spec: Spec, graph_nodes: bool = True) -> MemoryEstimate:
    """Estimated bytes to build, trace and draw `spec` in float32.

    Parameters are held twice (the module and the trace's copy); activations cover the
    module's output, each layer's input and output, and the largest gate pre-activation
    buffer; gates are every recorded per-step array.
    """
    tb = spec.seq_len * spec.batch_size
    d, h, hout = spec.num_directions, spec.hidden_size, spec.out_hidden
    params = 2 * _param_count(spec) * ITEM
    per_dir_gates = {"lstm": 5 * h + hout, "gru": 4 * h, "rnn": 2 * h}[spec.cell]
    gates = spec.num_layers * d * tb * per_dir_gates * ITEM
    widest = max(spec.input_size, d * hout)
    activations = (3 * d * hout + widest + spec.gate_count * h * 2) * tb * ITEM
    nodes = spec.num_layers * d * (spec.seq_len + 2) + 2 * spec.seq_len if graph_nodes else 0
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


def check_budget(spec: Spec, budget: int | None = None, graph: bool = True) -> MemoryEstimate:
    """The estimate for `spec` (with its drawn graph unless `graph` is False); raises
    BudgetError naming the largest part if over `budget` (default: `default_budget()`)."""
    est = estimate(spec, graph_nodes=graph)
    limit = default_budget() if budget is None else budget
    if est.total > limit:
        parts = {
            "parameters": est.parameters,
            "activations": est.activations,
            "recorded gates": est.gates,
            "graph": est.graph,
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
