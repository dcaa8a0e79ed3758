"""The unrolled graph drawn as a QGraphicsScene: the window's diagram and every drawn export.

Nodes and their places come from the core's networkx graph (`rnnviz.analysis.graph.build_graph`); this
module only turns grid coordinates into points and draws. One grid column is one timestep, one
grid row one (layer, direction); inputs are at the bottom, outputs on top.

In a bidirectional network the layer above reads both directions of the layer below at each
step, so edges run from row r to rows r+2 and r+3. Drawn straight, they would pass through the
cells in between and look like connections to them. Backward cells are therefore shifted right
by a fraction of a column ("staggered"): every such edge then clears the cells it passes.
"""

from __future__ import annotations

from typing import Any

import networkx as nx
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainterPath
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
)

from rnnviz.analysis.graph import layout_key
from rnnviz.app.drawing.scene_parts import (
    NODE_PT,
    Hang,
    advance,
    arrow_path,
    boundary,
    box_text,
    boxed_text,
    brush,
    elided,
    font,
    hang_label,
    pen,
    set_boxed_text,
    shape_lines,
)
from rnnviz.app.drawing.tooltips import node_tooltip
from rnnviz.config.spec import Spec

#: Grid column width and row height in scene units (1 unit = 1 pt in exports).
COL = 160.0
ROW = 92.0
#: Backward cells sit this far right of their column's centre, forward cells as far left.
STAGGER = 0.3 * COL

#: Room left and right of a node's text inside its box, in scene pixels.
NODE_PAD = 14.0
EDGE_PT = 8.5
TITLE_PT = 12.0

#: (fill, border) per node kind; forward and backward cells differ so the reversal shows.
NODE_COLOURS: dict[str, tuple[str, str]] = {
    "fwd": ("#dbeafe", "#1d4ed8"),
    "bwd": ("#ffedd5", "#c2410c"),
    "input": ("#dcfce7", "#15803d"),
    "output": ("#f3e8ff", "#7e22ce"),
    "state": ("#f1f5f9", "#475569"),
    "fold": ("#ffffff", "#94a3b8"),
    "concat": ("#fef9c3", "#a16207"),
    # Text models: the stages around the RNN.
    "token": ("#ecfdf5", "#047857"),
    "encode": ("#e0f2fe", "#0369a1"),
    "head": ("#fce7f3", "#be185d"),
    "pred": ("#fdf4ff", "#a21caf"),
}
#: Edge colour per flow; recurrent edges take their direction's colour instead.
FLOW_COLOURS = {
    "x": "#15803d",
    "y": "#7e22ce",
    "h": "#64748b",
    "cat": "#a16207",
    "idx": "#047857",
    "logits": "#be185d",
}
HIGHLIGHT = "#fde68a"
SELECTED = "#dc2626"

#: Node box sizes (w, h) per kind.
SIZES = {
    "cell": (90.0, 40.0),
    "input": (52.0, 28.0),
    "output": (52.0, 28.0),
    "h0": (104.0, 30.0),
    "h_n": (104.0, 30.0),
    "fold": (116.0, 40.0),
    "concat": (40.0, 20.0),
    "token": (64.0, 26.0),
    "encode": (124.0, 28.0),
    "head": (100.0, 28.0),
    "pred": (72.0, 26.0),
}
#: Row captions of the text stages (by node kind), left of the grid.
TEXT_ROWS = {"token": "tokens", "encode": "encoder", "head": "head", "pred": "predicted"}


def _place(attrs: dict[str, Any]) -> tuple[Any, ...]:
    """Where and as what a node is drawn: kind, grid x, y and direction (unique per node)."""
    return (attrs["kind"], attrs["x"], attrs["y"], attrs.get("direction"))


def _layout(graph: nx.DiGraph, shapes: bool = True) -> tuple[frozenset[Any], frozenset[Any]]:
    """Everything of `graph` that decides the drawing but its node texts: the place of
    every node, and every edge's ends, flow and (with `shapes`) shape label. Without the
    shapes it is what two graphs of specs differing only in sizes (hidden_size, input_size,
    batch, proj_size) share."""
    nodes = graph.nodes
    return (
        frozenset(_place(a) for _, a in nodes(data=True)),
        frozenset(
            (_place(nodes[u]), _place(nodes[v]), e.get("flow", ""))
            + ((e.get("shape", ""),) if shapes else ())
            for u, v, e in graph.edges(data=True)
        ),
    )


class GraphScene(QGraphicsScene):
    """The unrolled graph of `spec` (nodes/edges from `graph`), with an optional title and legend.

    `set_current(t, cell)` highlights timestep t's column and outlines the cell (layer,
    direction); it moves two items and rebuilds nothing, so stepping through time is cheap.
    `node_at(item)` maps a clicked item back to its graph node attributes.
    """

    def __init__(
        self,
        graph: nx.DiGraph,
        spec: Spec,
        *,
        title: bool = False,
        legend: bool = False,
        highlight: bool = True,
        parent: Any = None,
        note: str = "",
    ) -> None:
        super().__init__(parent)
        self.graph = graph
        self.spec = spec
        #: What the graph shows beyond the spec (a text model's epoch), ending the title line.
        self.note = note
        #: Whether a timestep will be highlighted: the legend names the band only then.
        self.highlight = highlight
        self.setBackgroundBrush(QColor("white"))
        self._stagger = STAGGER if spec.num_directions == 2 else 0.0
        self._top = float(max(y for _, y in graph.nodes(data="y")))
        #: lowest grid row: the inputs (0), or a text model's tokens below them
        self._bottom = float(min(0.0, *(y for _, y in graph.nodes(data="y"))))
        self.positions: dict[str, QPointF] = {}
        #: node id → its box item, for hit tests and tests.
        self.node_items: dict[str, QGraphicsPathItem] = {}
        #: every edge label drawn, as (edge, text) — what the user reads on the arrows.
        self.edge_labels: list[tuple[tuple[str, str], str]] = []
        #: column (grid x) of each drawn timestep; folded steps map to the fold column.
        self.column_of: dict[int, float] = {}
        self._fold_col: float | None = None
        #: grid columns of the fold markers (a fold may split around the selected t).
        self.fold_cols: list[float] = []
        #: (scene y, text) of every row label: the view pins them while panning.
        self.row_labels: list[tuple[float, str]] = []
        self.current_t: int | None = None
        self.current_cell: tuple[int, str] | None = None
        #: node id → the text item in its box
        self._labels: dict[str, QGraphicsSimpleTextItem] = {}
        #: node id → its box's (w, h) as placed (`_fit`)
        self._sizes: dict[str, tuple[float, float]] = {}
        #: what `relabel` compares: where every node and edge is drawn
        self._layout: tuple[frozenset[Any], frozenset[Any]] | None = None
        #: a title or legend is drawn (they name the spec: a new spec needs a new scene)
        self._decorated = title or legend
        #: edge → its arrow (its tooltip names the shape)
        self._edge_items: dict[tuple[str, str], QGraphicsPathItem] = {}
        #: every edge label's box: (edge, line of its shape, box, where it hangs)
        self._edge_boxes: list[tuple[tuple[str, str], int, QGraphicsRectItem, Hang]] = []
        #: the row labels' items, in row_labels' order
        self._row_items: list[QGraphicsSimpleTextItem] = []
        self._place_nodes()
        self._draw_edges()
        self._draw_row_labels()
        self._band, self._band_text, self._outline = self._make_cursor()
        if title or legend:
            # The exports' title and legend live in their own module, which imports this one.
            from rnnviz.app.drawing.legend import draw_legend, draw_title

            if title:
                draw_title(self)
            if legend:
                draw_legend(self)

    # ---- geometry ----------------------------------------------------------------------------
    def point(self, attrs: dict[str, Any]) -> QPointF:
        """Scene point of a node from its grid x, y (rows counted upward) and direction."""
        shift = 0.0
        if "direction" in attrs:  # cells, fold markers and h0/h_n of a row
            shift = self._stagger if attrs["direction"] == "bwd" else -self._stagger
        return QPointF(attrs["x"] * COL + shift, (self._top - attrs["y"]) * ROW)

    def _size(self, node: str) -> tuple[float, float]:
        """The (w, h) of a node's box as placed (`_fit`)."""
        return self._sizes[node]

    def _fit(self, attrs: dict[str, Any], text: str) -> tuple[float, float, str]:
        """(w, h) of a node's box and the text drawn in it.

        A box is its kind's size, widened to its text up to a column's width (less a gap),
        and a text wider still is cut in the middle (its tooltip holds it whole): a batch's
        tokens "'the | everybody | the | a'" and "RNNCell t=0" ran past their boxes. Every
        cell box takes the width of the widest cell label the sequence can have, so the
        row stays even and a relabelled step (`relabel`) still fits."""
        kind = attrs["kind"]
        w, h = SIZES.get(kind, (84.0, 30.0))
        look = (kind == "cell", kind == "fold")
        sized = text
        if kind == "cell":
            cell_name = str(self.graph.graph.get("cell_name", self.spec.cell.upper()))
            sized = f"{cell_name} t={max(self.spec.seq_len - 1, 0)}"
        room = COL - 16.0
        w = min(max(w, advance(sized, *look) + NODE_PAD), room)
        if advance(text, *look) + NODE_PAD > w:
            text = elided(text, *look, w - NODE_PAD)
        return w, h, text

    # ---- nodes -------------------------------------------------------------------------------
    def _look(self, attrs: dict[str, Any]) -> tuple[tuple[str, str], str]:
        """(fill, border) colours and the text drawn in the box of a node."""
        kind = attrs["kind"]
        if kind == "cell":
            cell_name = str(self.graph.graph.get("cell_name", self.spec.cell.upper()))
            return NODE_COLOURS[attrs["direction"]], f"{cell_name} t={attrs['t']}"
        if kind in ("h0", "h_n"):
            return NODE_COLOURS["state"], attrs["label"]
        if kind == "pred" and attrs.get("target"):
            # Right or wrong at a glance: the border says whether argmax hit the target.
            ok = attrs.get("predicted") == attrs["target"]
            return (("#dcfce7", "#15803d") if ok else ("#fee2e2", "#dc2626")), attrs["label"]
        return NODE_COLOURS[kind], attrs["label"]

    def _place_nodes(self) -> None:
        for node, attrs in self.graph.nodes(data=True):
            pos = self.point(attrs)
            self.positions[node] = pos
            kind = attrs["kind"]
            colours, full = self._look(attrs)
            w, h, text = self._fit(attrs, full)
            self._sizes[node] = (w, h)
            if kind == "cell":
                self.column_of[int(attrs["t"])] = float(attrs["x"])
            elif kind == "fold":
                self._fold_col = float(attrs["x"])
                self.fold_cols.append(float(attrs["x"]))
            path = QPainterPath()
            radius = h / 2 if kind in ("input", "output") else 7.0
            path.addRoundedRect(QRectF(-w / 2, -h / 2, w, h), radius, radius)
            box = QGraphicsPathItem(path)
            box.setPos(pos)
            box.setBrush(brush(colours[0]))
            box.setPen(pen(colours[1], 1.4, dash=kind == "fold"))
            box.setZValue(2)
            box.setData(0, node)
            tip = node_tooltip(self.graph, self.spec, node, attrs)
            box.setToolTip(tip if text == full else f"{full}\n\n{tip}")
            if kind in ("cell", "input", "output"):
                box.setCursor(Qt.CursorShape.PointingHandCursor)
            self.addItem(box)
            label = QGraphicsSimpleTextItem(text, box)
            label.setFont(font(NODE_PT, bold=kind == "cell", italic=kind == "fold"))
            label.setBrush(brush("#0f172a"))
            r = label.boundingRect()
            label.setPos(-r.width() / 2, -r.height() / 2)
            self.node_items[node] = box
            self._labels[node] = label

    # ---- relabel in place --------------------------------------------------------------------
    def relabel(self, graph: nx.DiGraph, spec: Spec | None = None) -> bool:
        """Show `graph` (drawn for `spec`, default this scene's) by renaming this scene's
        items when it has the same layout (the same node kinds at the same places, the same
        edges, and for this scene's spec the same shapes), e.g. the same folded graph
        focused on another step, or the same graph for another hidden_size; returns False,
        changing nothing, when it has not.

        Only texts, tooltips and ids change (and where a changed label hangs), so a step
        through a long folded sequence, or a size edit, costs label updates instead of a
        new scene; what is drawn is exactly what a new GraphScene(graph, spec) would draw."""
        if self.graph.graph.get("text") or graph.graph.get("text"):
            return False  # a text model's predictions colour their boxes: rebuild
        spec = self.spec if spec is None else spec
        respec = spec != self.spec
        if respec:
            # Sizes change the shape labels only; a title or legend names the spec itself.
            if self._decorated or _layout(graph, shapes=False) != _layout(self.graph, shapes=False):
                return False
        elif not self._same_layout(graph):
            return False
        old_at = {_place(a): n for n, a in self.graph.nodes(data=True)}
        old_spec, self.spec = self.spec, spec  # what `_fit` and `_look` read
        # Texts first, before anything changes: "x1000" needs a wider box than "x9" had, and
        # then only a new scene draws what a new scene would.
        texts: dict[str, tuple[str, str]] = {}
        for node, attrs in graph.nodes(data=True):
            full = self._look(attrs)[1]
            w, h, text = self._fit(attrs, full)
            if (w, h) != self._sizes[old_at[_place(attrs)]]:
                self.spec = old_spec
                return False
            texts[node] = (full, text)
        renamed: dict[str, str] = {}
        items: dict[str, QGraphicsPathItem] = {}
        labels: dict[str, QGraphicsSimpleTextItem] = {}
        positions: dict[str, QPointF] = {}
        sizes: dict[str, tuple[float, float]] = {}
        self.graph = graph
        self.column_of = {}
        for node, attrs in graph.nodes(data=True):
            old = old_at[_place(attrs)]
            renamed[old] = node
            box, label = self.node_items[old], self._labels[old]
            full, text = texts[node]
            if label.text() != text:
                label.setText(text)
                r = label.boundingRect()
                label.setPos(-r.width() / 2, -r.height() / 2)
            if respec or old != node or attrs["kind"] == "fold" or text != full:
                box.setData(0, node)  # a fold's count is in its tooltip; a cut text too
                tip = node_tooltip(graph, self.spec, node, attrs)
                box.setToolTip(tip if text == full else f"{full}\n\n{tip}")
            items[node], labels[node], positions[node] = box, label, self.positions[old]
            sizes[node] = self._sizes[old]
            if attrs["kind"] == "cell":
                self.column_of[int(attrs["t"])] = float(attrs["x"])
        self.node_items, self._labels, self.positions = items, labels, positions
        self._sizes = sizes
        self._edge_items = {(renamed[u], renamed[v]): e for (u, v), e in self._edge_items.items()}
        self._edge_boxes = [
            ((renamed[u], renamed[v]), i, box, hang) for (u, v), i, box, hang in self._edge_boxes
        ]
        if respec:
            self._reshape()
        self.edge_labels = [(edge, box_text(box)) for edge, _, box, _ in self._edge_boxes]
        self.set_current(self.current_t, self.current_cell)
        return True

    def _reshape(self) -> None:
        """After a relabel for another spec of the same structure: the shapes on the edges
        (labels and tooltips) and the row labels read the new spec's sizes."""
        edges = self.graph.edges
        for (u, v), item in self._edge_items.items():
            e = edges[u, v]
            item.setToolTip(f"{e.get('flow', '')}: {e.get('shape', '')}")
        for (u, v), i, box, hang in self._edge_boxes:
            # The same flows give the same number of lines (only "h + c" splits).
            set_boxed_text(box, shape_lines(edges[u, v].get("shape", ""), hang[3])[i])
            hang_label(box, i, hang)
        self._place_row_labels(self._row_texts())
        self._layout = None  # its shapes changed: made again when next asked

    def _same_layout(self, graph: nx.DiGraph) -> bool:
        """Whether `graph` draws with this scene's layout: by the builder's key when both
        graphs have one (`layout_key`), else place by place (`_layout`)."""
        key = layout_key(graph)
        if key is not None and key == layout_key(self.graph):
            return True
        if self._layout is None:  # made when first needed: a relabel keeps the layout
            self._layout = _layout(self.graph)
        return _layout(graph) == self._layout

    # ---- edges -------------------------------------------------------------------------------
    def _edge_colour(self, u: str, v: str, flow: str) -> str:
        if flow in ("h", "h+c"):
            src, dst = self.graph.nodes[u], self.graph.nodes[v]
            same_row = src.get("y") == dst.get("y")
            if same_row:
                return NODE_COLOURS[dst.get("direction", src.get("direction", "fwd"))][1]
            return FLOW_COLOURS["h"]
        return FLOW_COLOURS.get(flow, "#334155")

    def _draw_edges(self) -> None:
        for u, v, attrs in self.graph.edges(data=True):
            a_attrs, b_attrs = self.graph.nodes[u], self.graph.nodes[v]
            pa, pb = self.positions[u], self.positions[v]
            a = boundary(pa, self._size(u), pb)
            b = boundary(pb, self._size(v), pa)
            flow = attrs.get("flow", "")
            folded = "fold" in (a_attrs["kind"], b_attrs["kind"])
            item = QGraphicsPathItem(arrow_path(a, b))
            colour = self._edge_colour(u, v, flow)
            item.setPen(pen(colour, 1.3, dash=folded))
            item.setBrush(brush(colour))
            item.setZValue(1)
            shape = attrs.get("shape", "")
            item.setToolTip(f"{flow}: {shape}")
            self.addItem(item)
            self._edge_items[(u, v)] = item
            if self._labelled(a_attrs, b_attrs):
                self._label_edge((u, v), a, b, shape)

    def _labelled(self, a: dict[str, Any], b: dict[str, Any]) -> bool:
        """Which edges carry a shape label: all but the cross-direction inputs of the layer
        above (their shape equals the labelled same-direction edge beside them)."""
        if a["kind"] == "cell" and b["kind"] == "cell" and a["y"] != b["y"]:
            return a["direction"] == b["direction"]
        if a["kind"] == "concat" and b["kind"] == "cell":  # both read the same (b, 2H)
            return b["direction"] == "fwd"
        return True

    def _label_edge(self, edge: tuple[str, str], a: QPointF, b: QPointF, shape: str) -> None:
        horizontal = abs(b.y() - a.y()) < 1e-6
        lines = shape_lines(shape, horizontal)
        if horizontal or abs(b.y() - a.y()) <= ROW:
            at = QPointF((a.x() + b.x()) / 2, (a.y() + b.y()) / 2)
        else:  # an edge spanning rows: label it in the gap just below its target, clear of
            # the cells it passes
            y = b.y() + (ROW - SIZES["cell"][1]) / 2 * (1 if a.y() > b.y() else -1)
            f = (y - a.y()) / (b.y() - a.y())
            at = QPointF(a.x() + f * (b.x() - a.x()), y)
        # Away from the column's centre line: backward edges to the right, the rest left.
        side = 1 if "bwd" in edge[0] + edge[1] else -1
        hang = (a, b, at, horizontal, side)
        for i, text in enumerate(lines):
            label = boxed_text(text, EDGE_PT)
            label.setZValue(3)
            hang_label(label, i, hang)
            self.addItem(label)
            self.edge_labels.append((edge, text))
            self._edge_boxes.append((edge, i, label, hang))

    # ---- row labels, cursor, title, legend ---------------------------------------------------
    def _draw_row_labels(self) -> None:
        rows = self._row_texts()
        for _, text in rows:
            item = QGraphicsSimpleTextItem(text)
            item.setFont(font(NODE_PT, bold=True))
            item.setBrush(brush("#334155"))
            self.addItem(item)
            self._row_items.append(item)
        self._place_row_labels(rows)

    def _place_row_labels(self, rows: list[tuple[float, str]]) -> None:
        """Put `rows` ((grid y, text), as `_row_texts`) in the row label items, right-aligned
        left of the grid; `row_labels` then says what they read, and where."""
        left = min(p.x() for p in self.positions.values()) - SIZES["h0"][0] / 2 - 12
        self.row_labels = []
        for (y, text), item in zip(rows, self._row_items):
            if item.text() != text:
                item.setText(text)
            r = item.boundingRect()
            item.setPos(left - r.width(), (self._top - y) * ROW - r.height() / 2)
            self.row_labels.append(((self._top - y) * ROW, item.text()))

    def _row_texts(self) -> list[tuple[float, str]]:
        """(grid y, text) of every row label, bottom row first."""
        cell_api = self.graph.graph.get("api") == "cell"
        y_out = max(
            (a["y"] for _, a in self.graph.nodes(data=True) if a["kind"] == "output"),
            default=self._top,
        )
        rows: dict[float, str] = {
            0.0: "x_t" if cell_api else "input",
            y_out: "h_t" if cell_api else "output",
        }
        for _, attrs in self.graph.nodes(data=True):
            if attrs["kind"] in TEXT_ROWS:
                rows[attrs["y"]] = TEXT_ROWS[attrs["kind"]]
            elif attrs["kind"] == "h0" and cell_api:
                rows[attrs["y"]] = f"{self.graph.graph['cell_name']} →"
            elif attrs["kind"] == "h0":
                arrow = "→" if attrs["direction"] == "fwd" else "←"
                rows[attrs["y"]] = f"layer {attrs['layer']} {attrs['direction']} {arrow}"
            elif attrs["kind"] == "concat":
                rows[attrs["y"]] = f"concat → {2 * self.spec.out_hidden}"
        return sorted(rows.items())

    def _make_cursor(self) -> tuple[QGraphicsRectItem, QGraphicsSimpleTextItem, QGraphicsPathItem]:
        height = (self._top - self._bottom + 1) * ROW
        # Every cell box has one size (`_fit` sizes them for the widest label).
        cells = [self._sizes[n] for n, a in self.graph.nodes(data=True) if a["kind"] == "cell"]
        cell_w, cell_h = cells[0] if cells else SIZES["cell"]
        # Wide enough for both directions' cells, staggered apart: the band cut through them.
        width = max(COL - 8, cell_w + 2 * self._stagger + 12)
        band = QGraphicsRectItem(QRectF(-width / 2, -ROW / 2, width, height))
        band.setBrush(QColor(HIGHLIGHT))
        band.setPen(Qt.PenStyle.NoPen)
        band.setZValue(-5)
        band.setVisible(False)
        self.addItem(band)
        text = QGraphicsSimpleTextItem("")
        text.setFont(font(NODE_PT, bold=True))
        text.setBrush(QColor("#92400e"))
        text.setZValue(4)
        text.setVisible(False)
        self.addItem(text)
        path = QPainterPath()
        path.addRoundedRect(QRectF(-cell_w / 2 - 4, -cell_h / 2 - 4, cell_w + 8, cell_h + 8), 9, 9)
        outline = QGraphicsPathItem(path)
        outline.setPen(pen(SELECTED, 2.6))
        outline.setZValue(5)
        outline.setVisible(False)
        self.addItem(outline)
        return band, text, outline

    def set_current(self, t: int | None, cell: tuple[int, str] | None) -> None:
        """Highlight timestep `t` (None hides it) and outline cell (layer, direction) at t.

        A folded t highlights the fold marker's column and says which step it stands for."""
        self.current_t, self.current_cell = t, cell
        col = None if t is None else self.column_of.get(t, self._fold_col)
        self._band.setVisible(col is not None)
        self._band_text.setVisible(col is not None)
        if col is None or t is None:
            self._outline.setVisible(False)
            return
        self._band.setPos(col * COL, 0)
        folded = t not in self.column_of
        if folded and self.fold_cols:  # the marker of the gap t falls in
            col = min(self.fold_cols, key=lambda c: abs(c - self._nearest_col(t)))
            self._band.setPos(col * COL, 0)
        self._band_text.setText(f"t = {t}" + (" (folded)" if folded else ""))
        r = self._band_text.boundingRect()
        self._band_text.setPos(col * COL - r.width() / 2, -ROW / 2 + 1)
        node = None
        if cell is not None and not folded:
            from rnnviz.analysis.graph import cell_id

            node = self.node_items.get(cell_id(cell[0], cell[1], t))
        self._outline.setVisible(node is not None)
        if node is not None:
            self._outline.setPos(node.pos())

    def _nearest_col(self, t: int) -> float:
        """The column a folded t would sit near: between the drawn steps around it."""
        before = [c for s, c in self.column_of.items() if s < t]
        return (max(before) if before else -1.0) + 0.5

    def cursor_rect(self) -> QRectF:
        """Scene rectangle of the highlighted column (empty when nothing is highlighted)."""
        if not self._band.isVisible():
            return QRectF()
        return self._band.sceneBoundingRect()

    # ---- hit test ------------------------------------------------------------------------------
    def node_at(self, item: QGraphicsItem | None) -> dict[str, Any] | None:
        """The graph attributes of the node `item` (or its label) belongs to, or None."""
        while item is not None:
            node = item.data(0)
            if node is not None and node in self.graph:
                return dict(self.graph.nodes[node])
            item = item.parentItem()
        return None
