"""Make Qt's SVG render the same in other programs (librsvg, ImageMagick, browsers).

QSvgGenerator writes three things other renderers draw differently from Qt:

- cosmetic pens as `vector-effect="non-scaling-stroke"` inside a scaled group; librsvg 2.54
  ignores the attribute and scales the stroke, so a heatmap's 1 px cursor or axis line became
  a black band 13 px wide. We bake the group's matrix into the coordinates instead.
- small images scaled up by a group transform (a 80×32 heatmap drawn 420 px wide); other
  renderers smooth them, blurring every cell. We scale the image itself up so each cell is
  a block of exactly `factor` × `factor` pixels, and ask for pixelated rendering. The blocks
  are copied with numpy, not `QImage.scaled`: Qt's nearest-neighbour scaling steps through
  the source in fixed point, and at these factors its blocks come out the wrong size (a 3×2
  palette image scaled ×440 had 455 px cells and a 410 px last column), so the cells no
  longer sat at their ticks.
- text runs measured with one font and named by the widget's generic family ("Sans Serif").
  A CJK run was measured with the CJK fallback font; we name that font, so a renderer that
  lays the run out itself gives it the width Qt gave it.
"""

from __future__ import annotations

import base64
import math
import re

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QIODevice
from PySide6.QtGui import QFont, QFontDatabase, QFontInfo, QImage

#: Largest image (pixels) the upscaling may produce, to keep files small.
MAX_IMAGE_PIXELS = 4_000_000
_GROUP = re.compile(r"(<g\b[^>]*?transform=\"matrix\(([^)]*)\)\"[^>]*>)(.*?)(</g>)", re.DOTALL)
_PAIR = re.compile(r"(-?[\d.]+(?:e-?\d+)?),(-?[\d.]+(?:e-?\d+)?)")
_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]")


def _matrix(text: str) -> tuple[float, ...]:
    return tuple(float(v) for v in text.split(","))


def _map(m: tuple[float, ...], x: float, y: float) -> tuple[float, float]:
    a, b, c, d, e, f = m
    return a * x + c * y + e, b * x + d * y + f


def _bake_points(m: tuple[float, ...], text: str) -> str:
    def sub(match: re.Match[str]) -> str:
        x, y = _map(m, float(match.group(1)), float(match.group(2)))
        return f"{x:.6g},{y:.6g}"

    return _PAIR.sub(sub, text)


_SHAPE = re.compile(r"<(?:path|polyline|polygon)\b[^>]*>")


def _split_group(m: tuple[float, ...], body: str) -> tuple[str, str]:
    """(`body` without its non-scaling-stroke shapes, those shapes mapped by `m` into device
    space, where their stroke width is what Qt meant)."""
    baked: list[str] = []

    def element(match: re.Match[str]) -> str:
        el = match.group(0)
        if "non-scaling-stroke" not in el:
            return el
        el = re.sub(
            r'(points|d)="([^"]*)"',
            lambda a: f'{a.group(1)}="{_bake_points(m, a.group(2))}"',
            el,
        )
        baked.append(el.replace(' vector-effect="non-scaling-stroke"', ""))
        return ""

    rest = _SHAPE.sub(element, body)
    return rest, "\n".join(baked)


def _blocks_image(img: QImage, factor: int) -> QImage:
    """`img` with every pixel repeated into a `factor` × `factor` block, in `img`'s format.

    Exact by construction: pixel (x, y) covers [x·factor, (x+1)·factor) on both axes, so an
    image stretched over n cells keeps its cell boundaries at multiples of 1/n of its width.
    """
    # Not QImage.scaled(FastTransformation): Qt maps target pixels back to the source in
    # fixed point, which drifts at large factors (a palette image ×440: 455 px blocks).
    # Pixels are copied as raw bytes, so a palette image stays a palette image (a third
    # smaller as PNG than ARGB); only formats under a byte per pixel are widened first.
    src = img if img.depth() % 8 == 0 else img.convertToFormat(QImage.Format.Format_ARGB32)
    w, h, bpp = src.width(), src.height(), src.depth() // 8
    rows = np.frombuffer(bytes(src.constBits()), dtype=np.uint8)
    # Rows may be padded past w·bpp bytes; keep only the pixels.
    pixels = rows.reshape(h, src.bytesPerLine())[:, : w * bpp].reshape(h, w, bpp)
    big = np.ascontiguousarray(np.repeat(np.repeat(pixels, factor, axis=0), factor, axis=1))
    out = QImage(big.data, w * factor, h * factor, w * factor * bpp, src.format()).copy()
    # copy(): own the pixels, as `big` is freed when this function returns.
    if src.colorCount():
        out.setColorTable(src.colorTable())
    return out


