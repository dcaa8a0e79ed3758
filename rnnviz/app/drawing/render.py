"""Render the window's own drawings to SVG, PNG and PDF bytes.

The diagram is the window's `GraphScene` (rnnviz.app.drawing.scene), painted by Qt onto a
QSvgGenerator, a QImage or a QPdfWriter, so an export looks exactly like the window and no
SVG is written by hand. The gate heatmaps are the window's `GateView` widget, painted the
same way.

One scene unit is one point at scale 1 (QSvgGenerator and QPdfWriter both at 72 dpi), so a
10-unit font in the window prints as 10 pt at 100 %.

Same input → same bytes: the SVG title/description are fixed, and the PDF's creation dates
(which Qt stamps with the clock) are rewritten to a fixed date of the same length, so the
cross-reference offsets stay valid, and its document id is derived from the content.
"""

from __future__ import annotations

import os
import re
import sys
import uuid
from typing import Any

import networkx as nx
from PySide6.QtCore import (
    QBuffer,
    QByteArray,
    QCoreApplication,
    QIODevice,
    QMarginsF,
    QPoint,
    QRectF,
    QSize,
    QSizeF,
    Qt,
    QUuid,
)
from PySide6.QtGui import QColor, QImage, QPageSize, QPainter, QPdfWriter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QApplication, QGraphicsScene, QWidget

from rnnviz.analysis.graph import build_graph
from rnnviz.app.qt_messages import install_message_filter
from rnnviz.config.spec import Spec
from rnnviz.document.snapshot import Snapshot
from rnnviz.io.export import ExportError
from rnnviz.text.notes import with_note

#: Empty border around the drawing, in scene units.
MARGIN = 12.0
#: Largest PNG we make, in pixels (about 400 MB of ARGB32 at the limit).
MAX_PIXELS = 100_000_000
#: The fixed date written into PDFs in place of the clock (same length as Qt's stamp).
_PDF_DATE = b"20000101000000"
_XMP_DATE = b"2000-01-01T00:00:00"


def ensure_qt_app() -> QCoreApplication:
    """The running QApplication, made if there is none (offscreen when there is no display).

    Fonts need a GUI application even to render into an image; the CLI has no window, so
    without a display it asks Qt for the offscreen platform before creating the application.
    """
    app = QCoreApplication.instance()
    if app is not None:
        return app
    headless = sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    )
    if headless:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    else:
        from rnnviz.app.preflight import check_xcb, xcb_would_be_used

        # An export needs no window: where the xcb plugin cannot load, draw offscreen
        # rather than let Qt abort.
        if xcb_would_be_used() and check_xcb() is not None:
            os.environ["QT_QPA_PLATFORM"] = "offscreen"
    app = QApplication(["rnnviz"])
    install_message_filter()
    return app


# ---- painting onto a device ------------------------------------------------------------------
def _buffer() -> tuple[QByteArray, QBuffer]:
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    return data, buf


def _target_size(source: QRectF, scale: float) -> QSize:
    return QSize(max(1, round(source.width() * scale)), max(1, round(source.height() * scale)))


def _paint(painter: QPainter, draw, source: QRectF, target: QRectF) -> None:
    # Antialiased shapes and text in every format: raster needs it, vector ignores it.
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    painter.fillRect(target, QColor("white"))
    draw(painter, target, source)
    painter.end()


def paint_to_bytes(
    draw, source: QRectF, fmt: str, scale: float = 1.0, title: str = "", resolution: int = 72
) -> bytes:
    """Paint `draw(painter, target, source)` into `fmt` ("svg", "png" or "pdf") and return bytes.

    `source` is the region drawn (scene units); the output is `source` × `scale` in pixels
    (PNG) or points (SVG, PDF), with a white background. `resolution` is the dpi the SVG
    declares: a widget laid its text out for the screen's dpi, and the SVG's font sizes must
    say the same, or other renderers draw the text smaller than Qt placed it. At 96 dpi the
    SVG's declared size is the PNG's, in CSS pixels.
    """
    size = _target_size(source, scale)
    target = QRectF(0, 0, size.width(), size.height())
    data, buf = _buffer()
    if fmt == "svg":
        gen = QSvgGenerator()
        gen.setOutputDevice(buf)
        gen.setSize(size)
        gen.setViewBox(target)
        gen.setResolution(resolution)
        gen.setTitle(title)
        gen.setDescription("Made with rnnviz")
        _paint(QPainter(gen), draw, source, target)
        from rnnviz.app.drawing.svg_fix import declare_size, portable_svg

        # `size` device units at `resolution` dpi, in CSS pixels exactly (see declare_size).
        inch = 96 / resolution
        return declare_size(
            portable_svg(bytes(data.data())), size.width() * inch, size.height() * inch
        )
    if fmt == "png":
        if size.width() * size.height() > MAX_PIXELS:
            raise ExportError(
                f"PNG would be {size.width()} × {size.height()} pixels; lower "
                f"--scale or fold the sequence"
            )
        img = QImage(size, QImage.Format.Format_ARGB32)
        img.fill(Qt.GlobalColor.white)
        # Record 72 dpi × scale, so the PNG prints at the same physical size as the PDF.
        dpm = round(72 * scale / 0.0254)
        img.setDotsPerMeterX(dpm)
        img.setDotsPerMeterY(dpm)
        _paint(QPainter(img), draw, source, target)
        img.save(buf, "PNG")  # type: ignore[call-overload]  # stub says bytes; runtime wants str
        return bytes(data.data())
    if fmt == "pdf":
        pdf = QPdfWriter(buf)
        pdf.setResolution(72)
        pdf.setPageSize(
            QPageSize(
                QSizeF(size.width(), size.height()),
                QPageSize.Unit.Point,
                "rnnviz",
                QPageSize.SizeMatchPolicy.ExactMatch,
            )
        )
        pdf.setPageMargins(QMarginsF(0, 0, 0, 0))
        pdf.setTitle(title)
        pdf.setCreator("rnnviz")
        # A content-derived id (Qt draws a random one) keeps two exports byte-identical.
        pdf.setDocumentId(
            QUuid(
                str(
                    uuid.uuid5(uuid.NAMESPACE_URL, f"rnnviz:{title}:{size.width()}x{size.height()}")
                )
            )
        )
        painter = QPainter(pdf)
        page = QRectF(0, 0, pdf.width(), pdf.height())
        _paint(painter, draw, source, page)
        return _fixed_pdf_dates(bytes(data.data()))
    raise ExportError(f"cannot draw format {fmt!r} (svg, png or pdf)")


