"""Training as the tutorials write it, with every epoch recorded for the window to replay.

The loop per optimizer step is the tutorial's: zero_grad, forward, loss, backward, step. The
loss and predictions an epoch records come from its forward pass *before* its step — what
the tutorial's loop prints — and its snapshot holds the weights that forward used, so
`trace_epoch` shows exactly the pass that produced that epoch's printed line.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from rnnviz.engine.record import Trace
from rnnviz.engine.tracing import trace
from rnnviz.text.model import TextModel, compute_loss, load_snapshot, snapshot
from rnnviz.text.notes import PADDED_NOTE, epoch_note
from rnnviz.text.pipeline import (
    Pipeline,
    check_trainable,
    decode_rows,
    make_model,
    run_pipeline,
    seeded,
)
from rnnviz.text.settings import TextSettings


@dataclass(frozen=True)
class EpochRecord:
    """One epoch: 1-based `epoch`; `loss` (the mean of `step_losses`, which is the single
    loss when the epoch is one step); `predicted`, one string per sequence from the forward
    pass before its step; `accuracy` over real target tokens; `state` the state_dict (numpy)
    that epoch's first forward pass used."""

    epoch: int
    loss: float
    predicted: tuple[str, ...]
    accuracy: float
    state: dict[str, np.ndarray]
    step_losses: tuple[float, ...]


@dataclass(frozen=True)
class TrainingRun:
    """A finished (or cancelled) training: settings actually used (epochs and seed filled
    in), the pipeline, `initial` and `final` state_dicts (numpy), one EpochRecord per epoch
    run, whether it was cancelled, and the wall time in seconds."""

    settings: TextSettings
    pipeline: Pipeline
    initial: dict[str, np.ndarray]
    final: dict[str, np.ndarray]
    epochs: tuple[EpochRecord, ...]
    cancelled: bool
    seconds: float

    @property
    def losses(self) -> list[float]:
        """Every epoch's loss, in order."""
        return [e.loss for e in self.epochs]


def make_optimizer(settings: TextSettings, model: torch.nn.Module) -> torch.optim.Optimizer:
    """torch.optim.Adam or SGD over model.parameters() with the settings' lr (defaults else)."""
    cls = torch.optim.Adam if settings.optimizer == "adam" else torch.optim.SGD
    return cls(model.parameters(), lr=settings.lr)


