"""Gradient plots as files: PNG/SVG drawn by the window's own plot widgets, or CSV data.

`save_plot` is the Gradients view's Export… button; `render_plot` paints any plot widget.
The CLI's figures (`rnnviz grad --plot`) are built from the view itself in
`rnnviz.app.drawing.grad_figures`, which is kept apart so the view can import this module.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QCoreApplication, QPoint, QRectF, QSize, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QWidget

from rnnviz.app.drawing.render import paint_to_bytes
from rnnviz.document.document import GRAD
from rnnviz.io.export import ExportError, write_export

#: Size of a plot drawn for a file, in pixels at scale 1.
PLOT_SIZE = (900, 520)


def plot_format(path: str | os.PathLike[str]) -> str:
    """'png', 'svg' or 'csv' from the file name; ExportError for anything else."""
    ext = Path(path).suffix.lower().lstrip(".")
    if ext not in ("png", "svg", "csv"):
        raise ExportError(f"{path}: plots are saved as .png, .svg or .csv, not {ext or '(none)'}")
    return ext


def render_plot(widget: QWidget, fmt: str, scale: float = 1.0, title: str = "") -> bytes:
    """A plot widget as PNG/SVG bytes, as on screen (`render_widget`'s painting, through
    QWidget.render: pyqtgraph's views shadow `render` with QGraphicsView's scene render)."""
    source = QRectF(0, 0, widget.width(), widget.height())

    def draw(painter: QPainter, target: QRectF, src: QRectF) -> None:
        painter.save()
        painter.scale(target.width() / src.width(), target.height() / src.height())
        QWidget.render(widget, painter, QPoint(0, 0))
        painter.restore()

    data = paint_to_bytes(draw, source, fmt, scale, title)
    if fmt == "svg":
        data = _flatten_strokes(data.decode("utf-8")).encode("utf-8")
    return data


_GROUP = re.compile(r'(<g [^>]*?transform="matrix\(([^)]*)\)")([^>]*>)(.*?)(</g>)', re.S)
_PAIR = re.compile(r"(-?[\d.]+(?:e[-+]?\d+)?),(-?[\d.]+(?:e[-+]?\d+)?)")


def _flatten_strokes(svg: str) -> str:
    """Move the data transform of groups drawn with cosmetic pens into their coordinates.

    Qt writes a curve as points in data units inside `<g transform="matrix(…)">` with
    `vector-effect="non-scaling-stroke"`; renderers without that SVG 2 feature (librsvg,
    older editors) scale the stroke by the data transform, drawing 1-px curves hundreds of
    points wide. Mapping the points through the matrix and dropping it draws the same
    picture everywhere."""

    def fix(m: re.Match[str]) -> str:
        head, matrix, rest, body, tail = m.group(1), m.group(2), m.group(3), m.group(4), m.group(5)
        if "non-scaling-stroke" not in body:
            return m.group(0)
        a, b, c, d, e, f = (float(v) for v in matrix.split(","))

        def pair(p: re.Match[str]) -> str:
            x, y = float(p.group(1)), float(p.group(2))
            return f"{a * x + c * y + e:.6g},{b * x + d * y + f:.6g}"

        def coords(attr: re.Match[str]) -> str:
            return f'{attr.group(1)}="{_PAIR.sub(pair, attr.group(2))}"'

        if "<rect" in body or "<ellipse" in body or "<circle" in body or "<text" in body:
            return m.group(0)  # only lines and paths are mapped
        body = re.sub(r'\b(points|d)="([^"]*)"', coords, body)
        head = head.replace(f"matrix({matrix})", "matrix(1,0,0,1,0,0)")
        return head + rest + body + tail

    return _GROUP.sub(fix, svg)


def _paint(widget: QWidget, fmt: str, scale: float, title: str) -> bytes:
    widget.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
    widget.resize(QSize(*PLOT_SIZE))
    widget.show()
    QCoreApplication.processEvents()
    try:
        return render_plot(widget, fmt, scale, title=title)
    finally:
        widget.close()
        widget.deleteLater()


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
        # Every row is the chain back from one t (the selected step, steps[0]) to input
        # position s: the row number is not a t, so the rows carry t and s themselves.
        cols = [(name.split(" (")[0], y) for name, (_x, y) in plot.data.items()]
        xs = (next(iter(plot.data.values()))[0] if plot.data else np.zeros(0)).astype(np.int64)
        start = np.full(len(xs), xs[0] if len(xs) else 0, dtype=np.int64)
        return table_csv([("t", start), ("s", xs), *cols], index=None)
    cols = []
    for gate, (left, right) in plot.points.items():
        cols += [(f"{gate}_left", left), (f"{gate}_right", right)]
    return table_csv(cols, index="unit")


def save_plot(view: Any, path: str | os.PathLike[str]) -> None:
    """Write the view's current plot to `path` (.png/.svg drawn by Qt, .csv its data)."""
    fmt = plot_format(path)
    if view.result is None and view.current_plot() is not view.compare.plot:
        raise ExportError("no gradients yet")
    if view.current_plot() is not view.compare.plot and view.result is not view.state.result(GRAD):
        # The page still shows the last finished gradients (another spec, loss or epoch):
        # a file of them would carry nothing saying so.
        raise ExportError(
            "the gradients on screen are the last finished ones, not the current "
            "configuration's; export once the new ones are in"
        )
    data = plot_csv(view) if fmt == "csv" else render_plot(view.current_plot(), fmt)
    write_export(path, data)
