"""The text pipeline as recorded stages: text → tokens → indices → pad → encode → RNN → head → loss.

`build_pipeline(settings)` does the torch-free part (tokens, vocabularies, index lists);
`run_pipeline(pipeline, params)` runs the real model once and records every stage's tensor,
plus the RNN's exact input and initial state so the RNN part can be traced with
rnnviz.engine.tracing.trace, and a node/edge description of the graph around the RNN.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.nn.utils.rnn import pad_sequence

from rnnviz.config.rng import holding_global, seeded_global
from rnnviz.config.spec import SpecError
from rnnviz.text.graph import GraphEdge, GraphNode, graph_around
from rnnviz.text.model import (
    IGNORE_INDEX,
    Forward,
    TextModel,
    check_head,
    compute_loss,
    load_snapshot,
)
from rnnviz.text.settings import TextSettings
from rnnviz.text.tokens import Vocabulary, join_tokens, tokenize


@dataclass(frozen=True)
class Stage:
    """One step of the pipeline: its name, its value as numpy, that value's shape, and a
    sentence saying what it is (shown beside the table/heatmap)."""

    name: str
    value: np.ndarray
    shape: tuple[int, ...]
    description: str


@dataclass(frozen=True)
class Pipeline:
    """The torch-free half: tokens and indices of every sequence, and the vocabularies.

    `inputs[b]` / `targets[b]` are the index lists of sequence b (targets is empty for a
    pipeline without targets); `target_vocab` is `vocab` itself when the vocabulary is shared.
    """

    settings: TextSettings
    vocab: Vocabulary
    target_vocab: Vocabulary
    input_tokens: tuple[tuple[str, ...], ...]
    target_tokens: tuple[tuple[str, ...], ...]
    inputs: tuple[tuple[int, ...], ...]
    targets: tuple[tuple[int, ...], ...]

    @property
    def lengths(self) -> tuple[int, ...]:
        """Each sequence's number of real steps."""
        return tuple(len(s) for s in self.inputs)

    @property
    def num_classes(self) -> int:
        """The number of output classes: the target vocabulary's size."""
        return len(self.target_vocab)

    def decode(self, indices: Any, length: int | None = None) -> str:
        """Target-vocabulary indices → the string they read as (first `length` of them)."""
        toks = self.target_vocab.decode(list(indices)[:length])
        return join_tokens(toks, self.settings.tokenizer)

    def batch(self, rows: list[int] | None = None) -> Batch:
        """The padded tensors of sequences `rows` (all by default), as a `Batch`."""
        rows = list(range(len(self.inputs))) if rows is None else rows
        pad = self.vocab.pad_index or 0
        # pad_sequence fills with <pad>'s index when there is one; without <pad> (all lengths
        # equal) nothing is filled, so the 0 is never used.
        x = pad_sequence(
            [torch.tensor(self.inputs[r], dtype=torch.int64) for r in rows],
            batch_first=True,
            padding_value=pad,
        )
        lengths = torch.tensor([len(self.inputs[r]) for r in rows], dtype=torch.int64)
        mask = torch.arange(x.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)
        y = None
        if self.targets:
            y = pad_sequence(
                [torch.tensor(self.targets[r], dtype=torch.int64) for r in rows],
                batch_first=True,
                padding_value=IGNORE_INDEX,
            )
        return Batch(rows=tuple(rows), indices=x, lengths=lengths, mask=mask, targets=y)


@dataclass(frozen=True)
class Batch:
    """Padded tensors: `indices` (B, T) int64, `lengths` (B,), `mask` (B, T) bool (True on
    real steps), `targets` (B, T) int64 with IGNORE_INDEX on padding (None without targets)."""

    rows: tuple[int, ...]
    indices: torch.Tensor
    lengths: torch.Tensor
    mask: torch.Tensor
    targets: torch.Tensor | None


def build_pipeline(settings: TextSettings) -> Pipeline:
    """Tokenize, build the vocabularies and index every sequence; returns a `Pipeline`.

    Task "next" uses tokens[:-1] as input and tokens[1:] as target of each text (a text of
    n tokens gives n - 1 steps). Raises SpecError for a text too short to give a step, a
    map target whose token count differs from its input's, or ragged texts without <pad>.
    """
    s = settings
    toks = [tokenize(t, s.tokenizer) for t in s.texts]
    if s.task == "next":
        ins, outs = [t[:-1] for t in toks], [t[1:] for t in toks]
    else:
        ins, outs = toks, [tokenize(t, s.tokenizer) for t in s.targets]
    for b, (i, o) in enumerate(zip(ins, outs)):
        if not i:
            raise SpecError(
                "text",
                f"text {b + 1} gives no step (task {s.task} needs "
                f"{'2 tokens' if s.task == 'next' else '1 token'})",
            )
        if len(i) != len(o):
            raise SpecError(
                "target",
                f"text {b + 1}: {len(i)} input tokens but {len(o)} target tokens; "
                "task map needs equal lengths",
            )
    ragged = len({len(i) for i in ins}) > 1
    pad = s.pad == "always" or (s.pad == "auto" and ragged)
    if ragged and not pad:
        raise SpecError("pad", "texts of different lengths need <pad> (pad auto or always)")
    shared = s.shared_vocab or s.task == "next"
    source = toks + ([] if s.task == "next" or not shared else outs)
    vocab = Vocabulary.build(source, s.vocab_order, pad=pad, unk=s.unk)
    # Targets are classes: the target vocabulary needs no <pad> (padding is ignore_index).
    target_vocab = vocab if shared else Vocabulary.build(outs, s.vocab_order)
    return Pipeline(
        s,
        vocab,
        target_vocab,
        tuple(map(tuple, ins)),
        tuple(map(tuple, outs)),
        tuple(tuple(vocab.encode(i)) for i in ins),
        tuple(tuple(target_vocab.encode(o)) for o in outs),
    )


