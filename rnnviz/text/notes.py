"""The words that say what a trace, gradients or file of a text model are of.

Torch-free, so the export code (which must not import torch for data formats) and the
window's views use the very same wording as the trace's notes: one sentence per fact, never
a second phrasing of it.
"""

from __future__ import annotations

#: The note on a trace (or gradients) of a batch whose sequences have several lengths.
PADDED_NOTE = (
    "lengths differ: traced the padded batch; steps past a sequence's length are padding the "
    "packed training run never computed, and h_n here is the last padded step (trace one "
    "sequence for its own h_n)"
)


def epoch_note(epoch: int | None, sequence: int | None = None) -> str:
    """What a trace or gradients of a text model's RNN are of: "text model: epoch 3 weights"
    (None: the final weights), with ", sequence b" for one sequence alone."""
    return f"text model: epoch {epoch if epoch is not None else 'final'} weights" + (
        f", sequence {sequence}" if sequence is not None else ""
    )


def with_note(title: str, note: str) -> str:
    """`title` followed by `note` ("LSTM(10, 8) gates, text model: epoch 15 weights"), or
    `title` alone when `note` is "": how every export title names what it is of."""
    return f"{title}, {note}" if note else title
