"""One benchmark figure against its target, how two calls are timed against each other, and
the table `rnnviz bench` prints. Shared by the core's benchmarks and the app's."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rnnviz.config.spec import Spec

#: The four configurations every speed benchmark times (trace, gradients): (label, spec).
BENCH_CONFIGS: tuple[tuple[str, Spec], ...] = (
    (
        "LSTM I=128 H=512 L=4 bi T=500 B=4",
        Spec("lstm", 128, 512, 4, bidirectional=True, seq_len=500, batch_size=4),
    ),
    (
        "LSTM I=28 H=128 L=2 bi T=100 B=1",
        Spec("lstm", 28, 128, 2, bidirectional=True, seq_len=100, batch_size=1),
    ),
    (
        "GRU I=64 H=256 L=2 bi T=300 B=8",
        Spec("gru", 64, 256, 2, bidirectional=True, seq_len=300, batch_size=8),
    ),
    ("RNN I=16 H=64 T=200 B=2", Spec("rnn", 16, 64, 1, seq_len=200, batch_size=2)),
)


@dataclass
class Measure:
    """One benchmark row: a figure against its target."""

    name: str
    value: float
    unit: str
    target: float
    detail: str = ""

    @property
    def ok(self) -> bool:
        """Whether the figure meets its target (all targets are upper bounds)."""
        return self.value <= self.target


def alternate(a: Callable[[], Any], b: Callable[[], Any], repeats: int) -> tuple[float, float]:
    """Median seconds of `a` and of `b`, called alternately `repeats` times after a warm-up."""
    return _rounds(lambda: None, a, b, repeats)


def after_and_warm(
    first: Callable[[], Any], work: Callable[[], Any], repeats: int
) -> tuple[float, float]:
    """Median seconds of `work` called right after `first`, and of `work` called again at
    once (its warm cost), over `repeats` rounds after a warm-up."""
    return _rounds(first, work, work, repeats)


def _rounds(
    untimed: Callable[[], Any], a: Callable[[], Any], b: Callable[[], Any], repeats: int
) -> tuple[float, float]:
    """Median seconds of `a` and of `b` over `repeats` rounds of untimed(), a(), b(), after
    one warm-up round."""
    untimed()
    a()
    b()
    ta, tb = [], []
    for _ in range(repeats):
        untimed()
        t0 = time.perf_counter()
        a()
        t1 = time.perf_counter()
        b()
        t2 = time.perf_counter()
        ta.append(t1 - t0)
        tb.append(t2 - t1)
    return statistics.median(ta), statistics.median(tb)


def table(results: list[Measure]) -> str:
    """Results as a Markdown table (the README's Performance section is this output)."""
    lines = ["| measure | value | target | ok | detail |", "|---|---|---|---|---|"]
    for r in results:
        lines.append(
            f"| {r.name} | {r.value:.3g} {r.unit} | ≤ {r.target:g} {r.unit} | "
            f"{'yes' if r.ok else 'NO'} | {r.detail} |"
        )
    return "\n".join(lines)
