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
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import networkx as nx

from rnnviz.analysis.graph import build_graph
from rnnviz.analysis.scales import SCALE_MODES
from rnnviz.analysis.shapes import shapes
from rnnviz.analysis.tables import shape_table_csv, shape_table_markdown
from rnnviz.config.budget import (
    MAX_DRAWN_CELLS,
    MemoryEstimate,
    drawn_cells,
    estimate_for,
    human,
)
from rnnviz.config.options import RunOptions
from rnnviz.config.spec import Spec
from rnnviz.document.selection import Selection
from rnnviz.document.snapshot import draw_fold
from rnnviz.io.atomic import atomic_open
from rnnviz.io.formats import FORMATS, ExportFormat
from rnnviz.text.notes import with_note

__all__ = ["FORMATS", "ExportError", "ExportFormat", "export_bytes", "export_format"]

if TYPE_CHECKING:
    from rnnviz.document.snapshot import Snapshot

#: Largest --scale accepted; past this a PNG of even a small graph is absurdly large.
MAX_SCALE = 16.0
#: Smallest --scale accepted (the export dialog's minimum too): below it 10 pt text is under
#: 2.5 px and a small graph shrinks to a few pixels (1e-9 gave a 1×1 PNG).
MIN_SCALE = 0.25


class ExportError(ValueError):
    """An export cannot be made as asked (bad timestep, fold or scale); the message says why."""


def export_format(key: str) -> ExportFormat:
    """The format registered under `key`; ExportError lists the keys otherwise."""
    try:
        return FORMATS[key]
    except KeyError:
        raise ExportError(f"unknown format {key!r} (formats: {', '.join(FORMATS)})") from None


