"""Trace files: a Trace as .npz (the `rnnviz trace --out` format), written atomically.

The arrays and their keys are the record's own (`Trace.to_arrays` / `Trace.from_arrays`);
this module only moves them to and from disk.
"""

from __future__ import annotations

import os

import numpy as np

from rnnviz.engine.record import Trace, TraceFileError
from rnnviz.grad.record import GradTrace
from rnnviz.io.atomic import atomic_open


def save_arrays(arrays: dict[str, np.ndarray], path: str | os.PathLike[str]) -> None:
    """Write `arrays` to `path` as .npz, atomically (an old file survives a failure)."""
    with atomic_open(path, "wb") as fh:
        np.savez(fh, **arrays)  # type: ignore[arg-type]


def save_trace(trace: Trace, path: str | os.PathLike[str]) -> None:
    """Write `trace` to `path` as .npz (`Trace.to_arrays`), atomically."""
    save_arrays(trace.to_arrays(), path)


def save_gradients(grads: GradTrace, path: str | os.PathLike[str]) -> None:
    """Write a gradient trace to `path` as .npz (`GradTrace.to_arrays`), atomically."""
    save_arrays(grads.to_arrays(), path)


def load_gradients(path: str | os.PathLike[str]) -> GradTrace:
    """Read a file written by `save_gradients`; anything else raises TraceFileError."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            data = {k: npz[k] for k in npz.files}
    except Exception as exc:  # a damaged zip fails in many ways; to the user each is the same
        raise TraceFileError(
            f"{path}: not a readable .npz file ({type(exc).__name__}: {exc})"
        ) from None
    return GradTrace.from_arrays(data, str(path))


def load_trace(path: str | os.PathLike[str]) -> Trace:
    """Read a trace written by `save_trace`; a damaged or foreign file raises TraceFileError."""
    try:
        loaded = np.load(path, allow_pickle=False)
        data = {}
        if isinstance(loaded, np.lib.npyio.NpzFile):  # not a lone .npy array
            with loaded as npz:
                data = {k: npz[k] for k in npz.files}
    except Exception as exc:
        # A damaged file can fail deep inside zipfile/zlib/numpy's header parser with
        # zlib.error, tokenize.TokenError, NotImplementedError (unknown compression),
        # MemoryError (a corrupt shape) and more; to the user each means the same thing.
        raise TraceFileError(
            f"{path}: not a readable .npz trace ({type(exc).__name__}: {exc})"
        ) from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise TraceFileError(f"{path}: a single .npy array, not an .npz trace")
    return Trace.from_arrays(data, str(path))
