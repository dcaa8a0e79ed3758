"""Child process of `rnnviz.bench.budget`: produce one output and report its peak memory.

It lives in the app layer because it needs the exporters (`rnnviz.io`) and, for the outputs
Qt draws (SVG/PNG/PDF diagrams and gate heatmaps), a Qt application, made only for those.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
from typing import Any

#: Outputs drawn by Qt (the child makes a QApplication for these only).
QT_OUTPUTS = ("svg", "png", "pdf", "gates-png", "gates-svg")


def _status(key: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {key} in /proc/self/status")


def run_child(spec_dict: dict[str, Any], output: str, fold: int | None) -> dict[str, Any]:
    """In a child process: produce `output` for the spec and return {"peak", "seconds",
    "estimate"} (see module docstring). Drawn formats need their drawers registered first."""
    from rnnviz.config.budget import estimate_for
    from rnnviz.config.options import RunOptions
    from rnnviz.config.spec import Spec
    from rnnviz.engine import tracing  # noqa: F401 - import torch before the mark
    from rnnviz.io.atomic import atomic_write
    from rnnviz.io.export import export_bytes, output_estimate

    spec = Spec(**spec_dict)
    est = estimate_for(spec, "trace") if output == "trace" else output_estimate(spec, output, fold)
    # torch's kernels and allocator initialise on first use; that is the process's, not the
    # job's (FIXED in the budget covers what a first use still adds).
    tracing.trace_spec(Spec(cell=spec.cell, seq_len=2), RunOptions())
    gc.collect()
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")  # reset VmHWM to the current RSS
    base = _status("VmRSS:")
    started = time.perf_counter()
    if output == "trace":
        from rnnviz.io.trace_file import save_trace

        save_trace(tracing.trace_spec(spec, RunOptions()), os.devnull)
    else:
        atomic_write(os.devnull, export_bytes(spec, output, options=RunOptions(), fold=fold))
    return {
        "peak": _status("VmHWM:") - base,
        "seconds": time.perf_counter() - started,
        "estimate": est.total,
    }


def main(argv: list[str] | None = None) -> int:
    """`python -m rnnviz.app.bench_budget --child '[spec, output, fold]'`."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] != "--child":
        print("usage: python -m rnnviz.app.bench_budget --child CASE", file=sys.stderr)
        return 2
    spec_dict, output, fold = json.loads(args[1])
    if output in QT_OUTPUTS:
        from rnnviz.app.drawing.formats import ensure_qt_app  # registers the drawn formats

        ensure_qt_app()
    print(json.dumps(run_child(spec_dict, output, fold)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
