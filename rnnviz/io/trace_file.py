"""Trace files: a Trace as .npz (the `rnnviz trace --out` format), written atomically.

The arrays and their keys are the record's own (`Trace.to_arrays` / `Trace.from_arrays`);
this module only moves them to and from disk.

Reading checks before it decompresses: every zip member must be a `.npy` array; each
member's header (dtype and shape, a few hundred bytes) is read first; the metadata's spec
says which arrays and shapes a trace holds (`rnnviz.engine.trace_checks.check_shapes`); and the
declared total must fit the memory budget. Only then are the arrays read, each exactly as
large as its header declared — so a 2 MB file of compressed zeros that claims gigabytes is
refused in milliseconds instead of filling memory. Every failure is a TraceFileError.
"""

from __future__ import annotations

import os
import zipfile
from typing import Any

import numpy as np
from numpy.lib import format as npformat

from rnnviz.config.budget import default_budget, human
from rnnviz.engine.record import Trace
from rnnviz.engine.trace_checks import (
    MAX_META_CHARS,
    TraceFileError,
    _pending,
    check_shapes,
    read_meta,
)
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


def _header(zf: zipfile.ZipFile, name: str, where: str) -> tuple[tuple[int, ...], np.dtype]:
    """(shape, dtype) a member declares, read from its header without decompressing the rest."""
    with zf.open(name) as fh:
        version = npformat.read_magic(fh)
        if version == (1, 0):
            shape, _, dtype = npformat.read_array_header_1_0(fh)
        elif version in ((2, 0), (3, 0)):
            shape, _, dtype = npformat.read_array_header_2_0(fh)
        else:
            raise TraceFileError(f"{where}: {name} has .npy format {version}, not 1.0–3.0")
    if dtype.hasobject:
        raise TraceFileError(f"{where}: {name} holds Python objects (refused: never unpickled)")
    return tuple(int(n) for n in shape), dtype


def _read(zf: zipfile.ZipFile, name: str) -> np.ndarray:
    with zf.open(name) as fh:
        return npformat.read_array(fh, allow_pickle=False)  # type: ignore[no-any-return]


def load_trace(path: str | os.PathLike[str], budget: int | None = None) -> Trace:
    """Read a trace written by `save_trace`; a damaged, foreign, contradictory or over-budget
    (`budget` bytes, default `default_budget()`) file raises TraceFileError."""
    where = str(path)
    limit = default_budget() if budget is None else budget  # a bad $RNNVIZ_MEMORY_BUDGET says so
    try:
        return _load(path, where, limit)
    except TraceFileError:
        raise
    except Exception as exc:
        # A damaged file can fail deep inside zipfile/zlib/numpy's header parser with
        # zlib.error, tokenize.TokenError, NotImplementedError (unknown compression),
        # EOFError and more; to the user each means the same thing.
        raise TraceFileError(
            f"{where}: not a readable .npz trace ({type(exc).__name__}: {exc})"
        ) from None


def _load(path: str | os.PathLike[str], where: str, limit: int) -> Trace:
    with open(path, "rb") as raw:
        if raw.read(6) == b"\x93NUMPY":
            raise TraceFileError(f"{where}: a single .npy array, not an .npz trace")
    with zipfile.ZipFile(path) as zf:
        headers: dict[str, Any] = {}
        for name in zf.namelist():
            if not name.endswith(".npy"):
                raise TraceFileError(f"{where}: member {name!r} is not a .npy array")
            headers[name[:-4]] = _header(zf, name, where)
        if "meta" not in headers:
            raise TraceFileError(f"{where}: no rnnviz metadata (was it written by rnnviz?)")
        meta_shape, meta_dtype = headers["meta"]
        if meta_dtype.kind != "U" or meta_shape != () or meta_dtype.itemsize > 4 * MAX_META_CHARS:
            raise TraceFileError(f"{where}: damaged metadata (not a short text entry)")
        meta, spec = read_meta(_read(zf, "meta.npy"), where)
        source = meta.get("source", "")
        check_shapes(
            spec,
            source if isinstance(source, str) else "",
            {k: shape for k, (shape, _) in headers.items()},
            where,
            meta.get("api", "module") if meta.get("api") in ("module", "cell") else "module",
            _pending(meta, where),
        )
        declared = sum(
            int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
            for shape, dtype in headers.values()
        )
        if declared > limit:
            raise TraceFileError(
                f"{where}: its arrays would take {human(declared)}, over the memory budget "
                f"of {human(limit)}; raise the budget (--memory-budget / "
                "$RNNVIZ_MEMORY_BUDGET) to read it"
            )
        data = {k: _read(zf, k + ".npy") for k in headers}
    return Trace.from_arrays(data, where)
