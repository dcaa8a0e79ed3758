"""What a trace file must hold: its metadata and every array's key and shape, checked
against the file's own spec before anything is trusted (or, by `rnnviz.io.trace_file`,
decompressed). `Trace.from_arrays` and the trace-file reader share these checks."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from rnnviz.config.api import APIS, CELL, MODULE
from rnnviz.config.spec import Spec, SpecError

LaneKey = tuple[int, str]  # (layer, "fwd"|"bwd"): one lane of the recurrence

#: Format version of the .npz trace file.
TRACE_VERSION = 1


class TraceFileError(ValueError):
    """A .npz file is not a readable rnnviz trace; the message says why."""


# ---- checking a trace file's contents -----------------------------------------------------------
#: Largest metadata text accepted (a real one is under 2 KB).
MAX_META_CHARS = 1 << 20


def read_meta(meta: Any, where: str) -> tuple[dict[str, Any], Spec]:
    """The metadata dict and Spec of a trace's "meta" entry (a 0-d string array);
    TraceFileError for anything else, including a NaN, negative or newer version."""
    if not isinstance(meta, np.ndarray) or meta.dtype.kind != "U" or meta.shape != ():
        raise TraceFileError(f"{where}: damaged metadata (not a text entry)")
    text = str(meta)
    if len(text) > MAX_META_CHARS:
        raise TraceFileError(f"{where}: damaged metadata ({len(text):,} characters)")
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, a 5000-digit number, nesting
        raise TraceFileError(f"{where}: damaged metadata ({type(exc).__name__})") from None
    if not isinstance(parsed, dict):
        raise TraceFileError(f"{where}: damaged metadata (not a JSON object)")
    version = parsed.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise TraceFileError(f"{where}: damaged metadata (version {str(version)[:20]!r})")
    if version > TRACE_VERSION:
        raise TraceFileError(
            f"{where}: trace format {str(version)[:20]} is newer than this "
            f"rnnviz reads ({TRACE_VERSION})"
        )
    try:
        spec = Spec.from_dict(parsed["spec"])
    except KeyError:
        raise TraceFileError(f"{where}: damaged metadata (no spec)") from None
    except SpecError as exc:
        raise TraceFileError(f"{where}: damaged metadata ({exc})") from None
    return parsed, spec


def _count(value: Any, name: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TraceFileError(f"{where}: damaged metadata ({name} must be a whole number ≥ 0)")
    return value


def _figure(value: Any, name: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TraceFileError(f"{where}: damaged metadata ({name} must be a number)")
    if value != value or value < 0:  # NaN or negative: no such difference
        raise TraceFileError(f"{where}: damaged metadata ({name} is {value!r})")
    return float(value)


def _text(value: Any, name: str, where: str) -> str:
    if not isinstance(value, str):
        raise TraceFileError(f"{where}: damaged metadata ({name} must be text)")
    return value


def _shape_of(arr: Any, key: str, where: str) -> tuple[int, ...]:
    if not isinstance(arr, np.ndarray):
        raise TraceFileError(f"{where}: {key} is not an array ({type(arr).__name__})")
    if key != "meta" and arr.dtype.kind not in "fc":
        raise TraceFileError(f"{where}: {key} holds {arr.dtype}, not floating-point values")
    return tuple(arr.shape)


def _param_shapes(spec: Spec, cell: bool) -> dict[str, tuple[int, ...]]:
    """Torch's parameter names → shapes for `spec` (a *Cell's names when `cell`)."""
    gh, h, hout = spec.gate_count * spec.hidden_size, spec.hidden_size, spec.out_hidden
    out: dict[str, tuple[int, ...]]
    if cell:
        out = {"weight_ih": (gh, spec.input_size), "weight_hh": (gh, h)}
        if spec.bias:
            out.update(bias_ih=(gh,), bias_hh=(gh,))
        return out
    out = {}
    for k in range(spec.num_layers):
        for sfx in ("", "_reverse")[: spec.num_directions]:
            out[f"weight_ih_l{k}{sfx}"] = (gh, spec.layer_input_size(k))
            out[f"weight_hh_l{k}{sfx}"] = (gh, hout)
            if spec.bias:
                out[f"bias_ih_l{k}{sfx}"] = (gh,)
                out[f"bias_hh_l{k}{sfx}"] = (gh,)
            if spec.proj_size:
                out[f"weight_hr_l{k}{sfx}"] = (spec.proj_size, h)
    return out


def expected_shapes(
    spec: Spec, source: str, api: str = MODULE, pending: frozenset[LaneKey] = frozenset()
) -> tuple[dict[str, tuple[int, ...]], ...]:
    """The .npz keys → shapes a trace of `spec` holds, one dict per parameter naming (a
    module's, a stepped *Cell's). For `api` "cell" (a Cell's own API): input in the spec's
    layout, hx as h0 (batch, H) (+ c0), and each call's h_t (T, batch, H) (+ c_t). Before
    traces recorded `api`, a stepped cell (`source`) kept module-style keys, time-major."""
    t, b, d = spec.seq_len, spec.batch_size, spec.num_directions
    if api == CELL:
        h = spec.hidden_size
        cell_io = {
            "input": spec.input_shape(),
            "h0": (b, h),
            "h_t": (t, b, h),
            **({"c0": (b, h), "c_t": (t, b, h)} if spec.cell == "lstm" else {}),
        }
        for g in spec.trace_gates:
            cell_io[f"gates/l0/fwd/{g}"] = (t, b, h)
        return ({**cell_io, **{f"param/{k}": v for k, v in _param_shapes(spec, True).items()}},)
    stepped = source == "cell" or source.endswith("Cell")
    seq_first = stepped or not spec.batch_first
    io = {
        "input": (t, b, spec.input_size) if seq_first else (b, t, spec.input_size),
        "output": (t, b, d * spec.out_hidden) if seq_first else (b, t, d * spec.out_hidden),
        "h0": (spec.num_layers * d, b, spec.out_hidden),
        "h_n": (spec.num_layers * d, b, spec.out_hidden),
    }
    if spec.cell == "lstm":
        io.update(c0=(spec.num_layers * d, b, spec.hidden_size))
        io.update(c_n=(spec.num_layers * d, b, spec.hidden_size))
    for layer in range(spec.num_layers):
        for dname in spec.directions:
            # A lane still pending holds torch's own h only (see Trace.pending_lanes).
            for g in ("h",) if (layer, dname) in pending else spec.trace_gates:
                size = spec.out_hidden if g == "h" else spec.hidden_size
                io[f"gates/l{layer}/{dname}/{g}"] = (t, b, size)
    return tuple(
        {**io, **{f"param/{k}": v for k, v in _param_shapes(spec, cell).items()}}
        for cell in (False, True)
    )


def check_shapes(
    spec: Spec,
    source: str,
    shapes: dict[str, tuple[int, ...]],
    where: str,
    api: str = MODULE,
    pending: frozenset[LaneKey] = frozenset(),
) -> None:
    """TraceFileError unless `shapes` (key → shape, "meta" ignored) is exactly what a trace
    of `spec` run through `api` holds; the message names the first key that is missing,
    extra or wrong."""
    given = {k: tuple(v) for k, v in shapes.items() if k != "meta"}
    candidates = expected_shapes(spec, source, api, pending)
    best = min(candidates, key=lambda e: len(set(e) ^ set(given)))
    for key in sorted(set(best) | set(given)):
        if key not in given:
            raise TraceFileError(f"{where}: {key} is missing for {spec.title()}")
        if key not in best:
            raise TraceFileError(f"{where}: {key} does not belong to a trace of {spec.title()}")
        if given[key] != best[key]:
            raise TraceFileError(
                f"{where}: {key} has shape {given[key]}, but {spec.title()} with seq_len "
                f"{spec.seq_len} and batch {spec.batch_size} gives {best[key]}"
            )


def _pending(meta: dict[str, Any], where: str) -> frozenset[LaneKey]:
    """The metadata's pending lanes, [[layer, "fwd"|"bwd"], …]; TraceFileError otherwise."""
    raw = meta.get("pending_lanes", [])
    try:
        lanes = frozenset((int(k), str(d)) for k, d in raw)
    except (TypeError, ValueError, OverflowError):
        raise TraceFileError(f"{where}: damaged metadata (pending_lanes)") from None
    if any(d not in ("fwd", "bwd") or k < 0 for k, d in lanes):
        raise TraceFileError(f"{where}: damaged metadata (pending_lanes)")
    return lanes


def _api(value: Any, where: str) -> str:
    if value not in APIS:
        raise TraceFileError(f"{where}: damaged metadata (api {value!r})")
    return str(value)
