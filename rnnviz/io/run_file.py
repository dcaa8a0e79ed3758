"""Run files: a training run saved with torch.save, readable with torch.load(weights_only=True).

The file is one dict of plain types and tensors only, so loading it never unpickles code:
    {"format": "rnnviz-text-run", "version": 1,
     "pipeline": {"settings": {...}, "vocabulary": {...}, "target_vocabulary": {...}},
     "initial": {name: tensor}, "final": {name: tensor},
     "history": [{"epoch": int, "loss": float, "predicted": [str, ...]}, ...]}
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from rnnviz.config.spec import SpecError
from rnnviz.io.atomic import atomic_open
from rnnviz.text.pipeline import Pipeline, build_pipeline, make_model
from rnnviz.text.settings import TextSettings
from rnnviz.text.tokens import Vocabulary, VocabularyError
from rnnviz.text.training import TrainingRun

RUN_FORMAT = "rnnviz-text-run"
RUN_VERSION = 1


class RunFileError(ValueError):
    """A file is not a readable rnnviz text run; the message says why."""


@dataclass(frozen=True)
class SavedRun:
    """What a run file holds: settings, the pipeline they rebuild (vocabularies checked
    against the file's), `initial`/`final` state_dicts (numpy) and the per-epoch history
    (dicts with epoch, loss, predicted)."""

    settings: TextSettings
    pipeline: Pipeline
    initial: dict[str, np.ndarray]
    final: dict[str, np.ndarray]
    history: tuple[dict[str, Any], ...]


def _tensors(state: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(np.array(v)) for k, v in state.items()}


def run_to_dict(run: TrainingRun) -> dict[str, Any]:
    """The dict save_run writes (see the module docstring)."""
    p = run.pipeline
    return {
        "format": RUN_FORMAT,
        "version": RUN_VERSION,
        "pipeline": {
            "settings": run.settings.to_dict(),
            "vocabulary": p.vocab.to_dict(),
            "target_vocabulary": p.target_vocab.to_dict(),
        },
        "initial": _tensors(run.initial),
        "final": _tensors(run.final),
        "history": [
            {"epoch": e.epoch, "loss": e.loss, "predicted": list(e.predicted)} for e in run.epochs
        ],
    }


def save_run(run: TrainingRun, path: str | os.PathLike[str]) -> None:
    """Write `run` to `path` with torch.save, atomically (an old file survives a failure)."""
    with atomic_open(path, "wb") as fh:
        torch.save(run_to_dict(run), fh)


def load_run(path: str | os.PathLike[str]) -> SavedRun:
    """Read a run file with torch.load(weights_only=True) and validate it; returns a SavedRun.

    Anything malformed — not a torch file, pickled code, missing or extra keys, a state_dict
    whose keys or shapes do not fit the model its settings build, a bad history — raises
    RunFileError.
    """
    try:
        data = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as exc:
        # Truncated zips, foreign pickles and pickled classes all surface as assorted
        # exception types (UnpicklingError, RuntimeError, EOFError, ...); to the user each
        # means the same: not a run file this program reads.
        raise RunFileError(
            f"{path}: not a readable run file ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''})"
        ) from None
    try:
        return run_from_dict(data, str(path))
    except RunFileError:
        raise
    except Exception as exc:  # OverflowError, RecursionError … from a hand-edited value
        raise RunFileError(
            f"{path}: damaged run file ({type(exc).__name__}: {str(exc)[:80]})"
        ) from None


def run_from_dict(data: Any, where: str = "run") -> SavedRun:
    """Validate a loaded run dict; returns a SavedRun or raises RunFileError."""

    def fail(msg: str) -> RunFileError:
        return RunFileError(f"{where}: {msg}")

    if not isinstance(data, dict):
        raise fail(f"must hold a dict, got {type(data).__name__}")
    keys = {"format", "version", "pipeline", "initial", "final", "history"}
    if set(data) != keys:
        raise fail(f"keys must be {sorted(keys)}, got {sorted(map(str, data))}")
    if data["format"] != RUN_FORMAT:
        raise fail(f"format is {data['format']!r}, not {RUN_FORMAT!r}")
    if data["version"] != RUN_VERSION:
        raise fail(f"version {data['version']!r} is not {RUN_VERSION}")
    pipe = data["pipeline"]
    if not isinstance(pipe, dict) or set(pipe) != {"settings", "vocabulary", "target_vocabulary"}:
        raise fail("pipeline must be a dict with settings, vocabulary, target_vocabulary")
    try:
        settings = TextSettings.from_dict(pipe["settings"])
        pipeline = build_pipeline(settings)
        vocab = Vocabulary.from_dict(pipe["vocabulary"])
        target_vocab = Vocabulary.from_dict(pipe["target_vocabulary"])
    except (SpecError, VocabularyError, ValueError, TypeError) as exc:
        raise fail(f"bad pipeline ({exc})") from None
    # The vocabulary is rebuilt from the text; a file whose table disagrees was edited or
    # made by another version, and its weights' rows would mean other tokens.
    if vocab != pipeline.vocab or target_vocab != pipeline.target_vocab:
        raise fail("the vocabulary does not match the one its settings' text builds")
    expected = {k: tuple(v.shape) for k, v in make_model(pipeline).state_dict().items()}
    states = {}
    for name in ("initial", "final"):
        state = data[name]
        if not isinstance(state, dict) or not all(
            isinstance(v, torch.Tensor) for v in state.values()
        ):
            raise fail(f"{name} must be a dict of tensors")
        got = {k: tuple(v.shape) for k, v in state.items()}
        if got != expected:
            raise fail(f"{name} does not fit the model: expected {expected}, got {got}")
        if any(v.dtype != torch.float32 for v in state.values()):
            raise fail(f"{name} must hold float32 tensors")
        states[name] = {k: v.detach().numpy().copy() for k, v in state.items()}
    history = data["history"]
    if not isinstance(history, list):
        raise fail("history must be a list")
    for i, h in enumerate(history):
        if not isinstance(h, dict) or set(h) != {"epoch", "loss", "predicted"}:
            raise fail(f"history[{i}] must be a dict with epoch, loss, predicted")
        if isinstance(h["epoch"], bool) or h["epoch"] != i + 1:
            raise fail(f"history[{i}].epoch must be {i + 1}")
        # Any float, NaN and Inf included: a diverging run is still a true record.
        if not isinstance(h["loss"], float):
            raise fail(f"history[{i}].loss must be a float")
        if not isinstance(h["predicted"], list) or not all(
            isinstance(s, str) for s in h["predicted"]
        ):
            raise fail(f"history[{i}].predicted must be a list of strings")
    if len(history) > settings.epochs:
        raise fail(f"history has {len(history)} epochs, settings say {settings.epochs}")
    return SavedRun(
        settings, pipeline, states["initial"], states["final"], tuple(dict(h) for h in history)
    )
