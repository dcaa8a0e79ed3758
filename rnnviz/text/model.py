"""The torch model around the RNN: encoding → RNN (module or hand-stepped Cell) → head, + loss.

Submodule names are fixed so state_dict keys read `embedding.weight`, `rnn.weight_ih_l0` (or
`cell.weight_ih`), `head.weight`, `head.bias`. Modules are created in the tutorial's order
(embedding, rnn, head) so that the same seed draws the same initial weights as its code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnviz.config.spec import SpecError
from rnnviz.text.settings import TextSettings

#: Target value of padded positions; CrossEntropyLoss/NLLLoss skip it (their default).
IGNORE_INDEX = -100

_MODULES = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
_CELLS = {"rnn": nn.RNNCell, "lstm": nn.LSTMCell, "gru": nn.GRUCell}


@dataclass
class Forward:
    """The tensors of one forward pass (torch tensors, still attached to autograd).

    Shapes: B sequences, T = longest length, I = encoded size, H = hidden, C = classes, L = layers.
    - `encoded`: the RNN's input in its own layout, (T, B, I), or (B, T, I) with batch_first.
    - `hx`: what the RNN was given: h0 (L, B, H) — (B, H) for a Cell — or (h0, c0) for LSTM.
    - `rnn_output`: the RNN's h_t in the same layout as `encoded`; zero past a sequence's
      length (what pad_packed_sequence returns, and what the Cell loop writes there).
    - `h_n`: (L, B, H), each sequence's h at its own last real step; `c_n` likewise (LSTM).
    - `batch_sizes`: the packed staircase (T,) when lengths differ, else None.
    - `logits`: (B, T, C) for heads "step"/"none", (B, C) for head "last".
    - `scores`: logits for loss "ce", log_softmax(logits) for "nll" (what argmax reads).
    """

    encoded: torch.Tensor
    hx: Any
    rnn_output: torch.Tensor
    h_n: torch.Tensor
    c_n: torch.Tensor | None
    batch_sizes: torch.Tensor | None
    logits: torch.Tensor
    scores: torch.Tensor


def check_head(settings: TextSettings, num_classes: int) -> None:
    """SpecError (hidden_size) unless a model without a head can be built: its hidden state
    *is* the logits (tutorial 001), so hidden_size must equal the number of classes."""
    if settings.head == "none" and settings.hidden_size != num_classes:
        raise SpecError(
            "hidden_size",
            f"head none needs hidden_size == number of classes ({num_classes}), "
            f"got {settings.hidden_size}; set hidden_size {num_classes} or use head step",
        )


class TextModel(nn.Module):
    """Embedding or one-hot → nn.RNN/LSTM/GRU or its Cell → optional nn.Linear head."""

    def __init__(
        self,
        settings: TextSettings,
        vocab_size: int,
        num_classes: int,
        padding_idx: int | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.vocab_size, self.num_classes = vocab_size, num_classes
        s = settings
        if s.encoding == "embedding":
            self.embedding = nn.Embedding(vocab_size, s.embedding_dim, padding_idx=padding_idx)
            in_size = s.embedding_dim
        else:
            self.embedding = None  # type: ignore[assignment]  # one-hot input: no stage
            in_size = vocab_size
        if s.stepper == "cell":
            self.cell = _CELLS[s.cell](in_size, s.hidden_size)
            self.rnn = None
        else:
            self.rnn = _MODULES[s.cell](
                in_size, s.hidden_size, num_layers=s.num_layers, batch_first=s.batch_first
            )
            self.cell = None
        if s.head == "none":
            check_head(s, num_classes)
            self.head = None
        else:
            self.head = nn.Linear(s.hidden_size, num_classes)
        self.input_size = in_size

    @property
    def recurrent(self) -> nn.Module:
        """The RNN part that rnnviz.engine.tracing.trace takes: the module or the Cell."""
        return self.rnn if self.rnn is not None else self.cell  # type: ignore[return-value]

    @property
    def time_major(self) -> bool:
        """True when the RNN takes (T, B, I): every Cell (stepped over dim 0), and modules
        without batch_first."""
        return self.cell is not None or not self.settings.batch_first

    def encode(self, indices: torch.Tensor) -> torch.Tensor:
        """(B, T) indices → the RNN input (T, B, I) or (B, T, I), one-hot or embedded."""
        if self.embedding is not None:
            x = self.embedding(indices)
        else:
            # Same values as the tutorial's lookup table of 0/1 rows turned into a FloatTensor.
            x = F.one_hot(indices, self.vocab_size).to(torch.float32)
        return x.transpose(0, 1) if self.time_major else x

    def initial_state(self, batch: int) -> Any:
        """Zeros as the tutorials pass them: h0 (L, B, H), (B, H) for a Cell; LSTM (h0, c0)."""
        s = self.settings
        shape = (
            (batch, s.hidden_size)
            if self.cell is not None
            else (s.num_layers, batch, s.hidden_size)
        )
        h0 = torch.zeros(shape)
        return (h0, torch.zeros(shape)) if s.cell == "lstm" else h0

    def forward(self, indices: torch.Tensor, lengths: torch.Tensor) -> Forward:  # type: ignore[override]
        """Run (B, T) int64 `indices` with (B,) int64 `lengths`; returns a `Forward`."""
        x = self.encode(indices)
        batch = indices.shape[0]
        hx = self.initial_state(batch)
        ragged = bool((lengths != lengths[0]).any())
        if self.cell is not None:
            out, h_n, c_n = self._step_cell(x, hx, lengths, ragged)
            batch_sizes = _staircase(lengths) if ragged else None
        elif ragged:
            # Packing makes torch run each sequence only to its own length, so h_n is taken
            # at each sequence's last real step and padding never enters the recurrence.
            packed = pack_padded_sequence(
                x, lengths, batch_first=not self.time_major, enforce_sorted=False
            )
            out_p, state = self.rnn(packed, hx)  # type: ignore[misc]
            out, _ = pad_packed_sequence(
                out_p, batch_first=not self.time_major, total_length=indices.shape[1]
            )
            batch_sizes = packed.batch_sizes
            h_n, c_n = state if isinstance(state, tuple) else (state, None)
        else:
            # Equal lengths run unpacked: exactly the tutorials' call (packing would pick a
            # different kernel path for no change in meaning).
            out, state = self.rnn(x, hx)  # type: ignore[misc]
            batch_sizes = None
            h_n, c_n = state if isinstance(state, tuple) else (state, None)
        if self.settings.head == "last":
            logits = self.head(h_n[-1])  # type: ignore[misc]
        else:
            seq = out if not self.time_major else out.transpose(0, 1)  # (B, T, H)
            logits = self.head(seq) if self.head is not None else seq
        scores = F.log_softmax(logits, dim=-1) if self.settings.loss == "nll" else logits
        return Forward(x, hx, out, h_n, c_n, batch_sizes, logits, scores)

    def _step_cell(
        self, x: torch.Tensor, hx: Any, lengths: torch.Tensor, ragged: bool
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Step the Cell over x's (T, B, I) first dim as tutorial 001 does, by hand.

        With ragged lengths a finished sequence keeps its h (and c) and writes zeros, the
        same result packing gives a module; equal lengths run the plain loop unchanged.
        """
        lstm = self.settings.cell == "lstm"
        h, c = hx if lstm else (hx, None)
        outs = []
        for t in range(x.shape[0]):
            if lstm:
                h_new, c_new = self.cell((x[t]), (h, c))  # type: ignore[misc]
            else:
                h_new, c_new = self.cell(x[t], h), None  # type: ignore[misc]
            if ragged:
                live = (t < lengths).unsqueeze(1)
                outs.append(torch.where(live, h_new, torch.zeros_like(h_new)))
                h = torch.where(live, h_new, h)
                c = torch.where(live, c_new, c) if lstm else None  # type: ignore[arg-type]
            else:
                outs.append(h_new)
                h, c = h_new, c_new
        out = torch.stack(outs)
        return out, h.unsqueeze(0), (c.unsqueeze(0) if c is not None else None)


