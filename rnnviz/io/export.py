"""Exports of a configuration: data formats from the graph, tables from the shape report, and
the dispatch the CLI and the window's export dialog share.

Every exporter returns bytes in memory (tests inspect them without a disk) and the same spec
gives the same bytes. Files are written with `rnnviz.io.atomic.atomic_write`, so a failed write
leaves any existing file as it was.

Data formats (GraphML, DOT, node-link JSON) describe the whole unrolled graph and are never
folded unless a fold is asked for. Drawn formats (SVG, PNG, PDF) and the gate heatmaps are
rendered by the window's own drawing code, which registers itself here (`register_drawer`)
when `rnnviz.app.drawing.render` is imported; this module never imports Qt. Drawn formats fold
long sequences like the window does.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import networkx as nx

from rnnviz.analysis.graph import build_graph
from rnnviz.analysis.shapes import shapes
from rnnviz.analysis.tables import shape_table_csv, shape_table_markdown
from rnnviz.config.options import RunOptions
from rnnviz.config.spec import Spec
from rnnviz.document.snapshot import draw_fold
from rnnviz.io.atomic import atomic_open

if TYPE_CHECKING:
    from rnnviz.document.snapshot import Snapshot

#: Largest --scale accepted; past this a PNG of even a small graph is absurdly large.
MAX_SCALE = 16.0


class ExportError(ValueError):
    """An export cannot be made as asked (bad timestep, fold or scale); the message says why."""


@dataclass(frozen=True)
class ExportFormat:
    """One export format: its key (the CLI's --format), file extension and what it draws from.

    kind is "data" (from the graph), "table" (from the shape report), "drawn" (the diagram as
    the window draws it) or "gates" (the gate heatmaps, which need a trace).
    """

    key: str
    ext: str
    label: str
    kind: str

    @property
    def needs_qt(self) -> bool:
        """True for the formats rendered by Qt (drawn diagrams and gate heatmaps)."""
        return self.kind in ("drawn", "gates")


FORMATS: dict[str, ExportFormat] = {
    f.key: f
    for f in (
        ExportFormat("svg", "svg", "SVG diagram (vector, for slides and the web)", "drawn"),
        ExportFormat("png", "png", "PNG diagram (raster)", "drawn"),
        ExportFormat("pdf", "pdf", "PDF diagram (vector, for papers)", "drawn"),
        ExportFormat("graphml", "graphml", "GraphML graph (yEd, Gephi, networkx)", "data"),
        ExportFormat("dot", "dot", "Graphviz DOT graph", "data"),
        ExportFormat("json", "json", "node-link JSON graph (networkx, d3)", "data"),
        ExportFormat("md", "md", "Markdown shape and parameter tables", "table"),
        ExportFormat("csv", "csv", "CSV shape and parameter table", "table"),
        ExportFormat("gates-png", "png", "gate heatmaps as PNG", "gates"),
        ExportFormat("gates-svg", "svg", "gate heatmaps as SVG", "gates"),
    )
}


def export_format(key: str) -> ExportFormat:
    """The format registered under `key`; ExportError lists the keys otherwise."""
    try:
        return FORMATS[key]
    except KeyError:
        raise ExportError(f"unknown format {key!r} (formats: {', '.join(FORMATS)})") from None


def default_filename(
    spec: Spec, fmt: str, timestep: int | None = None, fold: int | None = None
) -> str:
    """A file name that says what the export holds, e.g. `lstm-5x6-l2-bi-T6-t3.svg`.

    Built from the spec (cell, sizes, layers, direction, seq_len), the highlighted timestep
    and a fold that differs from the format's default (0 = "unfolded"), so exports of different configurations do not overwrite each other.
    """
    f = export_format(fmt)
    parts = [spec.cell, f"{spec.input_size}x{spec.hidden_size}"]
    if spec.num_layers != 1:
        parts.append(f"l{spec.num_layers}")
    if spec.bidirectional:
        parts.append("bi")
    if spec.proj_size:
        parts.append(f"p{spec.proj_size}")
    parts.append(f"T{spec.seq_len}")
    if f.kind == "gates":
        parts.append("gates")
    if timestep is not None and f.kind in ("drawn", "gates"):
        parts.append(f"t{timestep}")
    if fold is not None and f.kind in ("drawn", "data"):
        parts.append(f"fold{fold}" if fold else "unfolded")
    return "-".join(parts) + "." + f.ext


# ---- checks ------------------------------------------------------------------------------------
def check_timestep(spec: Spec, timestep: int | None) -> None:
    """Raise ExportError unless `timestep` is None or in [0, seq_len - 1]."""
    if timestep is not None and not 0 <= timestep < spec.seq_len:
        raise ExportError(
            f"timestep must be from 0 to {spec.seq_len - 1} "
            f"(seq_len {spec.seq_len}), got {timestep}"
        )


def check_fold(fold: int | None) -> None:
    """Raise ExportError unless `fold` is None or ≥ 0 (0 means: do not fold)."""
    if fold is not None and fold < 0:
        raise ExportError(f"fold must be 0 (no folding) or the steps kept at each end, got {fold}")


def check_scale(scale: float) -> None:
    """Raise ExportError unless 0 < scale ≤ MAX_SCALE."""
    if not 0 < scale <= MAX_SCALE:
        raise ExportError(f"scale must be above 0 and at most {MAX_SCALE:g}, got {scale:g}")


def drawn_fold(spec: Spec, fold: int | None) -> int | None:
    """The fold a drawn export uses: the one asked for (0 = none), else the window's default."""
    if fold is None:
        return draw_fold(spec)
    return fold or None


# ---- data formats ------------------------------------------------------------------------------
def graphml_bytes(g: nx.DiGraph) -> bytes:
    """The graph as GraphML (UTF-8), every node and edge attribute kept with its type."""
    return ("\n".join(nx.generate_graphml(g, encoding="utf-8", prettyprint=True)) + "\n").encode(
        "utf-8"
    )


def node_link_json_bytes(g: nx.DiGraph) -> bytes:
    """The graph as node-link JSON (`nx.node_link_data`), keys sorted, nodes in graph order.

    `nx.node_link_graph(json.loads(data), directed=True, multigraph=False)` reads it back.
    """
    data = nx.node_link_data(g, edges="edges")
    return (json.dumps(data, sort_keys=True, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def _dot_quote(text: str) -> str:
    # DOT's quoted string: only the quote and the backslash need escaping; a newline becomes
    # the \n escape graphviz understands in labels.
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _dot_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)  # a DOT numeral, e.g. 3 or -1.0
    return _dot_quote(str(value))


def _dot_attrs(attrs: dict[str, Any]) -> str:
    return "[" + ", ".join(f"{k}={_dot_value(v)}" for k, v in attrs.items()) + "]"


#: Graphviz node shapes per node kind, so `dot -Tsvg` gives a readable picture as is.
_DOT_SHAPES = {
    "cell": "box",
    "input": "plaintext",
    "output": "plaintext",
    "h0": "ellipse",
    "h_n": "ellipse",
    "fold": "plaintext",
}


def dot_bytes(g: nx.DiGraph) -> bytes:
    """The graph as Graphviz DOT text.

    Written here rather than with networkx's pydot/pygraphviz writers, which need packages
    rnnviz does not depend on; DOT is a small text format and only IDs and strings need
    quoting. Every node and edge attribute of the graph is kept (edges keep `flow` and
    `shape`; the shape is also the edge's tooltip, shown on hover in graphviz's SVG, since
    labels on every edge crowd the picture). Nodes get a graphviz `shape` by kind and a
    pinned `pos` (inches) from our layout, so `neato -Tsvg` draws our placement.
    """
    title = str(g.graph.get("title", "rnnviz"))
    lines = [f"// rnnviz unrolled graph of {title}", "digraph rnnviz {"]
    graph_attrs = {"label": title, "labelloc": "t", "rankdir": "BT"}
    graph_attrs.update({k: v for k, v in g.graph.items() if k not in graph_attrs})
    lines.append("  graph " + _dot_attrs(graph_attrs) + ";")
    lines.append('  node [fontname="DejaVu Sans", fontsize=10];')
    lines.append('  edge [fontname="DejaVu Sans", fontsize=8];')
    for n, data in g.nodes(data=True):
        attrs = dict(data)
        attrs.setdefault("shape", _DOT_SHAPES.get(str(data.get("kind")), "box"))
        if "x" in data and "y" in data:
            attrs["pos"] = f"{float(data['x']) * 2.0:g},{float(data['y']):g}!"
        lines.append(f"  {_dot_quote(str(n))} {_dot_attrs(attrs)};")
    for a, b, data in g.edges(data=True):
        attrs = dict(data)
        if "shape" in data:
            attrs.setdefault("tooltip", data["shape"])
        lines.append(f"  {_dot_quote(str(a))} -> {_dot_quote(str(b))} {_dot_attrs(attrs)};")
    lines.append("}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def data_bytes(spec: Spec, fmt: str, fold: int | None = None) -> bytes:
    """GraphML, DOT, JSON, Markdown or CSV of `spec` (no trace or Qt needed).

    Graph formats are unfolded unless `fold` (steps kept at each end, 0 = none) is given.
    """
    check_fold(fold)
    kind = export_format(fmt).kind
    if kind == "table":
        report = shapes(spec)
        text = shape_table_markdown(report) if fmt == "md" else shape_table_csv(report)
        return text.encode("utf-8")
    if kind != "data":
        raise ExportError(f"{fmt} is drawn by Qt; use export_bytes")
    g = build_graph(spec, fold=fold or None)
    return {"graphml": graphml_bytes, "dot": dot_bytes, "json": node_link_json_bytes}[fmt](g)


# ---- dispatch ----------------------------------------------------------------------------------
def export_bytes(
    spec: Spec,
    fmt: str,
    *,
    options: RunOptions | None = None,
    snapshot: Snapshot | None = None,
    timestep: int | None = None,
    fold: int | None = None,
    scale: float = 1.0,
) -> bytes:
    """The bytes of one export of `spec` in format `fmt` — what the CLI and dialog write.

    Drawn formats highlight `timestep` when given and fold as `drawn_fold`; gate heatmaps need
    a trace, taken from `snapshot` or computed from `options`. A Qt application must exist for
    drawn and gate formats (the CLI makes one; see `ensure_qt_app`).
    """
    f = export_format(fmt)
    check_timestep(spec, timestep)
    check_fold(fold)
    check_scale(scale)
    if not f.needs_qt:
        return data_bytes(spec, fmt, fold)
    drawer = _DRAWERS.get(f.kind)
    if drawer is None:
        raise ExportError(
            f"{fmt} is drawn by the window's drawing code; import "
            f"rnnviz.app.drawing.render (needs PySide6) to register it"
        )
    if f.kind == "gates" and (snapshot is None or snapshot.spec != spec):
        from rnnviz.document.snapshot import compute_snapshot

        snapshot = compute_snapshot(spec, options or RunOptions())
    elif f.kind == "gates" and snapshot is not None and not snapshot.trace.complete:
        # The window may still be verifying lanes: an export shows verified gates only.
        from rnnviz.document.snapshot import complete_snapshot

        snapshot = complete_snapshot(snapshot)
    return drawer(spec, fmt, snapshot=snapshot, timestep=timestep, fold=fold, scale=scale)


class Drawer(Protocol):
    """Renders a drawn export: (spec, fmt, snapshot, timestep, fold, scale) → file bytes."""

    def __call__(
        self,
        spec: Spec,
        fmt: str,
        *,
        snapshot: Snapshot | None,
        timestep: int | None,
        fold: int | None,
        scale: float,
    ) -> bytes: ...


#: Drawn formats by kind ("drawn", "gates"), registered by the layer that can draw them (the
#: app), so this core module knows data formats only and never imports Qt.
_DRAWERS: dict[str, Drawer] = {}


def register_drawer(kind: str, drawer: Drawer) -> None:
    """Register the function that renders every export format of `kind` ("drawn"/"gates")."""
    _DRAWERS[kind] = drawer


def _file_mode(path: str | os.PathLike[str]) -> int:
    # The temporary file atomic_open writes is private (0600); an export is meant to be
    # shared, so it gets the mode a plain open() would give: the old file's, else 0666 & ~umask.
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        umask = os.umask(0o022)
        os.umask(umask)
        return 0o666 & ~umask


def write_export(path: str | os.PathLike[str], data: bytes) -> None:
    """Write an export atomically; WriteError (one line) if it cannot be written."""
    mode = _file_mode(path)
    with atomic_open(path, "wb") as fh:
        os.fchmod(fh.fileno(), mode)
        fh.write(data)
