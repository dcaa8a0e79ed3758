"""The unrolled graph view: the GraphScene in a zoomable, pannable view, linked to the state.

A new snapshot redraws the scene only when its graph changed (a new seed or input draws the
same graph); a selection change moves the timestep band and the cell outline, nothing else.
Clicking a cell selects (layer, direction, t) everywhere; clicking x_t or y_t selects t.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QWheelEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from rnnviz.analysis.graph import build_graph
from rnnviz.app.drawing.scene import GraphScene
from rnnviz.app.widgets import ElidedLabel
from rnnviz.document.document import Document
from rnnviz.document.selection import Selection
from rnnviz.document.snapshot import Snapshot, draw_fold

#: Zoom limits (view scale) and the factor of one wheel notch or button press.
MIN_ZOOM, MAX_ZOOM, ZOOM_STEP = 0.05, 4.0, 1.2
#: The smallest zoom a new diagram opens at: 9 pt labels stay legible on screen.
READABLE_ZOOM = 0.6


class _Ruler(QWidget):
    """The row labels ("layer 1 bwd ←", "concat → 12" …) pinned to the left edge of the
    diagram while it is panned right, so a deep bidirectional graph never becomes an
    unlabelled lattice. Drawn over the view, transparent to the mouse; hidden while the
    scene's own labels are in view."""

    def __init__(self, canvas: QGraphicsView) -> None:
        super().__init__(canvas)
        self.canvas = canvas
        self.rows: list[tuple[float, str]] = []
        #: (scene, left edge of its items): itemsBoundingRect walks every item, and the
        #: ruler asks on every scroll; a scene's extent never changes once built.
        self._left: tuple[Any, float] | None = None
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        font = self.font()
        font.setBold(True)
        self.setFont(font)

    def set_rows(self, rows: list[tuple[float, str]]) -> None:
        """(scene y, text) of each row label."""
        self.rows = list(rows)
        self._left = None  # new rows: their widths, and so the items' extent, may differ
        self.refresh()

    def active(self) -> bool:
        """True when the scene's own row labels are scrolled out of view (left)."""
        scene = self.canvas.scene()
        if scene is None or not self.rows:
            return False
        if self._left is None or self._left[0] is not scene:
            self._left = (scene, scene.itemsBoundingRect().left())
        left = self.canvas.mapToScene(QPoint(0, 0)).x()
        return left > self._left[1] + 4

    def visible_labels(self) -> list[tuple[str, int]]:
        """(text, viewport y) of the labels drawn now (empty while inactive)."""
        if not self.active():
            return []
        out = []
        height = self.canvas.viewport().height()
        for y, text in self.rows:
            vy = self.canvas.mapFromScene(QPointF(0, y)).y()
            if 0 <= vy <= height:
                out.append((text, vy))
        return out

    def column_width(self) -> int:
        """The width the pinned labels take at the viewport's left edge, in pixels."""
        fm = self.fontMetrics()
        width = max((fm.horizontalAdvance(t) for _, t in self.rows), default=0) + 12
        return min(width, self.canvas.viewport().width() // 3)

    def refresh(self) -> None:
        """Follow the viewport's geometry and redraw."""
        vp = self.canvas.viewport().geometry()
        self.setGeometry(vp.left(), vp.top(), self.column_width(), vp.height())
        self.setVisible(bool(self.visible_labels()))
        self.update()

    def paintEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        painter = QPainter(self)
        fm = self.fontMetrics()
        painter.fillRect(self.rect(), QColor(255, 255, 255, 200))
        painter.setPen(QColor("#334155"))
        for text, vy in self.visible_labels():
            shown = fm.elidedText(text, Qt.TextElideMode.ElideRight, self.width() - 8)
            painter.drawText(4, vy + fm.ascent() // 2 - 1, shown)
        painter.end()


class _Canvas(QGraphicsView):
    """QGraphicsView with wheel zoom under the mouse, drag to pan, and click-to-select."""

    def __init__(self, owner: GraphView) -> None:
        super().__init__(owner)
        self._owner = owner
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        # Only the band and outline move on a step; repainting just what changed keeps
        # stepping inside a frame on large diagrams.
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontAdjustForAntialiasing)
        self._press: QPoint | None = None

    def resizeEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self._owner.canvas_resized()

    def scrollContentsBy(self, dx: int, dy: int) -> None:  # noqa: N802 - Qt API
        super().scrollContentsBy(dx, dy)
        self._owner.ruler.refresh()

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 - Qt API
        steps = event.angleDelta().y() / 120
        self._owner.touched()
        if steps:
            self._owner.zoom_by(ZOOM_STEP**steps)
        event.accept()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        self._press = event.position().toPoint()
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        pos = event.position().toPoint()
        # A click, not the end of a pan drag.
        if (
            self._press is not None
            and (pos - self._press).manhattanLength() < 5
            and event.button() == Qt.MouseButton.LeftButton
        ):
            self._owner.clicked_at(pos)
        elif self._press is not None:
            self._owner.touched()  # a pan: keep the user's view on resize
        self._press = None
        super().mouseReleaseEvent(event)


class GraphView(QWidget):
    """The unrolled graph of the current snapshot, with zoom/fit controls and follow-time."""

    def __init__(self, state: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.scene: GraphScene | None = None
        self._frame_sig: Any = None  # the text frame drawn (None: random inputs)
        self.canvas = _Canvas(self)
        self.placeholder = QLabel("computing the first trace…", self)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)

        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 0)
        # A long caption must not set the window's minimum width: it is elided, and the
        # whole text is its tooltip.
        self.caption = ElidedLabel("", self)
        self.caption.set_tip("Click a cell to select it, drag to pan, wheel to zoom")
        bar.addWidget(self.caption, 1)
        self.follow = QCheckBox("follow t", self)
        self.follow.setToolTip("Scroll the diagram so the current timestep stays in view")
        self.follow.setChecked(True)
        bar.addWidget(self.follow)
        for text, tip, slot in (
            ("−", "Zoom out", lambda: self.zoom_by(1 / ZOOM_STEP)),
            ("+", "Zoom in", lambda: self.zoom_by(ZOOM_STEP)),
            ("Fit", "Fit the whole diagram", self.fit),
            ("1:1", "Actual size", self.actual_size),
        ):
            button = QToolButton(self)
            button.setText(text)
            button.setToolTip(tip)
            if text != "Fit":
                button.clicked.connect(self.touched)
            button.clicked.connect(slot)
            bar.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(bar)
        layout.addWidget(self.placeholder, 1)
        layout.addWidget(self.canvas, 1)
        self.canvas.hide()
        self.ruler = _Ruler(self.canvas)
        #: True until the user zooms or pans: the diagram is refitted when the view resizes
        #: (it opens before the window has its final size).
        self._pristine = True
        # The tool row may be clipped on a narrow window; the window's minimum width is the
        # docks' business, not this row's.
        self.setMinimumWidth(160)

        state.sigSnapshotChanged.connect(self.on_snapshot)
        state.sigSelectionChanged.connect(self.on_selection)
        if state.snapshot is not None:
            self.on_snapshot(state.snapshot)
            self.on_selection(state.selection)

    # ---- state → view ------------------------------------------------------------------------
    def on_snapshot(self, snap: Snapshot) -> None:
        """Redraw when the drawn graph changed (new spec); keep zoom and scroll otherwise."""
        spec = snap.spec
        # A text model's epochs share a spec but not their tokens' predictions: redraw then.
        frame = getattr(snap, "frame", None)
        sig = frame.signature() if frame is not None else None
        same = (
            self.scene is not None
            and self.scene.spec == spec
            and self.scene.graph.graph.get("api") == snap.graph.graph.get("api")
        )
        if same and sig != self._frame_sig and self.scene is not None:
            # Another epoch of the same model: new labels, same layout; keep zoom and scroll.
            self._frame_sig = sig
            zoom, centre = (
                self.zoom(),
                self.canvas.mapToScene(self.canvas.viewport().rect().center()),
            )
            self._set_graph(self._graph_for(snap, self.state.selection.t), spec)
            self.canvas.resetTransform()
            self.canvas.scale(zoom, zoom)
            self.canvas.centerOn(centre)
            self.on_selection(self.state.selection)
            return
        self._frame_sig = sig
        if same:
            return
        # Drawn around the selected step at once: drawing the snapshot's graph and then
        # refolding it around t would build the scene twice.
        graph = self._graph_for(snap, self.state.selection.t)
        if self.scene is not None and self.scene.relabel(graph, spec):
            # Another size of the same structure (a hidden_size edit): the labels change in
            # place, 16 of the default config's 18 ms landing saved; fitted as a new scene is.
            self.ruler.set_rows(self.scene.row_labels)
            self._caption(graph, snap)
        else:
            self._set_graph(graph, spec)
        self._pristine = True
        self.fit(readable=True)
        sel = self.state.selection
        self.on_selection(sel)

    @staticmethod
    def _graph_for(snap: Snapshot, t: int | None) -> Any:
        """The snapshot's drawn graph, or, when it folds step `t` away, the same graph
        folded around t (the selected step is always drawn)."""
        if t is None or snap.graph.graph.get("folded", 0) == 0 or f"x{t}" in snap.graph:
            return snap.graph
        return build_graph(
            snap.spec,
            fold=draw_fold(snap.spec),
            focus=t,
            text=getattr(snap, "frame", None),
            api=snap.graph.graph.get("api", "module"),
        )

    def _caption(self, graph: Any, snap: Snapshot) -> None:
        folded = graph.graph.get("folded", 0)
        unrolled = "called once per step," if snap.trace.api == "cell" else "unrolled"
        self.caption.setText(
            f"{snap.trace.title} {unrolled} over {snap.spec.seq_len} steps"
            + (f" (drawn folded: {folded} steps hidden)" if folded else "")
        )

    def _set_graph(self, graph: Any, spec: Any) -> None:
        old = self.scene
        self.scene = GraphScene(graph, spec, parent=self)
        self.canvas.setScene(self.scene)
        if old is not None:
            old.deleteLater()
        self.placeholder.hide()
        self.canvas.show()
        self.ruler.set_rows(self.scene.row_labels)
        if self.state.snapshot is not None:
            self._caption(graph, self.state.snapshot)

    def _refold(self, t: int) -> None:
        """Redraw the folded graph around step `t`, which the current drawing hides: the
        selected step is always drawn (an explosion at t = 60 must not sit in a fold).

        Away from the ends every such graph has the same layout, so the scene is kept and
        only its labels change (GraphScene.relabel); zoom and scroll stay."""
        snap = self.state.snapshot
        if snap is None or self.scene is None:
            return
        graph = self._graph_for(snap, t)
        if self.scene.relabel(graph):
            self._caption(graph, snap)
            return
        zoom = self.zoom()
        self._set_graph(graph, snap.spec)
        self.canvas.resetTransform()
        self.canvas.scale(zoom, zoom)

    def on_selection(self, sel: Selection) -> None:
        """Move the timestep band and the cell outline; scroll to them if following."""
        if self.scene is None:
            return
        if sel.t not in self.scene.column_of and self.scene.fold_cols:
            self._refold(sel.t)
        self.scene.set_current(sel.t, (sel.layer, sel.direction))
        if self.follow.isChecked():
            rect = self.scene.cursor_rect()
            if not rect.isEmpty():
                self._show_step(rect.adjusted(0, 0, 0, -rect.height() + 40))

    def _show_step(self, rect: QRectF) -> None:
        """Scroll so the scene `rect` (a step's column) is in view, clear of the row labels
        pinned at the left edge (at t = 0 they hid the cell); and if the scene's own left
        edge is then nearly in view too, all the way left, so its own labels show instead
        of half of them under the pinned ones."""
        margin = 40 + self.ruler.column_width()
        self.canvas.ensureVisible(rect, margin, 0)
        bar = self.canvas.horizontalScrollBar()
        if bar.value() - bar.minimum() <= margin:
            right = self.canvas.mapFromScene(rect.topRight()).x() + bar.value() - bar.minimum()
            if right <= self.canvas.viewport().width():
                bar.setValue(bar.minimum())

    # ---- view → state ------------------------------------------------------------------------
    def clicked_at(self, pos: QPoint) -> None:
        """Select the cell (or the timestep of the x_t/y_t node) under viewport point `pos`."""
        if self.scene is None:
            return
        attrs = self.scene.node_at(self.canvas.itemAt(pos))
        if attrs is None:
            return
        if attrs["kind"] == "cell":
            self.state.select(layer=attrs["layer"], direction=attrs["direction"], t=attrs["t"])
        elif attrs["kind"] in ("input", "output"):
            self.state.select(t=attrs["t"])
        elif attrs["kind"] in ("h0", "h_n"):
            self.state.select(layer=attrs["layer"], direction=attrs["direction"])

    # ---- zoom ----------------------------------------------------------------------------------
    def touched(self) -> None:
        """The user zoomed or panned: from now on a resize keeps their view."""
        self._pristine = False

    def canvas_resized(self) -> None:
        """Refit an untouched diagram to the new size; move the pinned row labels."""
        if self._pristine and self.scene is not None:
            self.fit(readable=True)
            sel = self.state.selection
            rect = self.scene.cursor_rect()
            if not rect.isEmpty() and sel.t is not None:
                self._show_step(rect)
        self.ruler.refresh()

    def zoom(self) -> float:
        """The current view scale (1 = one scene unit per pixel)."""
        return float(self.canvas.transform().m11())

    def zoom_by(self, factor: float) -> None:
        """Multiply the zoom by `factor`, within [MIN_ZOOM, MAX_ZOOM]."""
        target = min(MAX_ZOOM, max(MIN_ZOOM, self.zoom() * factor))
        f = target / self.zoom()
        self.canvas.scale(f, f)
        self.ruler.refresh()

    def fit(self, readable: bool = False) -> None:
        """Zoom so the whole diagram fits, never above actual size (text stays crisp).

        With `readable`, never below READABLE_ZOOM either: a big diagram then opens at a
        size where its labels can be read, scrolled to the current timestep."""
        if self.scene is None:
            return
        rect = self.scene.itemsBoundingRect().adjusted(-10, -10, 10, 10)
        self.canvas.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        low = READABLE_ZOOM if readable else MIN_ZOOM
        if self.zoom() > 1.0:
            self.actual_size()
        elif self.zoom() < low:
            self.zoom_by(low / self.zoom())
            rect = self.scene.cursor_rect()
            if not rect.isEmpty():
                self._show_step(rect)

    def actual_size(self) -> None:
        """One scene unit per pixel."""
        self.canvas.resetTransform()
        self.ruler.refresh()
