"""The unrolled graph view: the GraphScene in a zoomable, pannable view, linked to the state.

A new snapshot redraws the scene only when its graph changed (a new seed or input draws the
same graph); a selection change moves the timestep band and the cell outline, nothing else.
Clicking a cell selects (layer, direction, t) everywhere; clicking x_t or y_t selects t.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QMouseEvent, QPainter, QWheelEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from rnnviz.app.drawing.scene import GraphScene
from rnnviz.document.document import Document
from rnnviz.document.selection import Selection
from rnnviz.document.snapshot import Snapshot

#: Zoom limits (view scale) and the factor of one wheel notch or button press.
MIN_ZOOM, MAX_ZOOM, ZOOM_STEP = 0.05, 4.0, 1.2
#: The smallest zoom a new diagram opens at: 9 pt labels stay legible on screen.
READABLE_ZOOM = 0.6


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

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 - Qt API
        steps = event.angleDelta().y() / 120
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
        self._press = None
        super().mouseReleaseEvent(event)


class GraphView(QWidget):
    """The unrolled graph of the current snapshot, with zoom/fit controls and follow-time."""

    def __init__(self, state: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.scene: GraphScene | None = None
        self._drawn_graph: Any = None
        self.canvas = _Canvas(self)
        self.placeholder = QLabel("computing the first trace…", self)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)

        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 0)
        self.caption = QLabel("", self)
        self.caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # A long caption must not set the window's minimum width; it is clipped instead.
        self.caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
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
            button.clicked.connect(slot)
            bar.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(bar)
        layout.addWidget(self.placeholder, 1)
        layout.addWidget(self.canvas, 1)
        self.canvas.hide()
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
        folded = snap.graph.graph.get("folded", 0)
        unrolled = "called once per step," if snap.trace.api == "cell" else "unrolled"
        self.caption.setText(
            f"<b>{snap.trace.title}</b> {unrolled} over {spec.seq_len} steps"
            + (f" (drawn folded: {folded} middle steps hidden)" if folded else "")
            + " — click a cell to select it, drag to pan, wheel to zoom"
        )
        same = (
            self.scene is not None
            and self.scene.spec == spec
            and self.scene.graph.graph.get("api") == snap.graph.graph.get("api")
        )
        if same:
            return
        old = self.scene
        self.scene = GraphScene(snap.graph, spec, parent=self)
        self.canvas.setScene(self.scene)
        if old is not None:
            old.deleteLater()
        self.placeholder.hide()
        self.canvas.show()
        self.fit(readable=True)
        sel = self.state.selection
        self.scene.set_current(sel.t, (sel.layer, sel.direction))

    def on_selection(self, sel: Selection) -> None:
        """Move the timestep band and the cell outline; scroll to them if following."""
        if self.scene is None:
            return
        self.scene.set_current(sel.t, (sel.layer, sel.direction))
        if self.follow.isChecked():
            rect = self.scene.cursor_rect()
            if not rect.isEmpty():
                self.canvas.ensureVisible(rect.adjusted(0, 0, 0, -rect.height() + 40), 40, 0)

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
    def zoom(self) -> float:
        """The current view scale (1 = one scene unit per pixel)."""
        return float(self.canvas.transform().m11())

    def zoom_by(self, factor: float) -> None:
        """Multiply the zoom by `factor`, within [MIN_ZOOM, MAX_ZOOM]."""
        target = min(MAX_ZOOM, max(MIN_ZOOM, self.zoom() * factor))
        f = target / self.zoom()
        self.canvas.scale(f, f)

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
                self.canvas.ensureVisible(rect, 40, 0)

    def actual_size(self) -> None:
        """One scene unit per pixel."""
        self.canvas.resetTransform()
