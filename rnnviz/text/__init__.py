"""Text in, model around, training live: the Qt-free core.

tokenize → Vocabulary → pad/pack → one-hot or Embedding → RNN (or a Cell stepped by hand) →
Linear head → loss, recorded stage by stage (`run_pipeline`); `train` records every epoch;
`trace_epoch` gives the verified rnnviz Trace of the RNN with an epoch's weights.
"""

from __future__ import annotations

import importlib
from typing import Any

# Exports are loaded on first use: importing rnnviz.text.settings (torch-free) from the
# document must not import torch on the GUI thread before the window is up.
_EXPORTS = {
    "IGNORE_INDEX": "model",
    "Forward": "model",
    "TextModel": "model",
    "compute_loss": "model",
    "Batch": "pipeline",
    "GraphEdge": "pipeline",
    "GraphNode": "pipeline",
    "Pipeline": "pipeline",
    "PipelineRun": "pipeline",
    "Stage": "pipeline",
    "build_pipeline": "pipeline",
    "run_pipeline": "pipeline",
    "TEXT_PRESETS": "presets",
    "TextPreset": "presets",
    "text_preset": "presets",
    "TextSettings": "settings",
    "PAD": "tokens",
    "UNK": "tokens",
    "Vocabulary": "tokens",
    "VocabularyError": "tokens",
    "tokenize": "tokens",
    "EpochRecord": "training",
    "TrainingRun": "training",
    "model_at": "training",
    "trace_epoch": "training",
    "train": "training",
}


def __getattr__(name: str) -> Any:
    """Load an exported name from its module on first use."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'rnnviz.text' has no attribute {name!r}")
    return getattr(importlib.import_module(f"rnnviz.text.{_EXPORTS[name]}"), name)


__all__ = [
    "IGNORE_INDEX",
    "PAD",
    "TEXT_PRESETS",
    "UNK",
    "Batch",
    "EpochRecord",
    "Forward",
    "GraphEdge",
    "GraphNode",
    "Pipeline",
    "PipelineRun",
    "Stage",
    "TextModel",
    "TextPreset",
    "TextSettings",
    "TrainingRun",
    "Vocabulary",
    "VocabularyError",
    "build_pipeline",
    "compute_loss",
    "model_at",
    "run_pipeline",
    "text_preset",
    "tokenize",
    "trace_epoch",
    "train",
]
