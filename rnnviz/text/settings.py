"""Everything the user sets for "text in, model around, training live", validated, JSON-able.

Torch-free, like rnnviz.config.spec: a bad value raises SpecError naming the field.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from rnnviz.config.spec import CELLS, SpecError, check_keys
from rnnviz.text.tokens import TOKENIZERS, VOCAB_ORDERS

TASKS = ("map", "next")
ENCODINGS = ("onehot", "embedding")
STEPPERS = ("module", "cell")
HEADS = ("none", "step", "last")
LOSSES = ("ce", "nll")
REDUCTIONS = ("mean", "sum_steps")
OPTIMIZERS = ("adam", "sgd")
UPDATES = ("batch", "sequence")
PADS = ("auto", "always", "never")

#: Bounds that only keep typos from asking for absurd sizes; small models are the point.
_MAX = {"embedding_dim": 4096, "hidden_size": 4096, "num_layers": 16, "epochs": 100_000}

TEXT_SETTINGS_VERSION = 1


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise SpecError(name, f"must be one of {', '.join(allowed)}, got {value!r}")


def _whole(name: str, value: Any, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise SpecError(name, f"must be a whole number from {lo} to {hi}, got {value!r}")


@dataclass(frozen=True)
class TextSettings:
    """The data, model and training of one text experiment.

    Data: `texts` are the input strings; for task "map" `targets` holds one string per text
    with as many tokens (hello → ohlol); for task "next" the target of token t is token t+1.
    `shared_vocab` builds one vocabulary over inputs and targets (the tutorial's e h l o) —
    "next" always shares. `pad` "auto" adds <pad> (index 0) only when lengths differ.

    Model: one-hot or Embedding(V, embedding_dim) → RNN/LSTM/GRU (`stepper` "module"), or
    its *Cell stepped by hand (`stepper` "cell") → optional Linear head per step ("step") or
    on each sequence's last real step ("last": run_pipeline shows it, `train` refuses it since
    both tasks have a target at every step); with head "none" the RNN's h is the logits.

    Loss: "ce" is CrossEntropyLoss on the logits, "nll" NLLLoss on log_softmax (tutorial 003);
    reduction "mean" averages over every real token, "sum_steps" adds the per-step losses
    (tutorial 001's RNNCell loop). Padding is always ignored (ignore_index).

    Training: `update` "batch" takes one optimizer step per epoch on the whole batch,
    "sequence" one step per sequence in order (tutorial 003's tagger).
    """

    texts: tuple[str, ...] = ("hello",)
    targets: tuple[str, ...] = ("ohlol",)
    task: str = "map"
    tokenizer: str = "chars"
    vocab_order: str = "sorted"
    shared_vocab: bool = True
    pad: str = "auto"
    unk: bool = False
    encoding: str = "onehot"
    embedding_dim: int = 10
    cell: str = "rnn"
    stepper: str = "module"
    hidden_size: int = 4
    num_layers: int = 1
    batch_first: bool = False
    head: str = "none"
    loss: str = "ce"
    reduction: str = "mean"
    optimizer: str = "adam"
    lr: float = 0.1
    epochs: int = 15
    seed: int = 0
    update: str = "batch"

    def __post_init__(self) -> None:
        for name in ("texts", "targets"):
            value = getattr(self, name)
            if isinstance(value, list):
                value = tuple(value)
                object.__setattr__(self, name, value)
            if not isinstance(value, tuple) or not all(isinstance(s, str) for s in value):
                raise SpecError(name, "must be a list of strings")
        if not self.texts:
            raise SpecError("texts", "needs at least one text")
        for name, allowed in (
            ("task", TASKS),
            ("tokenizer", TOKENIZERS),
            ("vocab_order", VOCAB_ORDERS),
            ("pad", PADS),
            ("encoding", ENCODINGS),
            ("cell", CELLS),
            ("stepper", STEPPERS),
            ("head", HEADS),
            ("loss", LOSSES),
            ("reduction", REDUCTIONS),
            ("optimizer", OPTIMIZERS),
            ("update", UPDATES),
        ):
            _choice(name, getattr(self, name), allowed)
        for name in ("shared_vocab", "unk", "batch_first"):
            if not isinstance(getattr(self, name), bool):
                raise SpecError(name, f"must be true or false, got {getattr(self, name)!r}")
        for name, hi in _MAX.items():
            _whole(name, getattr(self, name), 1, hi)
        _whole("seed", self.seed, 0, 2**63 - 1)
        lr = self.lr
        if (
            isinstance(lr, bool)
            or not isinstance(lr, (int, float))
            or not 0 < lr <= 100
            or not math.isfinite(lr)
        ):
            raise SpecError("lr", f"must be a number in (0, 100], got {lr!r}")
        object.__setattr__(self, "lr", float(lr))
        if self.stepper == "cell" and self.num_layers != 1:
            raise SpecError("num_layers", "a *Cell is one layer: must be 1 with stepper cell")
        if self.task == "map":
            if len(self.targets) != len(self.texts):
                raise SpecError(
                    "targets",
                    f"task map needs one target per text "
                    f"({len(self.texts)}), got {len(self.targets)}",
                )
        elif self.targets:
            raise SpecError("targets", "task next predicts the text itself; leave targets empty")

    def replace(self, **changes: Any) -> TextSettings:
        """A copy with `changes` applied, validated like new settings."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict of every field plus `version`."""
        d: dict[str, Any] = {"version": TEXT_SETTINGS_VERSION}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            d[f.name] = list(v) if isinstance(v, tuple) else v
        return d

    @classmethod
    def from_dict(cls, data: Any) -> TextSettings:
        """Inverse of `to_dict`; unknown keys or a newer version raise SpecError."""
        if not isinstance(data, dict):
            raise SpecError("settings", f"must be a dict, got {type(data).__name__}")
        data = dict(data)
        version = data.pop("version", TEXT_SETTINGS_VERSION)
        if version != TEXT_SETTINGS_VERSION:
            raise SpecError(
                "version", f"text settings version {version!r} is not {TEXT_SETTINGS_VERSION}"
            )
        return cls(**check_keys(cls, data, "settings", "text setting"))
