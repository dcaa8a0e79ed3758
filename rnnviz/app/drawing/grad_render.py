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


def render_captioned(widget: QWidget, fmt: str, caption: str, scale: float = 1.0) -> bytes:
    """A plot widget as PNG/SVG bytes with `caption` above it and as the file's title (its
    lines joined by "; "): how every gradient plot file says what it shows, the window's
    Export… and `rnnviz grad --plot` alike."""
    title = caption.replace("\n", "; ")
    return render_plot(widget, fmt, scale, title=title, caption=caption)


def _paint(widget: QWidget, fmt: str, scale: float, caption: str) -> bytes:
    widget.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
    widget.resize(QSize(*PLOT_SIZE))
    widget.show()
    QCoreApplication.processEvents()
    try:
        return render_captioned(widget, fmt, caption, scale)
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
        return compare_csv(view.compare.result, *view.compare.lane())
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


def compare_caption(page: Any) -> str:
    """What a ComparePage's plot shows, as the lines a file of it carries: the four cells,
    the lane drawn and the loss; and, while a training epoch is on screen, that its modules
    are fresh ones (`fresh_note`, as the page's summary decides it)."""
    from rnnviz.app.views.grad_compare import fresh_note
    from rnnviz.grad.text import lane_name

    cmp = page.result
    if cmp is None:
        raise ExportError("no comparison yet")
    spec = cmp.entries[0].spec
    lines = [
        f"‖∂L/∂h_t‖₂ of RNN tanh, RNN relu, LSTM and GRU — {lane_name(spec, *page.lane())}, "
        f"loss {cmp.loss}"
    ]
    if shown_epoch(page.state) is not None:
        lines.append(fresh_note(page.state.options.seed))
    return "\n".join(lines)


def plot_caption(view: Any, note: str = "") -> str:
    """What the plot on the view's current page shows, as the lines an exported file carries
    above it: the module, the lane(s), the loss it differentiates (the saturation plot's
    forward gates have none) and, for a training epoch, which epoch in the trace's own words
    (`epoch_note`; `note` says it where the view has no epoch source: `rnnviz grad --run`'s
    final weights), then `PADDED_NOTE` for a padded batch. The Compare page's caption is
    `compare_caption`."""
    from rnnviz.grad.text import lane_name
    from rnnviz.text.notes import PADDED_NOTE, epoch_note

    plot = view.current_plot()
    if plot is view.compare.plot:
        return compare_caption(view.compare)
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
        note = epoch_note(src.epoch, src.sequence)
    if note:
        lines.append(note)
    if PADDED_NOTE in gt.trace.notes:
        lines.append(PADDED_NOTE)
    return "\n".join(lines)


def save_plot(view: Any, path: str | os.PathLike[str]) -> None:
    """Write the view's current plot to `path` (.png/.svg drawn by Qt, with
    `plot_caption(view)` above it and as the file's title; .csv its data)."""
    fmt = plot_format(path)
    plot = view.current_plot()
    if view.result is None and plot is not view.compare.plot:
        raise ExportError("no gradients yet")
    if plot is not view.compare.plot and view.result is not view.state.result(GRAD):
        # The page still shows the last finished gradients (another spec, loss or epoch):
        # a file of them would carry nothing saying so.
        raise ExportError(
            "the gradients on screen are the last finished ones, not the current "
            "configuration's; export once the new ones are in"
        )
    if plot is view.saturation and not view.saturation.points:
        from rnnviz.app.views.grad_panels import NO_GATES

        # The page hides its plot and says why; a file of it would be an empty frame under
        # "gate saturation" (the first one, drawn while hidden, clipped at Qt's default
        # 640 × 480 size).
        raise ExportError(f"this page has no plot: {NO_GATES}")
    data = plot_csv(view) if fmt == "csv" else render_captioned(plot, fmt, plot_caption(view))
    write_export(path, data)
