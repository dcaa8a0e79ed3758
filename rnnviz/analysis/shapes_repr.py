"""Short notebook representations of a ShapeReport: a text repr under 2,000 characters and an
HTML table for Jupyter (the dataclass's default repr listed every gate slice of every
parameter, thousands of characters for a deep bidirectional LSTM)."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rnnviz.analysis.shapes import ShapeReport

#: Longest text repr.
MAX_REPR = 2000
#: Parameters listed by name before the rest are counted.
_PARAM_LINES = 8


def _shape(shape: tuple[int, ...]) -> str:
    return str(tuple(int(n) for n in shape))  # (24,) for one dim, as Python writes it


def report_repr(rep: ShapeReport) -> str:
    """`ShapeReport(...)`: the spec, every tensor's shape, the first parameters' shapes and the
    total count. Always under MAX_REPR characters."""
    lines = [
        f"ShapeReport({rep.spec.title()}, seq_len={rep.spec.seq_len}, batch={rep.spec.batch_size},",
        "  tensors: "
        + ", ".join(f"{k} {_shape(v)}" for k, v in rep.tensors.items() if v is not None),
    ]
    shown = rep.parameters[:_PARAM_LINES]
    more = len(rep.parameters) - len(shown)
    lines.append(
        "  parameters: "
        + ", ".join(f"{p.name} {_shape(p.shape)}" for p in shown)
        + (f", … {more} more" if more > 0 else "")
    )
    lines.append(f"  total_parameters={rep.total_parameters:,}, macs={rep.macs:,})")
    text = "\n".join(lines)
    if len(text) > MAX_REPR:
        text = text[: MAX_REPR - 10] + " … (cut))"
    return text


def _row(*cells: str) -> str:
    return (
        "<tr>"
        + "".join(f"<td style='text-align:left'>{html.escape(c)}</td>" for c in cells)
        + "</tr>"
    )


def report_html(rep: ShapeReport) -> str:
    """Two HTML tables for Jupyter: tensors with shapes, then parameters with shape and count,
    and the total with torch's formula."""
    tensors = "".join(_row(k, _shape(v)) for k, v in rep.tensors.items() if v is not None)
    params = "".join(_row(p.name, _shape(p.shape), f"{p.count:,}") for p in rep.parameters)
    params += _row("total", rep.torch_formula, f"{rep.total_parameters:,}")
    head = "<th style='text-align:left'>{}</th>"
    return (
        f"<p><b>{html.escape(rep.spec.title())}</b> seq_len={rep.spec.seq_len}, "
        f"batch={rep.spec.batch_size}</p>"
        f"<table><thead><tr>{head.format('tensor')}{head.format('shape')}</tr></thead>"
        f"<tbody>{tensors}</tbody></table>"
        f"<table><thead><tr>{head.format('parameter')}{head.format('shape')}"
        f"{head.format('count')}</tr></thead><tbody>{params}</tbody></table>"
    )
