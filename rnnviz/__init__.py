"""rnnviz: see inside nn.RNN, nn.LSTM and nn.GRU.

The notebook API:

    import rnnviz
    spec = rnnviz.Spec("lstm", input_size=5, hidden_size=6, num_layers=2)
    report = rnnviz.shapes(spec)            # shapes, parameters, counts (no torch needed)
    tr = rnnviz.trace(module, x)            # any nn.RNN/LSTM/GRU or *Cell, real forward
    tr.max_abs_diff, tr.gate(0, "fwd", "f") # verification figure, (T, B, H) forget gate

Names are imported lazily so `import rnnviz` stays fast and torch-free until a trace is asked for.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "Spec": ("rnnviz.spec", "Spec"),
    "SpecError": ("rnnviz.spec", "SpecError"),
    "shapes": ("rnnviz.shapes", "shapes"),
    "ShapeReport": ("rnnviz.shapes", "ShapeReport"),
    "trace": ("rnnviz.tracing", "trace"),
    "trace_spec": ("rnnviz.tracing", "trace_spec"),
    "RunOptions": ("rnnviz.options", "RunOptions"),
    "Cancelled": ("rnnviz.tracing", "Cancelled"),
    "Trace": ("rnnviz.record", "Trace"),
    "load_trace": ("rnnviz.record", "load_trace"),
    "build_graph": ("rnnviz.graph", "build_graph"),
    "PRESETS": ("rnnviz.presets", "PRESETS"),
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'rnnviz' has no attribute {name!r}")
