"""Text in, model around, training live: the Qt-free core.

tokenize → Vocabulary → pad/pack → one-hot or Embedding → RNN (or a Cell stepped by hand) →
Linear head → loss, recorded stage by stage (`run_pipeline`); `train` records every epoch;
`trace_epoch` gives the verified rnnviz Trace of the RNN with an epoch's weights.
"""

from rnnviz.text.model import IGNORE_INDEX, Forward, TextModel, compute_loss
from rnnviz.text.pipeline import (
    Batch,
    GraphEdge,
    GraphNode,
    Pipeline,
    PipelineRun,
    Stage,
    build_pipeline,
    run_pipeline,
)
from rnnviz.text.presets import TEXT_PRESETS, TextPreset, text_preset
from rnnviz.text.settings import TextSettings
from rnnviz.text.tokens import PAD, UNK, Vocabulary, VocabularyError, tokenize
from rnnviz.text.training import EpochRecord, TrainingRun, model_at, trace_epoch, train

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
