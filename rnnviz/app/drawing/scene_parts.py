"""The pieces a graph scene is drawn with: its fonts, pens and brushes (each made once: a
scene sets them on about a thousand items), text measured once per text, arrows, and the
boxed shape labels on the edges with the rule for where each hangs. `rnnviz.app.drawing.scene`
places them; the exports' title and legend (`legend`) use the same fonts and pens."""

from __future__ import annotations

import functools
import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsRectItem, QGraphicsSimpleTextItem

FONT_FAMILY = "DejaVu Sans"
#: Node text size in points (the node text measures below are in this size).
NODE_PT = 9.5


@functools.cache
def font(pt: float, bold: bool = False, italic: bool = False) -> QFont:
    """The scene's font at `pt` points. Cached: a scene sets a few fonts on thousands of
    items (Qt copies them on set)."""
    f = QFont(FONT_FAMILY)
    f.setPointSizeF(pt)
    f.setBold(bold)
    f.setItalic(italic)
    return f


@functools.lru_cache(maxsize=8192)
def advance(text: str, bold: bool, italic: bool) -> float:
    """The width of `text` in the node font. Cached: stepping through a folded graph
    relabels a few hundred boxes per step, and measuring each text again (two measures per
    box, a metrics object per call) was a third of a step's time."""
    return metrics(bold, italic).horizontalAdvance(text)


@functools.lru_cache(maxsize=2048)
def elided(text: str, bold: bool, italic: bool, width: float) -> str:
    """`text` cut in the middle to fit `width` in the node font (cached as `advance`)."""
    return metrics(bold, italic).elidedText(text, Qt.TextElideMode.ElideMiddle, width)


@functools.cache
def metrics(bold: bool, italic: bool) -> QFontMetricsF:
    """The node font's metrics (bold for cells, italic for folds)."""
    return QFontMetricsF(font(NODE_PT, bold=bold, italic=italic))


@functools.cache
def brush(colour: str) -> QBrush:
    """A solid brush of `colour` ("#rrggbb" or "#aarrggbb"). Cached like the pens: a scene
    sets a brush on about a thousand items, and parsing the colour and making the brush
    each time was a tenth of building one."""
    return QBrush(QColor(colour))


@functools.cache
def pen(colour: str, width: float = 1.2, dash: bool = False) -> QPen:
    """A pen of `colour` and `width` scene units (scaled with the view), dashed or solid."""
    made = QPen(QColor(colour), width)
    made.setCosmetic(False)
    if dash:
        made.setStyle(Qt.PenStyle.DashLine)
    return made


#: Arrowhead length along its edge and half-angle (radians).
HEAD, HEAD_ANGLE = 7.0, 0.4


#: Where an edge label hangs: the edge's ends a, b, its anchor, whether it is horizontal,
#: and the side of the column it keeps to (+1 right, −1 left).
Hang = tuple[QPointF, QPointF, QPointF, bool, int]


def shape_lines(shape: str, horizontal: bool) -> list[str]:
    """An edge label's lines: an LSTM's "h … + c …" in two on a horizontal edge."""
    return shape.split(" + ") if horizontal else [shape.replace(" + ", "\n")]


def box_text(box: QGraphicsRectItem) -> str:
    """The text in a `boxed_text` box."""
    label = box.childItems()[0]
    assert isinstance(label, QGraphicsSimpleTextItem)
    return label.text()


def set_boxed_text(box: QGraphicsRectItem, text: str) -> None:
    """Put `text` in a `boxed_text` box, the box fitted to it."""
    label = box.childItems()[0]
    assert isinstance(label, QGraphicsSimpleTextItem)
    label.setText(text)
    r = label.boundingRect()
    box.setRect(QRectF(0, 0, r.width() + 3, r.height() + 1))


def hang_label(label: QGraphicsRectItem, i: int, hang: Hang) -> None:
    """Place line `i` of an edge's label (a `boxed_text` box) as `hang` says."""
    a, b, at, horizontal, side = hang
    r = label.boundingRect()
    if horizontal:  # above the arrow, a second line (c of an LSTM) below it
        # 1 px off the line, or clear of the arrowhead when the label reaches over it (a
        # wide shape in a narrow gap: "h (1, 128)" hid the heads' halves).
        off = 1.0
        if (r.width() / 2) > abs(b.x() - at.x()) - HEAD * math.cos(HEAD_ANGLE):
            off += HEAD * math.sin(HEAD_ANGLE)
        y = at.y() - r.height() - off if i == 0 else at.y() + off
        label.setPos(at.x() - r.width() / 2, y)
    else:  # beside the arrow, on the side away from the column's centre line
        x = at.x() + 4 if side > 0 else at.x() - 4 - r.width()
        label.setPos(x, at.y() - r.height() / 2)


def boundary(centre: QPointF, size: tuple[float, float], toward: QPointF) -> QPointF:
    """Where the segment from `centre` toward `toward` leaves a box of `size` around `centre`."""
    dx, dy = toward.x() - centre.x(), toward.y() - centre.y()
    if dx == 0 and dy == 0:
        return QPointF(centre)
    hw, hh = size[0] / 2, size[1] / 2
    s = min(hw / abs(dx) if dx else math.inf, hh / abs(dy) if dy else math.inf)
    return QPointF(centre.x() + dx * s, centre.y() + dy * s)


def arrow_path(a: QPointF, b: QPointF, head: float = HEAD) -> QPainterPath:
    """A line a→b with a filled arrowhead at b."""
    path = QPainterPath(a)
    path.lineTo(b)
    ang = math.atan2(b.y() - a.y(), b.x() - a.x())
    turn = HEAD_ANGLE
    left = QPointF(b.x() - head * math.cos(ang - turn), b.y() - head * math.sin(ang - turn))
    right = QPointF(b.x() - head * math.cos(ang + turn), b.y() - head * math.sin(ang + turn))
    path.addPolygon(QPolygonF([b, left, right, b]))
    return path


def boxed_text(text: str, pt: float) -> QGraphicsRectItem:
    """Text on a translucent white box, so a label stays readable where it crosses a line.

    A box item with the text as its child, rather than a text item with its own paint():
    a Python paint() override crashes PySide6 6.12 at interpreter exit after a few renders."""
    # The box first and the text made as its child: reparenting an item costs more than
    # making it (this is the scene's commonest item: 273 of them in a 4-layer bi-LSTM).
    box = QGraphicsRectItem()
    box.setBrush(brush("#d7ffffff"))  # white at 215/255
    box.setPen(no_pen())
    label = QGraphicsSimpleTextItem(text, box)
    label.setFont(font(pt))
    label.setBrush(brush("#334155"))
    r = label.boundingRect()
    box.setRect(QRectF(0, 0, r.width() + 3, r.height() + 1))
    label.setPos(1.5, 0.5)
    return box


@functools.cache
def no_pen() -> QPen:
    """The empty pen: nothing drawn around a shape."""
    return QPen(Qt.PenStyle.NoPen)
