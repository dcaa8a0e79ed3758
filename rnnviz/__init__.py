"""rnnviz: see inside nn.RNN, nn.LSTM and nn.GRU.

The notebook API:

    import rnnviz
    spec = rnnviz.Spec("lstm", input_size=5, hidden_size=6, num_layers=2)
    report = rnnviz.analysis.shapes(spec)            # shapes, parameters, counts (no torch needed)
    tr = rnnviz.trace(module, x)            # any nn.RNN/LSTM/GRU or *Cell, real forward
    tr.max_abs_diff, tr.gate(0, "fwd", "f") # verification figure, (T, B, H) forget gate

Names are imported lazily so `import rnnviz` stays fast and torch-free until a trace is asked for.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "Spec": ("rnnviz.config.spec", "Spec"),
    "SpecError": ("rnnviz.config.spec", "SpecError"),
    "shapes": ("rnnviz.analysis.shapes", "shapes"),
    "ShapeReport": ("rnnviz.analysis.shapes", "ShapeReport"),
    "trace": ("rnnviz.engine.tracing", "trace"),
    "trace_spec": ("rnnviz.engine.tracing", "trace_spec"),
    "RunOptions": ("rnnviz.config.options", "RunOptions"),
    "Cancelled": ("rnnviz.engine.tracing", "Cancelled"),
    "Trace": ("rnnviz.engine.record", "Trace"),
    "load_trace": ("rnnviz.io.trace_file", "load_trace"),
    "save_trace": ("rnnviz.io.trace_file", "save_trace"),
    "save_gradients": ("rnnviz.io.trace_file", "save_gradients"),
    "build_graph": ("rnnviz.analysis.graph", "build_graph"),
    "PRESETS": ("rnnviz.config.presets", "PRESETS"),
    "gradients": ("rnnviz.grad.gradients", "gradients"),
    "gradients_spec": ("rnnviz.grad.gradients", "gradients_spec"),
    "GradTrace": ("rnnviz.grad.record", "GradTrace"),
    "load_gradients": ("rnnviz.io.trace_file", "load_gradients"),
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'rnnviz' has no attribute {name!r}")