def train(
    settings: TextSettings,
    *,
    epochs: int | None = None,
    seed: int | None = None,
    on_epoch: Callable[[EpochRecord], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    pause: Callable[[], bool] | None = None,
) -> TrainingRun:
    """Train a fresh model on `settings`' text; returns a `TrainingRun`.

    `epochs`/`seed` override the settings' values (None keeps them). Weights are drawn under
    torch.manual_seed(seed) in a forked RNG, so the same seed gives the same losses bit for
    bit and the caller's RNG is untouched. `on_epoch(record)` is called after each epoch;
    `cancel()` true stops between steps (the run is returned with `cancelled` set);
    while `pause()` is true the loop sleeps between epochs.
    """
    changes = {k: v for k, v in (("epochs", epochs), ("seed", seed)) if v is not None}
    settings = settings.replace(**changes) if changes else settings
    pipeline = check_trainable(settings)
    started = time.perf_counter()
    records: list[EpochRecord] = []
    cancelled = False
    # Batches are fixed: the whole set, or (update "sequence") each sequence alone, in order.
    batches = (
        [pipeline.batch()]
        if settings.update == "batch"
        else [pipeline.batch([b]) for b in range(len(pipeline.inputs))]
    )
    # Only drawing the initial weights holds the global generator (rnnviz.config.rng); the
    # epochs draw nothing from it, so they run without blocking other threads' modules.
    with seeded(settings.seed):
        model = make_model(pipeline)
        model.train()
        initial = snapshot(model)
        optimizer = make_optimizer(settings, model)
    for epoch in range(1, settings.epochs + 1):
        while pause is not None and pause() and not (cancel is not None and cancel()):
            time.sleep(0.02)
        if cancel is not None and cancel():
            cancelled = True
            break
        state = initial if epoch == 1 else snapshot(model)
        losses: list[float] = []
        preds: list[str] = []
        right, total = 0, 0
        for batch in batches:
            optimizer.zero_grad()
            fwd = model(batch.indices, batch.lengths)
            assert batch.targets is not None
            loss = compute_loss(settings, fwd.scores, batch.targets)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            pred = fwd.scores.detach().max(dim=-1).indices
            preds.extend(decode_rows(pipeline, pred, batch.lengths))
            right += int(((pred == batch.targets) & batch.mask).sum())
            total += int(batch.mask.sum())
        # One step: its loss as is (no float round-trip through a mean of one).
        mean = losses[0] if len(losses) == 1 else float(np.mean(losses))
        record = EpochRecord(epoch, mean, tuple(preds), right / total, state, tuple(losses))
        records.append(record)
        if on_epoch is not None:
            on_epoch(record)
    final = snapshot(model)
    return TrainingRun(
        settings, pipeline, initial, final, tuple(records), cancelled, time.perf_counter() - started
    )


def model_at(run: TrainingRun, epoch: int | None = None) -> TextModel:
    """A model holding epoch `epoch`'s weights (1-based; None = the final weights)."""
    model = make_model(run.pipeline)
    if epoch is None:
        load_snapshot(model, run.final)
    else:
        if not 1 <= epoch <= len(run.epochs):
            raise IndexError(f"epoch must be from 1 to {len(run.epochs)}, got {epoch}")
        load_snapshot(model, run.epochs[epoch - 1].state)
    return model


def trace_epoch(run: TrainingRun, epoch: int | None = None, sequence: int | None = None) -> Trace:
    """The verified forward Trace of the RNN (module or Cell) with epoch `epoch`'s weights.

    The input is exactly what the model feeds its RNN on the training text (one-hot or
    embedded, zero initial state). `sequence=None` traces the whole batch; when lengths
    differ the trace runs the padded batch (a note says so): for this forward-only RNN the
    steps before each length equal the packed run, the steps after are padding packing never
    computes. `sequence=b` traces sequence b alone to its own length, which is exactly what
    packing computes for it. epoch None = the final weights.
    """
    rnn = epoch_rnn(run, epoch, sequence)
    result = trace(rnn.module, rnn.x, rnn.hx)
    return dataclasses.replace(result, notes=(*result.notes, *rnn.notes))


@dataclass(frozen=True)
class EpochRNN:
    """The RNN part of a trained model at one epoch and what it is fed on the training text:
    `module` (the nn.RNN/LSTM/GRU or Cell, epoch weights), `x` and `hx` as `trace` takes
    them, and the notes a trace or gradients of it must carry."""

    module: nn.Module
    x: torch.Tensor
    hx: Any
    notes: tuple[str, ...]


def epoch_rnn(run: TrainingRun, epoch: int | None = None, sequence: int | None = None) -> EpochRNN:
    """The RNN of epoch `epoch` (None = final weights) on the training input, whole batch or
    sequence `sequence` alone, as `trace_epoch` traces it and the Gradients view
    differentiates it."""
    pipeline = run.pipeline
    if epoch is None:
        state = run.final
    elif 1 <= epoch <= len(run.epochs):
        state = run.epochs[epoch - 1].state
    else:
        raise IndexError(f"epoch must be from 1 to {len(run.epochs)}, got {epoch}")
    if sequence is not None:
        if not 0 <= sequence < len(pipeline.inputs):
            raise IndexError(f"sequence must be from 0 to {len(pipeline.inputs) - 1}")
        pipeline = _one_sequence(pipeline, sequence)
    prun = run_pipeline(pipeline, state)
    notes = [PADDED_NOTE] if prun.packed else []
    notes.append(epoch_note(epoch, sequence))
    return EpochRNN(prun.model.recurrent, prun.rnn_input, prun.hx, tuple(notes))


def _one_sequence(pipeline: Pipeline, b: int) -> Pipeline:
    """`pipeline` cut down to sequence b, vocabularies unchanged (so the model keeps its size)."""
    return Pipeline(
        pipeline.settings,
        pipeline.vocab,
        pipeline.target_vocab,
        (pipeline.input_tokens[b],),
        (pipeline.target_tokens[b],) if pipeline.target_tokens else (),
        (pipeline.inputs[b],),
        (pipeline.targets[b],) if pipeline.targets else (),
    )
