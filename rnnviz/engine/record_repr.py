"""Short notebook representations of a Trace: a text repr under 2,000 characters and an HTML
table for Jupyter. A trace holds every gate at every step, so the dataclass's default repr
printed every array in full (40–117 k characters for the tutorial examples)."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from rnnviz.engine.record import Trace

#: Longest text repr; a repr is for a glance, the arrays are one attribute away.
MAX_REPR = 2000


def _shape(a: np.ndarray) -> str:
    return str(tuple(int(n) for n in a.shape))  # (24,) for one dim, as Python writes it


def _verdict(tr: Trace) -> str:
    # Read through the record's own summary/verified so a richer verdict lands here as well.
    mark = "matches torch" if tr.verified else "does NOT match torch"
    return f"{mark} — {tr.summary()}"


def _gate_rows(tr: Trace) -> list[tuple[str, str]]:
    rows = []
    for (layer, d, g), a in tr.gates.items():
        rows.append((f"gates[{layer}, {d!r}, {g!r}]", f"{_shape(a)} {a.dtype}"))
    return rows


def trace_repr(tr: Trace) -> str:
    """`Trace(...)` in a few lines: the spec, the verdict, each tensor's and some gates' shapes,
    the parameter count. Always under MAX_REPR characters."""
    lines = [f"Trace({tr.title}, seq_len={tr.spec.seq_len}, batch={tr.spec.batch_size},"]
    lines.append(f"  source={tr.source!r}, {_verdict(tr)}")
    lines.append(
        "  tensors: "
        + ", ".join(f"{k} {_shape(a)}" for k, a in tr.tensors.items())
        + (f" ({next(iter(tr.tensors.values())).dtype})" if tr.tensors else "")
    )
    # Every (layer, direction) has the same gate names and shapes: list each name once.
    lanes = sorted({(layer, d) for layer, d, _ in tr.gates})
    names: dict[str, str] = {}
    for (_, _, g), a in tr.gates.items():
        names.setdefault(g, _shape(a))
    lines.append(
        f"  gates: {len(lanes)} (layer, direction) × "
        + ", ".join(f"{g} {shape}" for g, shape in names.items())
        + "; tr.gate(layer, 'fwd'|'bwd', name)"
    )
    n_params = sum(int(a.size) for a in tr.params.values())
    lines.append(f"  params: {len(tr.params)} tensors, {n_params:,} values)")
    text = "\n".join(lines)
    if len(text) > MAX_REPR:  # a very long title or many notes: cut, and say so
        text = text[: MAX_REPR - 20] + " … (cut))"
    return text


def _cell(text: str) -> str:
    return f"<td style='text-align:left'>{html.escape(text)}</td>"


def trace_html(tr: Trace) -> str:
    """An HTML table for Jupyter: spec, verdict, then one row per tensor, gate array and
    parameter with its shape and dtype (gate rows cut after 24)."""
    rows = [
        ("spec", tr.title),
        ("seq_len × batch", f"{tr.spec.seq_len} × {tr.spec.batch_size}"),
        ("verdict", _verdict(tr)),
    ]
    rows += [(k, f"{_shape(a)} {a.dtype}") for k, a in tr.tensors.items()]
    gates = _gate_rows(tr)
    rows += gates[:24]
    if len(gates) > 24:
        rows.append(("…", f"{len(gates) - 24} more gate arrays"))
    rows += [(k, f"{_shape(a)} {a.dtype}") for k, a in tr.params.items()]
    rows += [("note", n) for n in tr.notes]
    body = "".join(f"<tr>{_cell(k)}{_cell(v)}</tr>" for k, v in rows)
    return (
        "<table><thead><tr><th style='text-align:left'>rnnviz Trace</th>"
        "<th style='text-align:left'>shape / value</th></tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )
