"""The export formats the app draws, registered with the core's export module.

The core (`rnnviz.io.export`) knows data formats only; importing this module registers the
drawn diagram (SVG/PNG/PDF of the unrolled graph, `render.render_graph`) and the gate
heatmaps (PNG/SVG of the window's own GateView in figure mode). The CLI and the export
dialog import it when a drawn format is asked for. It lives apart from `render` so that a
view may use the generic painting code without importing another view.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QSize, Qt

from rnnviz.analysis.scales import DEFAULT_SCALE_MODE
from rnnviz.app.drawing.render import ensure_qt_app, render_graph, render_widget
from rnnviz.app.views.gate_view import GateView
from rnnviz.document.document import Document
from rnnviz.document.selection import Selection
from rnnviz.document.snapshot import Snapshot
from rnnviz.io.export import DrawRequest, ExportError, register_drawer, text_frame_of
from rnnviz.text.notes import with_note


def render_gates(
    snapshot: Snapshot,
    fmt: str,
    *,
    timestep: int | None = None,
    scale: float = 1.0,
    scale_mode: str = DEFAULT_SCALE_MODE,
    selection: Selection | None = None,
) -> bytes:
    """The gate heatmaps of `snapshot` as PNG or SVG bytes, drawn by the window's GateView.

    `timestep` is selected (the view marks it) when given; `selection` gives the lane, unit
    and batch row (the window's own; None: layer 0 forward, unit 0, batch 0); `scale_mode` is
    the view's colour scale ("fixed", "stretched" or "signed-log"), named in the caption.
    The caption and the file's title name the snapshot's `source_note` (a text model's
    epoch) when it has one.
    """
    if fmt not in ("png", "svg"):
        raise ExportError(f"gate heatmaps export as png or svg, not {fmt!r}")
    ensure_qt_app()
    state = Document(snapshot.spec, snapshot.options)
    state.set_snapshot(snapshot)
    if selection is not None:
        state.select(
            layer=selection.layer,
            direction=selection.direction,
            unit=selection.unit,
            batch=selection.batch,
        )
    if timestep is not None:
        state.select(t=timestep)
    view = GateView(state)
    view.set_scale_mode(scale_mode)
    view.set_figure_mode(True)
    view.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
    # Wide enough for the whole caption: a figure has no tooltip to hold a cut one.
    wide = QSize(max(900, view.caption.sizeHint().width() + 16), 600)
    view.resize(view.sizeHint().expandedTo(wide))
    view.show()
    QCoreApplication.processEvents()
    try:
        title = with_note(f"{snapshot.trace.title} gates", snapshot.source_note)
        return render_widget(view, fmt, scale, title=title)
    finally:
        view.close()
        view.deleteLater()


def _draw_export(req: DrawRequest) -> bytes:
    # The diagram has no colour scale; export_bytes refuses a scale_mode for it.
    return render_graph(
        req.spec,
        req.fmt,
        timestep=req.timestep,
        scale=req.scale,
        fold=req.fold,
        text=text_frame_of(req.snapshot, req.spec),
        api=req.api,
        note=req.note,
    )


def _gates_export(req: DrawRequest) -> bytes:
    assert req.snapshot is not None  # export_bytes traces the spec first
    return render_gates(
        req.snapshot,
        req.fmt.removeprefix("gates-"),
        timestep=req.timestep,
        scale=req.scale,
        scale_mode=req.scale_mode or DEFAULT_SCALE_MODE,
        selection=req.selection,
    )


# The core's export module knows data formats only; the formats drawn by Qt are ours.
register_drawer("drawn", _draw_export)
register_drawer("gates", _gates_export)