def _staircase(lengths: torch.Tensor) -> torch.Tensor:
    """The (T,) batch_sizes pack_padded_sequence would give: how many sequences reach step t."""
    steps = torch.arange(int(lengths.max()))
    return (lengths.unsqueeze(0) > steps.unsqueeze(1)).sum(dim=1)


def compute_loss(
    settings: TextSettings, scores: torch.Tensor, targets: torch.Tensor
) -> torch.Tensor:
    """The scalar training loss of (B, T, C) `scores` against (B, T) `targets`.

    Padded targets are IGNORE_INDEX, so padding contributes nothing. "mean" is one
    CrossEntropyLoss/NLLLoss over all B·T rows (tutorial 001's RNN and Embedding versions
    flatten with view(-1, C) the same way); "sum_steps" is `loss = 0; loss += crit(h_t, y_t)`
    per step (tutorial 001's RNNCell loop), skipping a step where every target is padding.
    """
    crit = F.nll_loss if settings.loss == "nll" else F.cross_entropy
    if settings.reduction == "mean":
        return crit(
            scores.reshape(-1, scores.shape[-1]), targets.reshape(-1), ignore_index=IGNORE_INDEX
        )
    loss: Any = 0
    for t in range(scores.shape[1]):
        if bool((targets[:, t] != IGNORE_INDEX).any()):
            loss = loss + crit(scores[:, t], targets[:, t], ignore_index=IGNORE_INDEX)
    return loss


def snapshot(model: nn.Module) -> dict[str, np.ndarray]:
    """The state_dict as numpy copies: name → array (the parameter's shape)."""
    return {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}


def load_snapshot(model: nn.Module, state: dict[str, Any]) -> None:
    """Load a snapshot (numpy arrays or tensors) into `model`, keys and shapes checked."""
    model.load_state_dict({k: torch.as_tensor(np.asarray(v)) for k, v in state.items()})
