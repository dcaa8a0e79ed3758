"""The shape and parameter report as text: the CLI's table, Markdown and CSV.

Rows come from `table_rows`, so the terminal, Markdown and CSV show the same cells.
"""

from __future__ import annotations

import csv
import io

from rnnviz.analysis.shapes import ShapeReport
from rnnviz.config.api import CELL, tensor_name


def _shape(s: tuple[int, ...] | None) -> str:
    return "—" if s is None else "(" + ", ".join(map(str, s)) + ")"


#: What each tensor is, by API (a Cell's per-call tensors are one call's).
_CELL_MEANING = {
    "input": "the whole sequence the loop steps through",
    "x_t": "one call's input: x[t], or x[:, t] with batch_first",
    "h0": "the state the first call takes (default zeros)",
    "c0": "the cell state the first call takes",
    "h_t": "what each call returns: the next hidden state",
    "c_t": "the cell state each call returns with h_t",
}


def tensor_rows(report: ShapeReport) -> list[list[str]]:
    """[tensor, shape, meaning] rows for input, h0, c0, output, h_n, c_n (those that exist);
    for a Cell x, x_t, hx, cx, h_t, c_t under torch's argument names."""
    spec = report.spec
    lay = "(batch, seq, feature)" if spec.batch_first else "(seq, batch, feature)"
    if report.api == CELL:
        return [
            [tensor_name(k, report.api), _shape(v), f"{lay}: {_CELL_MEANING[k]}"]
            if k == "input"
            else [tensor_name(k, report.api), _shape(v), _CELL_MEANING[k]]
            for k, v in report.tensors.items()
            if v is not None
        ]
    meaning = {
        "input": f"{lay}",
        "h0": "(layers × directions, batch, H_out); batch_first does not apply",
        "c0": "(layers × directions, batch, hidden_size)",
        "output": f"{lay}: last layer's h_t, directions concatenated",
        "h_n": "final h of every layer and direction",
        "c_n": "final c of every layer and direction",
    }
    return [[k, _shape(v), meaning[k]] for k, v in report.tensors.items() if v is not None]


def tensor_keys(report: ShapeReport) -> list[str]:
    """The report's tensor keys in `tensor_rows` order (the trace's names for them)."""
    return [k for k, v in report.tensors.items() if v is not None]


def counterpart_lines(report: ShapeReport) -> list[str]:
    """'RNNCell(4, 2) ↔ RNN(4, 2)' and one line per corresponding tensor/parameter."""
    if not report.counterpart:
        return []
    out = [f"{report.title}  ↔  {report.counterpart_title}  (same weights, same numbers)"]
    w = max(len(a) for a, _, _ in report.counterpart)
    w2 = max(len(b) for _, b, _ in report.counterpart)
    out += [f"  {a.ljust(w)}  ↔  {b.ljust(w2)}  {why}" for a, b, why in report.counterpart]
    return out


def parameter_rows(report: ShapeReport) -> list[list[str]]:
    """[name, shape, count, per-gate split] rows in named_parameters() order."""
    rows = []
    for p in report.parameters:
        split = "  ".join(f"{g.gate}:{g.count:,}" for g in p.gates)
        rows.append([p.name, _shape(p.shape), f"{p.count:,}", split])
    return rows


def _text_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(header, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(lines)


def shape_table_text(report: ShapeReport) -> str:
    """The whole report as plain text, for the terminal."""
    spec = report.spec
    out = [report.title + f"  on seq_len={spec.seq_len}, batch={spec.batch_size}", ""]
    out += ["call:"] + [f"  {line}" for line in report.calls] + [""]
    out.append(_text_table(["tensor", "shape", "layout"], tensor_rows(report)))
    if report.hn_slices:
        out += ["", "h_n slices:"] + [f"  {s.label}" for s in report.hn_slices]
    out += ["", "identities:"] + [f"  {line}" for line in report.identities]
    if report.counterpart:
        out += ["", *counterpart_lines(report)]
    out += ["", _text_table(["parameter", "shape", "count", "per gate"], parameter_rows(report))]
    out += ["", f"total (PyTorch):  {report.total_parameters:,}   = {report.torch_formula}"]
    keras = f"{report.keras_parameters:,}" if report.keras_parameters is not None else "n/a"
    out += [f"total (Keras/TF): {keras}   = {report.keras_formula}", f"  {report.convention_note}"]
    if report.api != CELL:
        out += [
            "per layer: " + ", ".join(f"l{i}: {n:,}" for i, n in enumerate(report.layer_totals))
        ]
    out += ["per gate:  " + ", ".join(f"{g}: {n:,}" for g, n in report.gate_totals.items())]
    out += [f"MACs per forward: {report.macs:,}  ({report.macs_formula})"]
    out += [f"note: {n}" for n in report.notes]
    return "\n".join(out)


def shape_table_markdown(report: ShapeReport) -> str:
    """The report as Markdown: a title, the tensor table, the parameter table and totals."""

    def md(header: list[str], rows: list[list[str]]) -> list[str]:
        esc = [[c.replace("|", "\\|") for c in r] for r in [header, *rows]]
        return ["| " + " | ".join(esc[0]) + " |", "|" + "---|" * len(header)] + [
            "| " + " | ".join(r) + " |" for r in esc[1:]
        ]

    out = [
        f"# {report.title}",
        "",
        f"seq_len {report.spec.seq_len}, batch {report.spec.batch_size}",
        "",
        "```python",
        *report.calls,
        "```",
        "",
        "## Tensors",
        "",
    ]
    out += md(["tensor", "shape", "layout"], tensor_rows(report))
    if report.hn_slices:
        out += ["", "h_n slices: " + "; ".join(s.label for s in report.hn_slices)]
    out += [""] + [f"- `{line}`" for line in report.identities]
    if report.counterpart:
        out += ["", f"## {report.title} beside {report.counterpart_title}", ""]
        out += md(
            [report.title, report.counterpart_title, "relation"],
            [list(r) for r in report.counterpart],
        )
    out += ["", "## Parameters", ""]
    out += md(["parameter", "shape", "count", "per gate"], parameter_rows(report))
    keras = f"{report.keras_parameters:,}" if report.keras_parameters is not None else "n/a"
    out += [
        "",
        f"- **PyTorch total**: {report.total_parameters:,} = {report.torch_formula}",
        f"- **Keras/TF total**: {keras} = {report.keras_formula}",
        f"- {report.convention_note}",
        f"- **MACs per forward**: {report.macs:,}",
        "",
    ]
    return "\n".join(out)


def shape_table_csv(report: ShapeReport) -> str:
    """The report as CSV: section, name, shape, count, detail (one row per tensor/parameter)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["section", "name", "shape", "count", "detail"])
    w.writerow(["module", report.title, "", "", "; ".join(report.calls)])
    for name, shape, layout in tensor_rows(report):
        w.writerow(["tensor", name, shape, "", layout])
    for p in report.parameters:
        w.writerow(
            [
                "parameter",
                p.name,
                _shape(p.shape),
                p.count,
                " ".join(f"{g.gate}={g.count}" for g in p.gates),
            ]
        )
    w.writerow(["total", "pytorch", "", report.total_parameters, report.torch_formula])
    w.writerow(
        [
            "total",
            "keras",
            "",
            "" if report.keras_parameters is None else report.keras_parameters,
            report.keras_formula,
        ]
    )
    w.writerow(["total", "macs", "", report.macs, report.macs_formula])
    return buf.getvalue()