def default_filename(
    spec: Spec,
    fmt: str,
    timestep: int | None = None,
    fold: int | None = None,
    scale_mode: str | None = None,
    epoch: int | None = None,
) -> str:
    """A file name that says what the export holds, e.g. `lstm-5x6-l2-bi-T6-t3.svg`.

    Built from the spec (cell, sizes, layers, direction, seq_len), the highlighted timestep
    and a fold that differs from the format's default (0 = "unfolded"), a gate colour
    scale other than fixed (`-signed-log`), and the training epoch of a text model whose
    weights the file shows (`-epoch15`; not for the shape tables, the same at every epoch),
    so exports of different configurations or epochs do not overwrite each other.
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
    if scale_mode not in (None, "fixed") and f.kind == "gates":
        parts.append(str(scale_mode))
    if epoch is not None and f.kind != "table":
        parts.append(f"epoch{epoch}")
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
    """Raise ExportError unless MIN_SCALE ≤ scale ≤ MAX_SCALE."""
    if not MIN_SCALE <= scale <= MAX_SCALE:
        raise ExportError(
            f"scale must be from {MIN_SCALE:g} to {MAX_SCALE:g} (1 = one pixel per point), "
            f"got {scale:g}"
        )


def check_drawable(spec: Spec, fold: int | None) -> None:
    """Raise ExportError if a drawing of `spec` with the fold it would use (`drawn_fold`)
    shows more than MAX_DRAWN_CELLS cells: refused in microseconds with the reason, instead
    of minutes and gigabytes for a picture nobody can read."""
    used = drawn_fold(spec, fold)
    cells = drawn_cells(spec, used)
    if cells > MAX_DRAWN_CELLS:
        raise ExportError(
            f"an unfolded drawing of {cells:,} cells is refused (limit {MAX_DRAWN_CELLS:,}: "
            f"about {human(estimate_for(spec, 'svg', used).total)} and minutes to draw); "
            "fold it (--fold 4 keeps 4 steps at each end) or export graphml, dot or json "
            "for the whole graph"
        )


def output_estimate(
    spec: Spec, fmt: str, fold: int | None = None, scale: float = 1.0
) -> MemoryEstimate:
    """`estimate_for` with the fold format `fmt` really uses (drawn formats fold by default)."""
    kind = export_format(fmt).kind
    used = drawn_fold(spec, fold) if kind == "drawn" else (fold or None)
    return estimate_for(spec, fmt, used, scale)


def check_scale_mode(fmt: str, scale_mode: str | None) -> None:
    """Raise ExportError unless `scale_mode` is None, or one of SCALE_MODES for a gate format
    (only the gate heatmaps have a colour scale; a mode for any other format would be ignored).
    """
    if scale_mode is None:
        return
    if scale_mode not in SCALE_MODES:
        raise ExportError(f"scale mode must be one of {', '.join(SCALE_MODES)}, got {scale_mode!r}")
    if export_format(fmt).kind != "gates":
        raise ExportError(
            f"--scale-mode colours the gate heatmaps (gates-png, gates-svg); {fmt} has no "
            f"colour scale"
        )


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


#: Layout units → points in DOT's `pos` (the drawn diagram's own column and row pitch), and
#: the shift of forward/backward cells off their column in a bidirectional graph.
DOT_COL, DOT_ROW, DOT_STAGGER = 160.0, 92.0, 48.0


def _dot_pos(data: dict[str, Any], bidirectional: bool) -> str:
    x = float(data["x"]) * DOT_COL
    if bidirectional and "direction" in data:
        x += DOT_STAGGER if data["direction"] == "bwd" else -DOT_STAGGER
    return f"{x:g},{float(data['y']) * DOT_ROW:g}!"


def dot_bytes(g: nx.DiGraph, note: str = "") -> bytes:
    """The graph as Graphviz DOT text, its visible label the graph's title followed by `note`
    (what the graph is of beyond its spec: a text model's epoch; see `source_note`).

    Written here rather than with networkx's pydot/pygraphviz writers, which need packages
    rnnviz does not depend on; DOT is a small text format and only IDs and strings need
    quoting. Every node and edge attribute of the graph is kept; every edge is labelled with
    its shape. Nodes also carry `pos` in points from our layout, so `neato -n -Tsvg` draws our
    exact placement.

    `dot -Tsvg` draws the grid, time left to right and rows (input, each layer's directions,
    concat, output) bottom to top, with every step's cells in one column and every row's
    cells on one line: the graph is laid out `rankdir=LR` with one rank per column (`rank=same`
    for each time step, and for the h0/h_n columns), so columns cannot drift; within a
    column an invisible chain fixes the rows' order (where no edge already joins two
    neighbouring rows), and heavy invisible edges along each row keep its nodes level. An edge
    that would run against that order is written head-first with `dir=back`, graphviz's way of
    drawing the same arrow without changing the layout: the backward recurrence (t+1 → t) and
    the edges that go up a column (x → cell → cat → y).

    Edges between columns carry their shape as a `label`, which dot places in the gap between
    the columns; edges inside a column carry it as an `xlabel`, as dot cannot place inline
    labels on flat edges reliably. A bidirectional graph's column has edges that pass over a
    row (x → bwd cell, fwd cell → cat, cat → next layer's bwd cell): each leaves its lower node
    from the right (`headport="e"`), so dot runs it up the column's right side rather than as
    a wide arc through the gap, where it crossed the state labels and pushed its own label onto
    them; those graphs also get wider gaps between columns (`ranksep`) for the edges' labels.
    A backward recurrence enters its cell from the right (`tailport="e"`). With these,
    `dot -Tpng` draws no edge label over another for the presets (tests/test_graphviz_labels.py).
    """
    title = with_note(str(g.graph.get("title", "rnnviz")), note)
    bi = '"bwd"' in str(g.graph.get("spec", "")) or any(
        d == "bwd" for _, d in g.nodes(data="direction")
    )
    cols: dict[float, list[tuple[float, str]]] = {}  # x → (y, node): one rank each
    rows: dict[float, list[tuple[float, str]]] = {}  # y → (x, node)
    for n, data in g.nodes(data=True):
        if "x" in data and "y" in data:
            x, y = float(data["x"]), float(data["y"])
            cols.setdefault(x, []).append((y, str(n)))
            rows.setdefault(y, []).append((x, str(n)))
    # Each node's place in its column's rank, counted from the top row.
    place = {
        n: i for members in cols.values() for i, (_, n) in enumerate(sorted(members, reverse=True))
    }

    def passes_over_a_row(a: str, b: str) -> bool:
        return a in place and b in place and abs(place[a] - place[b]) > 1

    same_col_edges = [
        (str(a), str(b))
        for a, b in g.edges
        if "x" in g.nodes[a] and g.nodes[a].get("x") == g.nodes[b].get("x")
    ]
    over_rows = any(passes_over_a_row(a, b) for a, b in same_col_edges)
    # Said in the file too: a tool that reads DOT as data (not as a drawing) must know that
    # `dir=back` edges run head → tail. (Written as they flow, with constraint=false and an
    # invisible reversed twin for the layout, dot routed them through other rows.)
    lines = [
        f"// rnnviz unrolled graph of {title}",
        '// edges with dir="back" are written head-first for the layout: the data flows',
        "// from the second node to the first (the GraphML export has every edge as it flows)",
        "digraph rnnviz {",
    ]
    graph_attrs = {
        "label": title,
        "labelloc": "t",
        "rankdir": "LR",
        "newrank": True,
        "nodesep": 0.3,
        # The edges up a column's right side have their labels placed beside them, in the
        # gap where the state labels are: at 0.3 in dot stacked them against those (bilstm-2's
        # "(1, 5)" 1.8 pt over "h (1, 6)", reading as one label). More room between the rows
        # (nodesep 0.5) did that too, but made dot fail to route a GRU's or RNN's fwd → cat
        # edge ("Unable to reclaim box space"), drawing it along the bwd cell's side.
        "ranksep": 0.6 if over_rows else 0.3,
        "fontname": "DejaVu Sans",
    }
    graph_attrs.update({k: v for k, v in g.graph.items() if k not in graph_attrs})
    lines.append("  graph " + _dot_attrs(graph_attrs) + ";")
    # DejaVu Sans draws every label here (shapes, arrows, Latin names); graphviz looks it up
    # through fontconfig, so the SVG names it and PNG/PDF embed it.
    lines.append('  node [fontname="DejaVu Sans", fontsize=10];')
    lines.append('  edge [fontname="DejaVu Sans", fontsize=8];')
    for n, data in g.nodes(data=True):
        attrs = dict(data)
        attrs.setdefault("shape", _DOT_SHAPES.get(str(data.get("kind")), "box"))
        if "x" in data and "y" in data:
            attrs["pos"] = _dot_pos(data, bi)
        lines.append(f"  {_dot_quote(str(n))} {_dot_attrs(attrs)};")
    linked: set[frozenset[str]] = set()  # column neighbours a drawn edge already joins
    for a, b, data in g.edges(data=True):
        attrs = dict(data)
        na, nb = g.nodes[a], g.nodes[b]
        same_col = "x" in na and na.get("x") == nb.get("x")
        if "shape" in data:
            key = "xlabel" if same_col else "label"
            attrs.setdefault(key, str(data["shape"]).replace(" + ", "\n"))
            attrs.setdefault("tooltip", data["shape"])
        # Rank order runs left → right (time) and, within a column, top → bottom; an edge
        # pointing the other way (backward in time, or up the column) is written reversed.
        if same_col:
            backwards = float(na.get("y", 0)) < float(nb.get("y", 0))
        else:
            backwards = float(na.get("x", 0)) > float(nb.get("x", 0))
        if backwards:
            attrs["dir"] = "back"
            a, b = b, a
        a, b = str(a), str(b)
        if same_col:
            linked.add(frozenset((a, b)))
            if passes_over_a_row(a, b):
                # Written top row first, so the head is the lower node. With a port on the
                # right, dot routes this flat edge close along the column's right side;
                # without one it bulged into the gap before the column, through every state
                # label there, and graphviz's xlabel placer put its label on them (bilstm-2:
                # "c (1, 6)" under "(1, 6)", "h (1, 6)" under "(1, 5)"). Only the lower end
                # gets a port: one at the upper end too made `neato -n` draw the edge through
                # the cell beside it.
                attrs["headport"] = "e"
        elif backwards:
            # The arrowhead is at the written tail. Left free, dot brought the edge under
            # the cell into its bottom, onto the arrowhead of the edge rising there from x or
            # the layer below.
            attrs["tailport"] = "e"
        lines.append(f"  {_dot_quote(a)} -> {_dot_quote(b)} {_dot_attrs(attrs)};")
    for _x, members in sorted(cols.items()):
        ordered = [n for _, n in sorted(members, reverse=True)]  # top row first
        lines.append(f"  {{ rank=same; {' '.join(_dot_quote(n) for n in ordered)} }}")
        for a, b in zip(ordered, ordered[1:]):  # the rows' order within the column
            # A drawn edge between neighbours is written top row first and holds their
            # order already; an invisible twin beside it made dot bow the drawn one apart.
            if frozenset((a, b)) not in linked:
                lines.append(f"  {_dot_quote(a)} -> {_dot_quote(b)} [style=invis];")
    for _y, members in sorted(rows.items()):
        ordered = [n for _, n in sorted(members)]
        for a, b in zip(ordered, ordered[1:]):  # a row on one line, in time order
            lines.append(f"  {_dot_quote(a)} -> {_dot_quote(b)} [style=invis, weight=100];")
    lines.append("}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def source_note(snapshot: Any, spec: Spec) -> str:
    """What an export of `spec` made from `snapshot` shows beyond the spec, in the words its
    title carries (`Snapshot.source_note`: a text model's "text model: epoch 15 weights"),
    or "" when the snapshot is of another spec (the export is then a random-input one) or
    there is none. `export_bytes` reads it once and hands it on in `DrawRequest.note`."""
    if snapshot is None or snapshot.spec != spec:
        return ""
    return str(snapshot.source_note)


def text_frame_of(snapshot: Any, spec: Spec) -> Any:
    """The TextFrame of `snapshot` (a text model's epoch) when it shows `spec`, else None:
    exports of a text snapshot carry the tokens, Embedding and Linear around the RNN."""
    frame = getattr(snapshot, "frame", None)
    return frame if frame is not None and snapshot.spec == spec else None


def data_bytes(
    spec: Spec,
    fmt: str,
    fold: int | None = None,
    api: str = "module",
    text: Any = None,
    note: str = "",
) -> bytes:
    """GraphML, DOT, JSON, Markdown or CSV of `spec` run through `api` (no trace or Qt needed).

    Graph formats are unfolded unless `fold` (steps kept at each end, 0 = none) is given;
    `text` (a rnnviz.analysis.text_graph.TextFrame) adds the stages of a text model, and
    `note` (its epoch, `source_note`) goes into the DOT file's visible label. (GraphML and
    JSON carry the epoch as the graph's `epoch` attribute, from `text`.)
    """
    check_fold(fold)
    kind = export_format(fmt).kind
    if kind == "table":
        report = shapes(spec, api)
        text = shape_table_markdown(report) if fmt == "md" else shape_table_csv(report)
        return text.encode("utf-8")
    if kind != "data":
        raise ExportError(f"{fmt} is drawn by Qt; use export_bytes")
    g = build_graph(spec, fold=fold or None, api=api, text=text)
    if fmt == "dot":
        return dot_bytes(g, note)
    return {"graphml": graphml_bytes, "json": node_link_json_bytes}[fmt](g)


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
    scale_mode: str | None = None,
    compute: bool = True,
    selection: Selection | None = None,
) -> bytes:
    """The bytes of one export of `spec` in format `fmt` — what the CLI and dialog write.

    Drawn formats highlight `timestep` when given and fold as `drawn_fold`; gate heatmaps need
    a trace, taken from `snapshot` or computed from `options`, and are coloured in
    `scale_mode` (SCALE_MODES; None = "fixed"; ExportError for any other format). A Qt
    application must exist for drawn and gate formats (the CLI makes one; see `ensure_qt_app`).
    `compute=False` never runs torch here: a gates export whose snapshot is not a complete
    trace of `spec` and `options` (`needs_trace`) raises ExportError; the window passes it
    and gets the complete snapshot from its runner first, off the GUI thread. `selection`
    picks the gate heatmaps' lane, unit and batch row (the window passes what it shows).
    """
    f = export_format(fmt)
    check_timestep(spec, timestep)
    check_fold(fold)
    check_scale(scale)
    check_scale_mode(fmt, scale_mode)
    if snapshot is not None and snapshot.spec == spec and options is None:
        options = snapshot.options
    api = (options or RunOptions()).api
    if not f.needs_qt:
        text, note = text_frame_of(snapshot, spec), source_note(snapshot, spec)
        return data_bytes(spec, fmt, fold, api, text=text, note=note)
    if f.kind == "drawn":
        check_drawable(spec, fold)
    drawer = _DRAWERS.get(f.kind)
    if drawer is None:
        raise ExportError(
            f"{fmt} is drawn by the window's drawing code; import "
            f"rnnviz.app.drawing.render (needs PySide6) to register it"
        )
    if needs_trace(spec, fmt, options, snapshot):
        if not compute:
            raise ExportError("the gate heatmaps need a complete trace; wait for every lane")
        from rnnviz.document.snapshot import complete_snapshot, compute_snapshot

        if snapshot is not None and _traces(snapshot, spec, options):
            # The window may still be verifying lanes: an export shows verified gates only.
            snapshot = complete_snapshot(snapshot)
        else:
            snapshot = compute_snapshot(spec, options or RunOptions())
    # Named from the snapshot drawn: a gate figure traced afresh here is a random-input one.
    note = source_note(snapshot, spec)
    return drawer(
        DrawRequest(spec, fmt, snapshot, timestep, fold, scale, scale_mode, api, selection, note)
    )


def needs_trace(
    spec: Spec, fmt: str, options: RunOptions | None, snapshot: Snapshot | None
) -> bool:
    """True when `export_bytes` would run torch for this export: a gates format whose
    `snapshot` is missing, of another spec or options, or still has lanes pending."""
    if export_format(fmt).kind != "gates":
        return False
    if snapshot is None or not _traces(snapshot, spec, options):
        return True
    return not snapshot.trace.complete


def _traces(snapshot: Snapshot, spec: Spec, options: RunOptions | None) -> bool:
    """Whether `snapshot` is a trace of `spec` run with `options` (complete or not)."""
    return snapshot.spec == spec and snapshot.options == options


@dataclass(frozen=True)
class DrawRequest:
    """One drawn export, checked by `export_bytes`: the spec and format, the snapshot the
    gate heatmaps draw (traced first when missing), the highlighted timestep, the fold, the
    PNG scale, the gate heatmaps' colour scale (None for the diagram) and the API."""

    spec: Spec
    fmt: str
    snapshot: Snapshot | None
    timestep: int | None
    fold: int | None
    scale: float
    scale_mode: str | None = None
    api: str = "module"
    #: The gate heatmaps' lane, unit and batch row (the window's selection); None: layer 0
    #: forward, unit 0, batch 0. Its t is not used: `timestep` marks the step.
    selection: Selection | None = None
    #: What the drawing shows beyond the spec, for its title and caption (`source_note`: a
    #: text model's "text model: epoch 15 weights"); "" for a random-input trace.
    note: str = ""


#: Renders a drawn export's file bytes.
Drawer = Callable[[DrawRequest], bytes]


#: Drawn formats by kind ("drawn", "gates"), registered by the layer that can draw them (the
#: app), so this core module knows data formats only and never imports Qt.
_DRAWERS: dict[str, Drawer] = {}


def register_drawer(kind: str, drawer: Drawer) -> None:
    """Register the function that renders every export format of `kind` ("drawn"/"gates")."""
    _DRAWERS[kind] = drawer


def write_export(path: str | os.PathLike[str], data: bytes) -> None:
    """Write an export (atomically to a file, through a symlink to its target, streamed to a
    FIFO, device or "-" for stdout; see `rnnviz.io.atomic`); WriteError (one line) if it
    cannot be written."""
    with atomic_open(path, "wb") as fh:
        fh.write(data)
