"""Tensors as numpy arrays: the engine's one conversion, shared by the scan, the recompute's
counts and the record."""

from __future__ import annotations

import numpy as np
import torch


def to_numpy(t: torch.Tensor, copy: bool = False) -> np.ndarray:
    """`t` as a numpy array: a view of a CPU tensor's memory (a copy with `copy`), a copy of
    any other device's."""
    if t.device.type != "cpu":
        return t.detach().cpu().numpy()  # .cpu() copied it already
    # detach() and cpu() are ops of their own (a trace converts ~50 tensors): skip the ones
    # that would change nothing.
    arr = (t.detach() if t.requires_grad else t).numpy()
    return arr.copy() if copy else arr
