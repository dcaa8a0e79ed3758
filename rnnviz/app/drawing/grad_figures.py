"""`rnnviz grad --plot` figures: the Gradients view's own widgets, built offscreen over a
result and painted like the window (as `render_gates` does for the gate view), with the
caption the window's Export… writes (`plot_caption`, `compare_caption`)."""

from __future__ import annotations

from typing import Any

from rnnviz.app.drawing.grad_render import _paint, compare_caption, plot_caption
from rnnviz.app.drawing.render import ensure_qt_app
from rnnviz.config.options import RunOptions


def render_norms(
    result: Any,
    fmt: str,
    options: RunOptions | None = None,
    scale: float = 1.0,
    note: str = "",
) -> bytes:
    """The norm plot of a GradResult (‖∂L/∂h_t‖ per lane, ‖∂L/∂c_t‖ dashed) as PNG/SVG bytes,
    captioned with module, lanes and loss, then `note` (what the module is of, e.g. a text
    model's final weights: `rnnviz.text.notes.epoch_note(None)`)."""
    ensure_qt_app()
    from rnnviz.app.views.gradients_view import GradientsView
    from rnnviz.document.document import GRAD, Document

    spec = result.spec
    doc = Document(spec, options or RunOptions())
    doc.set_params(GRAD, loss=result.grads.loss)
    doc.set_result(doc.key(GRAD), result)
    view = GradientsView(doc)
    caption = plot_caption(view, note)  # the Norms page, the view's first
    plot = view.norms
    plot.cursor.setVisible(False)  # a file shows every step, not the window's selection
    plot.setParent(None)
    try:
        return _paint(plot, fmt, scale, caption)
    finally:
        view.deleteLater()


def render_compare(comparison: Any, fmt: str, layer: int = 0, direction: str = "fwd") -> bytes:
    """The Compare page's overlaid norm plot of a Comparison as PNG/SVG bytes, captioned
    with the cells, the lane and the loss."""
    ensure_qt_app()
    from rnnviz.app.views.grad_compare import ComparePage
    from rnnviz.document.document import Document
    from rnnviz.document.selection import Selection

    doc = Document(comparison.entries[0].spec)
    page = ComparePage(doc)
    page.result = comparison
    page.set_selection(Selection(layer=layer, direction=direction))
    page._draw()
    caption = compare_caption(page)
    plot = page.plot
    plot.cursor.setVisible(False)
    plot.setParent(None)
    try:
        return _paint(plot, fmt, 1.0, caption)
    finally:
        page.deleteLater()