def _fixed_pdf_dates(pdf: bytes) -> bytes:
    """`pdf` with Qt's clock stamps (Info dict and XMP) replaced by a fixed date.

    The replacement has the same length, so the xref table's byte offsets stay right.
    """
    pdf = re.sub(rb"\(D:\d{14}", b"(D:" + _PDF_DATE, pdf)
    return re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", _XMP_DATE, pdf)


def render_scene(scene: QGraphicsScene, fmt: str, scale: float = 1.0, title: str = "") -> bytes:
    """A QGraphicsScene (its items' bounds plus MARGIN) as `fmt` bytes; see paint_to_bytes."""
    source = scene.itemsBoundingRect().adjusted(-MARGIN, -MARGIN, MARGIN, MARGIN)

    def draw(painter: QPainter, target: QRectF, src: QRectF) -> None:
        scene.render(painter, target, src, Qt.AspectRatioMode.IgnoreAspectRatio)

    # Text items measured their labels at the screen's dpi; the SVG must declare the same.
    screen = (
        QApplication.primaryScreen() if isinstance(QApplication.instance(), QApplication) else None
    )
    dpi = round(screen.logicalDotsPerInchY()) if screen is not None else 72
    return paint_to_bytes(draw, source, fmt, scale, title, resolution=dpi if fmt == "svg" else 72)


def render_widget(widget: QWidget, fmt: str, scale: float = 1.0, title: str = "") -> bytes:
    """A widget, painted as it would appear on screen, as `fmt` bytes (see paint_to_bytes)."""
    source = QRectF(0, 0, widget.width(), widget.height())

    def draw(painter: QPainter, target: QRectF, src: QRectF) -> None:
        painter.save()
        painter.scale(target.width() / src.width(), target.height() / src.height())
        widget.render(painter, QPoint(0, 0))
        painter.restore()

    return paint_to_bytes(draw, source, fmt, scale, title, resolution=widget.logicalDpiY())


# ---- what the exports draw ---------------------------------------------------------------------
def graph_scene(
    graph: nx.DiGraph, spec: Spec, timestep: int | None = None, note: str = ""
) -> QGraphicsScene:
    """The window's GraphScene for `graph`, with title and legend, `timestep` highlighted;
    `note` (a text model's epoch, `rnnviz.io.export.source_note`) ends the title line."""
    from rnnviz.app.drawing.scene import GraphScene

    scene = GraphScene(
        graph, spec, title=True, legend=True, highlight=timestep is not None, note=note
    )
    if timestep is not None:
        scene.set_current(timestep, None)
    return scene


def render_graph(
    source: Spec | Snapshot | nx.DiGraph,
    fmt: str,
    *,
    timestep: int | None = None,
    scale: float = 1.0,
    fold: int | None = None,
    text: Any = None,
    api: str = "module",
    note: str = "",
) -> bytes:
    """The unrolled diagram as SVG/PNG/PDF bytes, drawn by the window's GraphScene.

    `source` is a Spec (drawn folded as `rnnviz.io.export.drawn_fold(spec, fold)`), a Snapshot
    (its drawn graph) or a graph from `rnnviz.analysis.graph.build_graph` (its spec is read from the
    graph's `spec` attribute). `timestep` is highlighted when given; `scale` multiplies the
    size (1 scene unit = 1 pt = 1 px at scale 1). `text` (a TextFrame) draws a Spec with
    the tokens, Embedding and Linear of a text model around the RNN. `api` ("module" or
    "cell") applies to a Spec source: a Cell is drawn as the loop of its calls. `note` says
    what the drawing shows beyond the spec (a text model's epoch, `rnnviz.io.export.
    source_note`; a Snapshot source's own by default), in the title line and the file's title.
    """
    from rnnviz.io.export import check_scale, check_timestep, drawn_fold

    ensure_qt_app()
    if isinstance(source, Spec):
        spec = source
        # Folded around the highlighted step, so it is always drawn.
        graph = build_graph(spec, fold=drawn_fold(spec, fold), focus=timestep, text=text, api=api)
    elif isinstance(source, Snapshot):
        graph, spec = source.graph, source.spec
        note = note or source.source_note
    else:
        graph, spec = source, Spec.from_json(source.graph["spec"])
    check_timestep(spec, timestep)
    check_scale(scale)
    scene = graph_scene(graph, spec, timestep, note)
    steps = f"{spec.seq_len} " + ("step" if spec.seq_len == 1 else "steps")
    title = f"{graph.graph.get('title', spec.title())} over {steps}"
    return render_scene(scene, fmt, scale, title=with_note(title, note))
