"""The memory budget against what each output really allocates: estimate vs measured peak.

Each case runs in a child process, so one case's allocations cannot hide another's: the
child imports what the output needs (torch, and Qt for drawn formats), collects garbage,
resets the kernel's peak-RSS mark (`/proc/self/clear_refs` ← 5), notes VmRSS, produces the
output (and writes it to /dev/null), and reports VmHWM − that VmRSS: the bytes the job itself
added at its peak. The estimate is `rnnviz.config.budget.estimate_for` with the fold the
output really uses. The contract, checked by tests/test_budget_outputs.py: peak ÷ estimate
≤ 1.3 for every case.

Run: `python -m rnnviz.bench.budget` (table), `--json`, or name formats to run only those. Each case is measured by a
`python -m rnnviz.app.bench_budget` child (it needs the exporters and, for drawn formats and
gate heatmaps, Qt); this module never imports Qt or the I/O layer.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from typing import Any

from rnnviz.config.budget import human
from rnnviz.config.spec import Spec

#: Contract: the worst measured peak over its estimate.
MAX_RATIO = 1.3
_LSTM = {"cell": "lstm", "input_size": 8, "hidden_size": 16, "num_layers": 2, "bidirectional": True}
#: (output, fold, three specs): sizes chosen so every case takes seconds, and the largest is
#: big enough that the per-node/per-value terms dominate the fixed ones.
CASES: tuple[tuple[str, int | None, tuple[dict[str, Any], ...]], ...] = (
    *(
        (fmt, None, tuple({**_LSTM, "seq_len": t} for t in (250, 1000, 3000)))
        for fmt in ("graphml", "dot", "json", "md", "csv")
    ),
    *(
        (fmt, 0, tuple({**_LSTM, "seq_len": t} for t in (60, 200, 600)))
        for fmt in ("svg", "png", "pdf")
    ),
    *(
        (fmt, None, tuple({**_LSTM, "hidden_size": 8, "seq_len": t} for t in (8, 32, 96)))
        for fmt in ("gates-png", "gates-svg")
    ),
    (
        "trace",
        None,
        (
            {**_LSTM, "seq_len": 2000, "batch_size": 4},
            {"cell": "rnn", "input_size": 16384, "hidden_size": 8, "seq_len": 400, "batch_size": 8},
            {"cell": "gru", "input_size": 64, "hidden_size": 256, "seq_len": 4000, "batch_size": 4},
        ),
    ),
)


@dataclass(frozen=True)
class BudgetCase:
    """One measured case: the output, spec (as a dict), fold, estimate and peak bytes."""

    output: str
    spec: dict[str, Any]
    fold: int | None
    estimate: int
    peak: int
    seconds: float

    @property
    def ratio(self) -> float:
        """Measured peak ÷ estimate (≤ MAX_RATIO is the contract)."""
        return self.peak / self.estimate if self.estimate else float("inf")


def measure(output: str, spec_dict: dict[str, Any], fold: int | None) -> BudgetCase:
    """Run one case in a child process and return it."""
    # The child lives in the app layer: it needs the exporters (rnnviz.io, a sibling this
    # module may not import) and, for drawn formats, Qt. It makes a Qt application only for
    # those.
    module = "rnnviz.app.bench_budget"
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    proc = subprocess.run(
        [sys.executable, "-m", module, "--child", json.dumps([spec_dict, output, fold])],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{output} child failed: {proc.stderr.strip()[-500:]}")
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    return BudgetCase(output, spec_dict, fold, got["estimate"], got["peak"], got["seconds"])


def run(outputs: tuple[str, ...] | None = None) -> list[BudgetCase]:
    """Every case (or those of `outputs`), in order."""
    return [
        measure(out, spec, fold)
        for out, fold, specs in CASES
        if outputs is None or out in outputs
        for spec in specs
    ]


def table(cases: list[BudgetCase]) -> str:
    """The estimate ÷ peak table as Markdown, worst ratio last."""
    lines = [
        "| output | spec | fold | estimate | peak | peak ÷ estimate | s |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for c in cases:
        s = Spec(**c.spec)
        lines.append(
            f"| {c.output} | {s.title()} T={s.seq_len} B={s.batch_size} | "
            f"{'-' if c.fold is None else c.fold} | {human(c.estimate)} | {human(c.peak)} | "
            f"{c.ratio:.2f} | {c.seconds:.1f} |"
        )
    worst = max(cases, key=lambda c: c.ratio)
    lines.append(
        f"\nworst peak ÷ estimate: {worst.ratio:.2f} ({worst.output}); contract ≤ {MAX_RATIO}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """`python -m rnnviz.bench.budget [--json] [FORMAT ...]`; exit 1 if
    any case is over the contract. (No argparse: this core module stays below the CLI.)"""
    args = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in args
    only = tuple(a for a in args if a != "--json")
    cases = run(only or None)
    if as_json:
        print(json.dumps([{**asdict(c), "ratio": c.ratio} for c in cases], indent=1))
    else:
        print(table(cases))
    return 0 if all(c.ratio <= MAX_RATIO for c in cases) else 1


if __name__ == "__main__":
    sys.exit(main())
