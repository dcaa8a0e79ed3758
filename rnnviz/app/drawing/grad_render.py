"""Gradient plots as files: PNG/SVG drawn by the window's own plot widgets, or CSV data.

`save_plot` is the Gradients view's Export… button; `render_plot` paints any plot widget.
The CLI's figures (`rnnviz grad --plot`) are built from the view itself in
`rnnviz.app.drawing.grad_figures`, which is kept apart so the view can import this module.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QCoreApplication, QPoint, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter
from PySide6.QtWidgets import QWidget

from rnnviz.app.drawing.render import paint_to_bytes
from rnnviz.document.document import GRAD
from rnnviz.document.training import EpochSource, shown_epoch
from rnnviz.io.export import ExportError, write_export

#: Size of a plot drawn for a file, in pixels at scale 1.
PLOT_SIZE = (900, 520)


def plot_format(path: str | os.PathLike[str]) -> str:
    """'png', 'svg' or 'csv' from the file name; ExportError for anything else."""
    ext = Path(path).suffix.lower().lstrip(".")
    if ext not in ("png", "svg", "csv"):
        raise ExportError(f"{path}: plots are saved as .png, .svg or .csv, not {ext or '(none)'}")
    return ext


def render_plot(
    widget: QWidget, fmt: str, scale: float = 1.0, title: str = "", caption: str = ""
) -> bytes:
    """A plot widget as PNG/SVG bytes, as on screen (`render_widget`'s painting, through
    QWidget.render: pyqtgraph's views shadow `render` with QGraphicsView's scene render).

    `caption` (lines split at "\n", each wrapped to the plot's width) is drawn above the
    plot: a file has no window around it to say what the plot is of. `title` is the file's
    own title (SVG <title>)."""
    head = caption_height(caption, widget.width())
    source = QRectF(0, 0, widget.width(), widget.height() + head)

    def draw(painter: QPainter, target: QRectF, src: QRectF) -> None:
        painter.save()
        painter.scale(target.width() / src.width(), target.height() / src.height())
        if caption:
            painter.setFont(_caption_font())
            painter.setPen(QColor("black"))
            box = QRectF(CAPTION_PAD, CAPTION_PAD, widget.width() - 2 * CAPTION_PAD, head)
            painter.drawText(box, _CAPTION_FLAGS, caption)
            painter.translate(0, head)
        QWidget.render(widget, painter, QPoint(0, 0))
        painter.restore()

    # Declared at the dpi the widget laid its text out at (as `render_widget`): at 72 dpi the
    # SVG came out 4/3 the PNG's size in librsvg, and a 9 pt title laid out 12 px tall was
    # written 9 units tall.
    return paint_to_bytes(draw, source, fmt, scale, title, resolution=widget.logicalDpiY())


#: Space around an exported plot's caption, in pixels.
CAPTION_PAD = 8
_CAPTION_FLAGS = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop) | int(
    Qt.TextFlag.TextWordWrap
)


def _caption_font() -> QFont:
    # In pixels, not points: the plot beside it was laid out in pixels, and an SVG's points
    # and a PNG's pixels would otherwise give the caption two sizes.
    f = QFont()
    f.setPixelSize(13)
    return f


def caption_height(caption: str, width: int) -> int:
    """Pixels a `caption` drawn above a plot `width` wide takes (0 without one)."""
    if not caption:
        return 0
    box = QRect(0, 0, max(1, width - 2 * CAPTION_PAD), 100_000)
    used = QFontMetrics(_caption_font()).boundingRect(box, _CAPTION_FLAGS, caption)
    return used.height() + 2 * CAPTION_PAD


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


def plot_caption(view: Any) -> str:
    """What the plot on the view's current page shows, as the lines an exported file carries
    above it: the module, the lane(s), the loss it differentiates (the saturation plot's
    forward gates have none) and, for a training epoch, which epoch in the trace's own words
    (`epoch_note`, then `PADDED_NOTE` for a padded batch). The Compare page's modules are
    fresh ones, and in text mode it says so (`fresh_note`)."""
    from rnnviz.app.views.grad_compare import fresh_note
    from rnnviz.grad.text import lane_name
    from rnnviz.text.notes import PADDED_NOTE, epoch_note

    plot = view.current_plot()
    if plot is view.compare.plot:
        cmp = view.compare.result
        if cmp is None:
            raise ExportError("no comparison yet")
        spec = cmp.entries[0].spec
        lane = view.compare._lane if view.compare._lane in cmp.entries[0].norms else (0, "fwd")
        lines = [
            f"‖∂L/∂h_t‖₂ of RNN tanh, RNN relu, LSTM and GRU — {lane_name(spec, *lane)}, "
            f"loss {cmp.loss}"
        ]
        if shown_epoch(view.state) is not None:  # as the page's summary decides it
            lines.append(fresh_note(view.state.options.seed))
        return "\n".join(lines)
    res, sel = view.result, view.selection()
    gt, spec = res.grads, res.spec
    loss = f", loss {gt.loss}"
    if plot is view.norms:
        if spec.num_layers * spec.num_directions == 1:
            lanes = lane_name(spec, 0, "fwd")
        else:
            lanes = "every layer" + (" and direction" if spec.bidirectional else "")
        dashed = " (dashed: ‖∂L/∂c_t‖₂)" if spec.cell == "lstm" else ""
        what = f"‖∂L/∂h_t‖₂ per step{dashed}, {lanes}, over batch × units"
    elif plot is view.chain:
        what = (
            f"chain of step Jacobians back from t = {sel.t}, "
            f"{lane_name(spec, sel.layer, sel.direction)}, batch {sel.batch}"
        )
    else:
        what = (
            f"gate saturation, {lane_name(spec, sel.layer, sel.direction)}, all "
            f"{spec.batch_size} batch row(s) × {spec.seq_len} steps"
        )
        loss = ""  # the forward's gates: no loss enters
    lines = [f"{spec.title()} — {what}{loss}"]
    src = view.source
    if isinstance(src, EpochSource):
        lines.append(epoch_note(src.epoch, src.sequence))
        if PADDED_NOTE in gt.trace.notes:
            lines.append(PADDED_NOTE)
    return "\n".join(lines)


def save_plot(view: Any, path: str | os.PathLike[str]) -> None:
    """Write the view's current plot to `path` (.png/.svg drawn by Qt, with
    `plot_caption(view)` above it and as the file's title; .csv its data)."""
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
    if view.current_plot() is view.saturation and not view.saturation.points:
        from rnnviz.app.views.grad_panels import NO_GATES

        # The page hides its plot and says why; a file of it would be an empty frame under
        # "gate saturation" (the first one, drawn while hidden, clipped at Qt's default
        # 640 × 480 size).
        raise ExportError(f"this page has no plot: {NO_GATES}")
    if fmt == "csv":
        data = plot_csv(view)
    else:
        # Titled with what the window says beside the plot: module, lane, loss, epoch.
        caption = plot_caption(view)
        title = caption.replace("\n", "; ")
        data = render_plot(view.current_plot(), fmt, title=title, caption=caption)
    write_export(path, data)