def _upscaled_png(b64: str, factor: int) -> str:
    img = QImage()
    img.loadFromData(QByteArray(base64.b64decode(b64)), "PNG")
    if img.isNull() or factor <= 1:
        return b64
    big = _blocks_image(img, factor)
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    big.save(buf, "PNG")  # type: ignore[call-overload]
    return base64.b64encode(bytes(data.data())).decode("ascii")


def _fix_images(m: tuple[float, ...], body: str) -> str:
    scale = max(abs(m[0]), abs(m[3]), abs(m[1]), abs(m[2]))
    if scale <= 1.01:
        return body

    def image(match: re.Match[str]) -> str:
        el = match.group(0)
        w = re.search(r'width="([\d.]+)"', el)
        h = re.search(r'height="([\d.]+)"', el)
        data = re.search(r'base64,([A-Za-z0-9+/=]+)"', el)
        if not (w and h and data):
            return el
        pixels = float(w.group(1)) * float(h.group(1))
        factor = min(math.ceil(scale) * 2, int(math.sqrt(MAX_IMAGE_PIXELS / max(pixels, 1))))
        el = el.replace(data.group(1), _upscaled_png(data.group(1), factor))
        return el.replace("<image ", '<image style="image-rendering:pixelated" ', 1)

    return re.sub(r"<image\b[^>]*/?>", image, body)


def _cjk_family() -> str | None:
    """The family Qt falls back to for Chinese text here (what it measured CJK runs with)."""
    for family in ("Noto Sans CJK SC", "Noto Sans CJK", "WenQuanYi Zen Hei", "Droid Sans Fallback"):
        if family in QFontDatabase.families():
            return family
    return None


def _fix_fonts(svg: str) -> str:
    latin = QFontInfo(QFont("Sans Serif")).family()
    cjk = _cjk_family()

    def text(match: re.Match[str]) -> str:
        el = match.group(0)
        content = re.sub(r"<[^>]+>", "", el)
        family = cjk if cjk and _CJK.search(content) else None
        if family is None:
            return el.replace('font-family="Sans Serif"', f'font-family="{latin}, sans-serif"')
        return re.sub(r'font-family="[^"]*"', f'font-family="{family}, sans-serif"', el)

    svg = re.sub(r"<text\b.*?</text>", text, svg, flags=re.DOTALL)
    return svg.replace('font-family="Sans Serif"', f'font-family="{latin}, sans-serif"')


def portable_svg(data: bytes) -> bytes:
    """Qt's SVG `data` rewritten to render the same in librsvg, ImageMagick and browsers."""
    svg = data.decode("utf-8")

    def group(match: re.Match[str]) -> str:
        head, mat, body, tail = match.groups()
        m = _matrix(mat)
        if len(m) != 6:
            return match.group(0)
        baked = ""
        if "non-scaling-stroke" in body:
            # Cosmetic strokes move to a copy of the group without the transform, their
            # coordinates mapped into device space.
            body, baked = _split_group(m, body)
        if "<image" in body:
            body = _fix_images(m, body)
        out = head + body + tail
        if baked:
            out += "\n" + head.replace(f'transform="matrix({mat})"', "") + baked + "\n" + tail
        return out

    svg = _GROUP.sub(group, svg)
    # What is left is drawn untransformed, where the attribute changes nothing.
    svg = svg.replace(' vector-effect="non-scaling-stroke"', "")
    return _fix_fonts(svg).encode("utf-8")


def declare_size(data: bytes, width: float, height: float) -> bytes:
    """SVG `data` with its root's width and height set to `width` × `height` CSS pixels
    (96 per inch).

    QSvgGenerator writes them in millimetres to six significant digits: a plot 332 px tall at
    96 dpi became 87.8417mm, 332.0001 px, which librsvg draws 333 px tall, a pixel more than
    the PNG of the same plot."""
    svg = data.decode("utf-8")
    root = re.search(r"<svg\b[^>]*>", svg)
    if root is None:
        return data
    head = re.sub(r'\bwidth="[^"]*"', f'width="{width:.10g}px"', root.group(0), count=1)
    head = re.sub(r'\bheight="[^"]*"', f'height="{height:.10g}px"', head, count=1)
    return (svg[: root.start()] + head + svg[root.end() :]).encode("utf-8")
