"""The Training tab's words: the epoch line, the settings the form has no control for,
percentages that never round to 100 %, and which pipeline stages hold classes or steps.
Plain functions of the text records (no Qt), so the view only lays them out."""

from __future__ import annotations

from html import escape
from typing import Any

from rnnviz.text.settings import TextSettings

#: Stages with a value per (sequence, step), laid out (B, T[, …]) like the mask.
PER_STEP_STAGES = frozenset(("logits", "probabilities", "predicted"))
#: Stages whose values (or last axis) are target classes, not input tokens.
CLASS_STAGES = frozenset(("logits", "probabilities", "predicted", "targets"))


def separate_classes(pipeline: Any) -> bool:
    """Whether the targets have a vocabulary of their own (their indices mean other tokens)."""
    return pipeline.target_vocab != pipeline.vocab


def kept_text(s: TextSettings) -> str:
    """The settings in force that the form shows no control for, in words."""
    parts = [
        "NLLLoss on log_softmax" if s.loss == "nll" else "CrossEntropyLoss",
        "summed over steps" if s.reduction == "sum_steps" else "mean over real tokens",
        "one step per sequence" if s.update == "sequence" else "one step per epoch (whole batch)",
        f"vocabulary {s.vocab_order}",
        "targets share it" if s.shared_vocab or s.task == "next" else "targets' own vocabulary",
        f"pad {s.pad}",
    ]
    if s.unk:
        parts.append("<unk> on")
    if s.batch_first:
        parts.append("batch_first")
    return "also in force (from the preset or file; no control here): " + ", ".join(parts)


def percent(fraction: float) -> str:
    """`fraction` as a percentage that never reads 100% (or 0%) unless it is exactly that:
    283 of 284 tokens right is "99.6%", not the "100%" a whole-number rounding gives."""
    if not 0.0 < fraction < 1.0:
        return f"{fraction:.0%}"
    for digits in range(5):
        text = f"{fraction:.{digits}%}"
        if float(text[:-1]) not in (0.0, 100.0):
            return text
    return ">99.9999%" if fraction > 0.5 else "<0.0001%"


def epoch_text(pipeline: Any, e: Any, stages: Any) -> str:
    """The Training tab's line about the epoch the views show (HTML), `e` its EpochRecord,
    `stages` the views' pipeline stages at that epoch's weights.

    One optimizer step per epoch: the record's predictions and loss are that step's forward
    pass, the very one the views show. Several steps (update "sequence": one per sequence),
    each step runs at the weights the step before left, while the views run every sequence
    at the weights before the first: the line gives both, each said for what it is."""
    # Texts are escaped: a token such as <pad> or <unk> is not an HTML tag to drop.
    target = escape(" | ".join(pipeline.decode(t) for t in pipeline.targets))
    aim = f" (target {target})" if target else ""
    predicted = escape(" | ".join(e.predicted))
    steps = len(e.step_losses)
    if steps <= 1:
        return (
            f"views show epoch {e.epoch}: predicted <b>{predicted}</b>{aim}, "
            f"loss {e.loss:.4f}, accuracy {percent(e.accuracy)} — the forward pass before "
            "this epoch's optimizer step"
        )
    by_name = {st.name: st for st in stages}
    seen = ""
    if "predicted" in by_name and "loss" in by_name:
        rows = by_name["predicted"].value
        shown = escape(
            " | ".join(pipeline.decode(r, len(t)) for r, t in zip(rows, pipeline.targets))
        )
        seen = f": predicted <b>{shown}</b>, loss {float(by_name['loss'].value):.4f}"
    return (
        f"views show epoch {e.epoch} — every sequence at the weights before its first "
        f"optimizer step{seen}{aim}. The epoch took {steps} steps, one per sequence, each at "
        f"the weights the step before left: they predicted <b>{predicted}</b>, "
        f"mean loss {e.loss:.4f}, accuracy {percent(e.accuracy)}"
    )


def pause_word(hist: Any) -> str:
    """The state of a training the user paused: "paused" once its loop holds between epochs
    (the TrainingHistory it posted then says `paused`, with every epoch done), "pausing" while
    it still finishes the epoch it is in and the epochs shown may lag the loop."""
    return "paused" if hist.paused else "pausing"