def check_trainable(settings: TextSettings) -> Pipeline:
    """`settings`' pipeline, or SpecError naming the field that keeps it from training: the
    texts (`build_pipeline`'s checks) or, without a head, a hidden size other than the
    number of classes. Cheap (no model is built): the window checks its form with it before
    asking for a training, and shows the message beside the form."""
    if settings.head == "last":
        raise SpecError(
            "head", "tasks map and next have a target per step; use head step or none to train"
        )
    pipeline = build_pipeline(settings)
    check_head(settings, pipeline.num_classes)
    return pipeline


def make_model(pipeline: Pipeline) -> TextModel:
    """A TextModel sized for `pipeline`, its weights drawn from the global RNG as it stands.

    The draws hold the global generator's lock even when the caller overwrites the weights
    (model_at, run_pipeline with params): another thread may be drawing a seeded model's
    initial weights, and one draw of ours inside its block changes all of them."""
    with holding_global():
        return TextModel(
            pipeline.settings,
            len(pipeline.vocab),
            pipeline.num_classes,
            padding_idx=pipeline.vocab.pad_index,
        )


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Run the block with torch's global RNG seeded to `seed`, restoring the caller's after.

    The global generator (not a private one) because that is what the tutorials' module
    constructors draw from: torch.manual_seed(seed) then building gives the same weights.
    """
    with seeded_global(seed):  # one lock for every thread that seeds the global generator
        yield


def seeded_model(pipeline: Pipeline, seed: int | None = None) -> TextModel:
    """make_model under `seeded(seed)` (the settings' seed by default)."""
    with seeded(pipeline.settings.seed if seed is None else seed):
        return make_model(pipeline)


@dataclass(frozen=True)
class PipelineRun:
    """One recorded pass: `stages` in order, what the RNN was given (`rnn_input` in its own
    layout, `hx`), the batch, whether it was packed, the graph, and notes.

    `rnn_input`/`hx` are detached torch tensors, ready for rnnviz.engine.tracing.trace(model.recurrent,
    rnn_input, hx); `forward` keeps the live tensors for callers that want them.
    """

    pipeline: Pipeline
    stages: tuple[Stage, ...]
    batch: Batch
    rnn_input: torch.Tensor
    hx: Any
    packed: bool
    nodes: tuple[GraphNode, ...]
    edges: tuple[GraphEdge, ...]
    notes: tuple[str, ...]
    model: TextModel
    forward: Forward

    def stage(self, name: str) -> Stage:
        """The stage called `name`; KeyError lists the names."""
        for st in self.stages:
            if st.name == name:
                return st
        raise KeyError(f"no stage {name!r}; stages: {', '.join(s.name for s in self.stages)}")


def _np(t: Any) -> np.ndarray:
    return t.detach().cpu().numpy().copy() if isinstance(t, torch.Tensor) else np.asarray(t)


def run_pipeline(pipeline: Pipeline, params: dict[str, Any] | None = None) -> PipelineRun:
    """Run every sequence of `pipeline` through the model once (no grad) and record it.

    `params` is a state_dict (numpy or tensors, as in a run file or EpochRecord); None draws
    the initial weights from the settings' seed, as `train` does. Returns a `PipelineRun`
    whose stages are, in order: tokens (B, T) str, indices (B, T), lengths (B,), mask (B, T),
    encoded (RNN layout), [batch_sizes (T,) when packed], rnn_output, h_n (L, B, H),
    [c_n], logits, probabilities (softmax of logits), predicted (B, T) (or (B,) for a
    last-step head), then targets (B, T) and loss () when the pipeline has targets.
    """
    s = pipeline.settings
    if params is None:
        model = seeded_model(pipeline)
    else:
        model = make_model(pipeline)
        load_snapshot(model, params)
    batch = pipeline.batch()
    with torch.no_grad():
        fwd = model(batch.indices, batch.lengths)
        loss = None
        if batch.targets is not None and s.head != "last":
            loss = compute_loss(s, fwd.scores, batch.targets)
    width = batch.indices.shape[1]
    tok = np.array([list(t) + [""] * (width - len(t)) for t in pipeline.input_tokens], dtype=object)
    layout = "(T, B, ·)" if model.time_major else "(B, T, ·)"
    # "padded" only where something is: sequences of one length are stacked as they are.
    ragged = len({len(t) for t in pipeline.input_tokens}) > 1
    stages = [
        Stage(
            "tokens",
            tok,
            tok.shape,
            f"{s.tokenizer} tokens"
            + (", padded with '' to the longest" if ragged else ", all of one length"),
        ),
        Stage(
            "indices",
            _np(batch.indices),
            tuple(batch.indices.shape),
            (
                "vocabulary indices, padded by pad_sequence(batch_first=True)"
                + (" with <pad> = 0" if pipeline.vocab.pad else "")
                if ragged
                else "vocabulary indices, stacked by pad_sequence(batch_first=True) "
                "(one length: nothing padded)"
            ),
        ),
        Stage(
            "lengths", _np(batch.lengths), tuple(batch.lengths.shape), "real steps of each sequence"
        ),
        Stage("mask", _np(batch.mask), tuple(batch.mask.shape), "True on real steps"),
        Stage(
            "encoded",
            _np(fwd.encoded),
            tuple(fwd.encoded.shape),
            (
                f"Embedding({model.vocab_size}, {s.embedding_dim})"
                if s.encoding == "embedding"
                else f"one-hot over {model.vocab_size} tokens"
            )
            + f", RNN layout {layout}",
        ),
    ]
    if fwd.batch_sizes is not None:
        stages.append(
            Stage(
                "batch_sizes",
                _np(fwd.batch_sizes),
                tuple(fwd.batch_sizes.shape),
                "packed staircase: how many sequences are still running at step t",
            )
        )
    stages += [
        Stage(
            "rnn_output",
            _np(fwd.rnn_output),
            tuple(fwd.rnn_output.shape),
            f"h_t of the last layer, layout {layout}; zero past each sequence's length",
        ),
        Stage(
            "h_n",
            _np(fwd.h_n),
            tuple(fwd.h_n.shape),
            "h of every layer at each sequence's own last real step"
            + (
                f"; the {type(model.cell).__name__} loop's last h, (B, H) = "
                f"{tuple(fwd.h_n.shape[1:])} as the Cell returns it, stacked here as "
                "nn.RNN's h_n (num_layers 1, B, H)"
                if model.cell is not None
                else ""
            ),
        ),
    ]
    if fwd.c_n is not None:
        stages.append(
            Stage(
                "c_n",
                _np(fwd.c_n),
                tuple(fwd.c_n.shape),
                "LSTM cell state at each sequence's last real step",
            )
        )
    probs = torch.softmax(fwd.logits, dim=-1)
    pred = fwd.scores.max(dim=-1).indices
    stages += [
        Stage(
            "logits",
            _np(fwd.logits),
            tuple(fwd.logits.shape),
            "Linear head output" if model.head is not None else "the RNN's h is the logits",
        ),
        Stage("probabilities", _np(probs), tuple(probs.shape), "softmax over classes"),
        Stage("predicted", _np(pred), tuple(pred.shape), "argmax class per step"),
    ]
    if loss is not None:
        assert batch.targets is not None
        stages += [
            Stage(
                "targets",
                _np(batch.targets),
                tuple(batch.targets.shape),
                f"target classes; padding is {IGNORE_INDEX} (ignore_index)",
            ),
            Stage(
                "loss",
                _np(loss),
                (),
                f"{'NLL' if s.loss == 'nll' else 'cross-entropy'}, "
                f"{'sum over steps' if s.reduction == 'sum_steps' else 'mean over real tokens'}",
            ),
        ]
    notes = []
    if fwd.batch_sizes is not None:
        notes.append(
            "lengths differ: "
            + (
                "the Cell loop keeps each finished sequence's h"
                if model.cell is not None
                else "the RNN ran on pack_padded_sequence(enforce_sorted=False)"
            )
            + "; h_n is each sequence's own last step"
        )
    nodes, edges = graph_around(model, batch.indices, batch.lengths, batch.targets, fwd, loss)
    hx = tuple(h.detach() for h in fwd.hx) if isinstance(fwd.hx, tuple) else fwd.hx.detach()
    return PipelineRun(
        pipeline,
        tuple(stages),
        batch,
        fwd.encoded.detach(),
        hx,
        fwd.batch_sizes is not None,
        nodes,
        edges,
        tuple(notes),
        model,
        fwd,
    )


def decode_rows(
    pipeline: Pipeline,
    predicted: torch.Tensor,
    lengths: torch.Tensor,
) -> tuple[str, ...]:
    """(B, T) predicted classes → one string per sequence, cut to its own length."""
    return tuple(pipeline.decode(row.tolist(), int(n)) for row, n in zip(predicted, lengths))
