"""Gradient plots as files: PNG/SVG drawn by the window's own plot widgets, or CSV data.

`render_norms` and `render_compare` build the Gradients view's widgets offscreen over a
result (as `render_gates` does for the gate view) and paint them with `render_widget`, so a
`rnnviz grad --plot` file looks like the window. `save_plot` is the view's Export… button.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QSize, Qt
from PySide6.QtWidgets import QWidget

from rnnviz.app.drawing.render import ensure_qt_app, render_widget
from rnnviz.config.options import RunOptions
from rnnviz.io.export import ExportError, write_export

#: Size of a plot drawn for a file, in pixels at scale 1.
PLOT_SIZE = (900, 520)


def plot_format(path: str | os.PathLike[str]) -> str:
    """'png', 'svg' or 'csv' from the file name; ExportError for anything else."""
    ext = Path(path).suffix.lower().lstrip(".")
    if ext not in ("png", "svg", "csv"):
        raise ExportError(f"{path}: plots are saved as .png, .svg or .csv, not {ext or '(none)'}")
    return ext


def _paint(widget: QWidget, fmt: str, scale: float, title: str) -> bytes:
    widget.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
    widget.resize(QSize(*PLOT_SIZE))
    widget.show()
    QCoreApplication.processEvents()
    try:
        return render_widget(widget, fmt, scale, title=title)
    finally:
        widget.close()
        widget.deleteLater()


def render_norms(
    result: Any, fmt: str, options: RunOptions | None = None, scale: float = 1.0
) -> bytes:
    """The norm plot of a GradResult (‖∂L/∂h_t‖ per lane, ‖∂L/∂c_t‖ dashed) as PNG/SVG bytes."""
    ensure_qt_app()
    from rnnviz.app.views.gradients_view import GradientsView
    from rnnviz.document.document import GRAD, Document

    spec = result.spec
    doc = Document(spec, options or RunOptions())
    doc.set_params(GRAD, loss=result.grads.loss)
    doc.set_result(doc.key(GRAD), result)
    view = GradientsView(doc)
    plot = view.norms
    plot.setParent(None)
    try:
        return _paint(plot, fmt, scale, f"{spec.title()} gradient norms")
    finally:
        view.deleteLater()


def render_compare(comparison: Any, fmt: str, layer: int = 0, direction: str = "fwd") -> bytes:
    """The Compare page's overlaid norm plot of a Comparison as PNG/SVG bytes."""
    ensure_qt_app()
    from rnnviz.app.views.grad_compare import ComparePage
    from rnnviz.document.document import Document
    from rnnviz.document.selection import Selection

    doc = Document(comparison.entries[0].spec)
    page = ComparePage(doc)
    page.result = comparison
    page.set_selection(Selection(layer=layer, direction=direction))
    page._draw()
    plot = page.plot
    plot.setParent(None)
    try:
        return _paint(plot, fmt, 1.0, "gradient norms: RNN tanh, RNN relu, LSTM, GRU")
    finally:
        page.deleteLater()


def plot_csv(view: Any) -> bytes:
    """The data of the plot on the view's current page as CSV."""
    from rnnviz.grad.text import compare_csv, norms_csv, table_csv

    plot = view.current_plot()
    if plot is view.compare.plot:
        if view.compare.result is None:
            raise ExportError("no comparison yet")
        layer, d = view.compare._lane
        return compare_csv(view.compare.result, layer, d)
    if plot is view.norms:
        return norms_csv(view.result.grads)
    if plot is view.chain:
        cols = [(name.split(" (")[0], y) for name, (_x, y) in plot.data.items()]
        xs = next(iter(plot.data.values()))[0] if plot.data else []
        return table_csv([("s", xs), *cols])
    cols = []
    for gate, (left, right) in plot.points.items():
        cols += [(f"{gate}_left", left), (f"{gate}_right", right)]
    return table_csv(cols).replace(b"t,", b"unit,", 1)


def save_plot(view: Any, path: str | os.PathLike[str]) -> None:
    """Write the view's current plot to `path` (.png/.svg drawn by Qt, .csv its data)."""
    fmt = plot_format(path)
    if view.result is None and view.current_plot() is not view.compare.plot:
        raise ExportError("no gradients yet")
    data = plot_csv(view) if fmt == "csv" else render_widget(view.current_plot(), fmt)
    write_export(path, data)
