"""The gate SVG's heatmap cells sit where the figure says: on their ticks, at the PNG export's
boundaries, and in the embedded raster at whole blocks of pixels.

QSvgGenerator writes each heatmap as a small image (one pixel per cell) under a scaling
transform; svg_fix enlarges that image so other renderers do not blur the cells. The
enlargement once put the cells off their ticks (a 3×2 image ×440 had 455 px cells and a
410 px last column). These tests read the SVG's own geometry with ElementTree, render it with
librsvg and find the cell boundaries in the pixels."""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QByteArray  # noqa: E402
from PySide6.QtGui import QImage  # noqa: E402

import rnnviz.app.drawing.formats  # noqa: E402, F401  (registers the gates formats)
from rnnviz.config.presets import preset  # noqa: E402
from rnnviz.document.snapshot import compute_snapshot  # noqa: E402
from rnnviz.io.export import export_bytes  # noqa: E402

pytestmark = pytest.mark.gui

_NS = "{http://www.w3.org/2000/svg}"
_HREF = "{http://www.w3.org/1999/xlink}href"
#: Largest distance (px at the file's size) between a boundary and where it belongs: the
#: PNG snaps an image edge to whole pixels and librsvg to the nearest source pixel.
TOL = 1.0
#: (preset, colour scale): big cells, a grid of small ones, 28 × 128 cells, and the NaN/Inf
#: overlay images drawn over an exploding RNN's heatmaps.
CASES = [
    ("rnncell-4-2", None),
    ("bilstm-2", None),
    ("lstm-28-128", None),
    ("relu-explode", "signed-log"),
]
#: Boundaries found in pixels: (position in px, strength as a fraction of the largest step).
Found = list[tuple[float, float]]


@dataclass(frozen=True)
class Heatmap:
    """One `<image>` of cells as placed by its group's matrix: `cols` × `rows` cells of
    `sx` × `sy` px from (`tx`, `ty`)."""

    sx: float
    sy: float
    tx: float
    ty: float
    cols: int
    rows: int
    png: bytes

    def col_edge(self, k: float) -> float:
        """x of the boundary before column k (k may be fractional: k + 0.5 is a centre)."""
        return self.tx + k * self.sx

    def row_edge(self, k: float) -> float:
        """y of the boundary above row k."""
        return self.ty + k * self.sy


def _heatmaps(svg: str) -> list[Heatmap]:
    """The heatmap images of a gates SVG: scaled up (not the 1:1 canvas background) and more
    than one pixel tall (not a colour bar's gradient)."""
    found = []
    for group in ET.fromstring(svg).iter(_NS + "g"):
        m = re.fullmatch(r"matrix\(([^)]*)\)", group.get("transform", ""))
        if m is None:
            continue
        sx, b, c, sy, tx, ty = (float(v) for v in m.group(1).split(","))
        for image in group.findall(_NS + "image"):
            w, h = float(image.get("width", "0")), float(image.get("height", "0"))
            if b == c == 0 and sx > 1.01 and sy > 1.01 and h > 1:
                data = image.get(_HREF, "").split("base64,", 1)[1]
                found.append(Heatmap(sx, sy, tx, ty, int(w), int(h), base64.b64decode(data)))
    return found


def _bottom_ticks(svg: str, hm: Heatmap) -> list[float]:
    """x of the time axis's tick marks under `hm`: short vertical lines rising from its
    bottom edge into the plot."""
    bottom = hm.row_edge(hm.rows)
    xs = []
    for line in ET.fromstring(svg).iter(_NS + "polyline"):
        pts = [tuple(map(float, p.split(","))) for p in line.get("points", "").split()]
        if len(pts) != 2 or pts[0][0] != pts[1][0]:
            continue
        (x, y0), (_, y1) = pts
        inside = hm.col_edge(0) < x < hm.col_edge(hm.cols)
        if inside and abs(max(y0, y1) - bottom) < 1.5 and 3 < abs(y1 - y0) < 8:
            xs.append(x)
    return xs


def _rgb(data: bytes) -> np.ndarray:
    img = QImage()
    assert img.loadFromData(QByteArray(data), "PNG")
    img = img.convertToFormat(QImage.Format.Format_RGB888)
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    raw = np.frombuffer(bytes(img.constBits()), dtype=np.uint8).reshape(h, bpl)
    return raw[:, : w * 3].reshape(h, w, 3).astype(float)


def _peaks(profile: np.ndarray, origin: int, skip: list[float]) -> list[tuple[float, float]]:
    """(position, strength) of the boundaries in an edge profile: `profile[i]` is the colour
    step between pixels origin + i and origin + i + 1, i.e. at coordinate origin + i + 1.
    A boundary inside a pixel splits its step over two neighbours; their weighted centre is
    the sub-pixel position. Steps within 3 px of `skip` (cursor lines, outer edges) are
    dropped first; strength is a fraction of the largest step left."""
    at = origin + 1 + np.arange(len(profile))
    profile = np.where(np.min([np.abs(at - s) for s in skip], axis=0) > 3, profile, 0.0)
    top = profile.max()
    found = []
    i = 1
    while i < len(profile) - 1:
        p = profile[i]
        if p >= 0.05 * top and p >= profile[i - 1] and p > profile[i + 1]:
            idx = np.arange(i - 1, i + 2)
            centre = float((idx * profile[idx]).sum() / profile[idx].sum())
            found.append((origin + 1 + centre, p / top))
            i += 2
        else:
            i += 1
    return found


def _boundaries(img: np.ndarray, hm: Heatmap, cursor_col: int) -> tuple[Found, Found]:
    """(column boundaries, row boundaries) between a heatmap's cells, from the pixels, as
    (px, strength) (see `_peaks`).

    Columns come from the colour steps summed down every pixel row of the heatmap, rows
    from those summed along every pixel column, so two columns that differ in any row show a
    boundary. Left out: the tick marks along the bottom and left edges (7 px of band, or the
    step where they end), the cursor lines, the outer edges, and an axis whose cells are
    under 4 px (they blur together)."""
    x0, x1 = int(np.floor(hm.col_edge(0))) + 1, int(np.ceil(hm.col_edge(hm.cols))) - 1
    y0, y1 = int(np.floor(hm.row_edge(0))) + 1, int(np.ceil(hm.row_edge(hm.rows))) - 1
    cur_x, cur_y = hm.col_edge(cursor_col + 0.5), hm.row_edge(0.5)  # the cursor is on unit 0
    cols: Found = []
    rows: Found = []
    if hm.sx >= 4:
        ys = np.arange(y0, y1 - 7)
        band = img[y0 : y1 - 7, x0 - 2 : x1 + 2][np.abs(ys - cur_y) > 3]
        steps = np.abs(np.diff(band, axis=1)).sum(axis=(0, 2))
        # The left axis's ticks end 5 px inside the heatmap: a step there is theirs.
        skip = [cur_x, hm.col_edge(0), hm.col_edge(0) + 5, hm.col_edge(hm.cols)]
        cols = _peaks(steps, x0 - 2, skip)
    if hm.sy >= 4:
        xs = np.arange(x0 + 7, x1)
        band = img[y0 - 2 : y1 + 2, x0 + 7 : x1][:, np.abs(xs - cur_x) > 3]
        steps = np.abs(np.diff(band, axis=0)).sum(axis=(1, 2))
        skip = [cur_y, hm.row_edge(0), hm.row_edge(hm.rows) - 5, hm.row_edge(hm.rows)]
        rows = _peaks(steps, y0 - 2, skip)
    return cols, rows


def _off_grid(found: Found, edge, n: int) -> list[tuple[float, float]]:
    """(found, nearest grid line) for each boundary more than TOL from every grid line."""
    out = []
    for at, _ in found:
        nearest = min((edge(k) for k in range(n + 1)), key=lambda e: abs(e - at))
        if abs(at - nearest) > TOL:
            out.append((round(at, 2), round(nearest, 2)))
    return out


def _unmatched(a: Found, b: Found) -> list[float]:
    """The clear boundaries of `a` (a quarter of its largest step or more) with no boundary
    of `b` within TOL. A faint one may fall under `b`'s detection floor, so only clear ones
    must be found in both."""
    return [round(x, 2) for x, s in a if s >= 0.25 and not any(abs(x - y) <= TOL for y, _ in b)]


def _export(key: str, mode: str | None, fmt: str) -> bytes:
    p = preset(key)
    snap = compute_snapshot(p.spec, p.options)
    return export_bytes(p.spec, fmt, snapshot=snap, timestep=0, scale_mode=mode)


@pytest.mark.parametrize(("key", "mode"), CASES)
def test_the_embedded_heatmap_has_each_cell_as_one_whole_block(qapp, key, mode):
    """The raster inside each `<image>` is its declared cols × rows cells, each an equal
    block: the image is stretched over exactly those cells, so a block of another size puts
    every later cell off its tick (before: 455 px blocks in a 1320 px wide 3-column image)."""
    svg = _export(key, mode, "gates-svg").decode()
    maps = _heatmaps(svg)
    assert maps, "no heatmap image in the SVG"
    for hm in maps:
        img = QImage()
        assert img.loadFromData(QByteArray(hm.png), "PNG")
        img = img.convertToFormat(QImage.Format.Format_ARGB32)
        w, h = img.width(), img.height()
        assert w % hm.cols == 0 and h % hm.rows == 0, (w, h, hm.cols, hm.rows)
        fx, fy = w // hm.cols, h // hm.rows
        assert fx == fy and fx > 1, (fx, fy)  # enlarged, by one whole factor on both axes
        raw = np.frombuffer(bytes(img.constBits()), dtype=np.uint32)
        px = raw.reshape(h, img.bytesPerLine() // 4)[:, :w]
        cells = px.reshape(hm.rows, fy, hm.cols, fx)
        # Every pixel of a block is its block's first pixel.
        same = cells == cells[:, :1, :, :1]
        assert same.all(), f"{(~same).sum()} pixels outside their cell's block ({key})"


@pytest.mark.skipif(
    shutil.which("rsvg-convert") is None, reason="needs rsvg-convert (librsvg2-bin)"
)
@pytest.mark.parametrize(("key", "mode"), CASES)
def test_svg_cells_in_librsvg_sit_on_their_ticks_as_in_the_png(qapp, tmp_path, key, mode):
    """Rendered by librsvg at the file's own size, every boundary between two heatmap cells
    is within 1 px of the PNG export's and of the grid the ticks are centred in.

    Before the fix rnncell-4-2's columns ended at x = 182.1 and 324.1 (PNG: 178, 315) and
    its rows met at y = 289.2 (PNG: 282)."""
    svg = _export(key, mode, "gates-svg")
    png = _export(key, mode, "gates-png")
    (tmp_path / "g.svg").write_bytes(svg)
    subprocess.run(
        ["rsvg-convert", str(tmp_path / "g.svg"), "-o", str(tmp_path / "r.png")], check=True
    )
    drawn, ours = _rgb((tmp_path / "r.png").read_bytes()), _rgb(png)
    assert drawn.shape == ours.shape
    text = svg.decode()
    checked = 0
    for hm in _heatmaps(text):
        # The ticks are vector lines at the cells' centres (the image's own grid).
        ticks = _bottom_ticks(text, hm)
        for x in ticks:
            k = (x - hm.tx) / hm.sx - 0.5
            assert abs(k - round(k)) * hm.sx < 0.5, (key, x, k)
        c_svg, r_svg = _boundaries(drawn, hm, cursor_col=0)
        c_png, r_png = _boundaries(ours, hm, cursor_col=0)
        where = f"{key}, heatmap at ({hm.tx:.1f}, {hm.ty:.1f})"
        # Each boundary on the grid the ticks sit in, in librsvg's drawing and in the PNG.
        for cols, rows, name in ((c_svg, r_svg, "librsvg"), (c_png, r_png, "PNG")):
            assert not _off_grid(cols, hm.col_edge, hm.cols), (where, name, "columns", cols)
            assert not _off_grid(rows, hm.row_edge, hm.rows), (where, name, "rows", rows)
        # The same boundaries in both, where the colours show one.
        assert not _unmatched(c_png, c_svg) and not _unmatched(c_svg, c_png), (where, c_png, c_svg)
        assert not _unmatched(r_png, r_svg) and not _unmatched(r_svg, r_png), (where, r_png, r_svg)
        # Each tick with both of its column's boundaries found is midway between them.
        for x in ticks:
            left = [c for c, _ in c_svg if abs(x - hm.sx / 2 - c) <= TOL]
            right = [c for c, _ in c_svg if abs(x + hm.sx / 2 - c) <= TOL]
            if left and right:
                assert abs((left[0] + right[0]) / 2 - x) <= TOL, (where, x, left, right)
        checked += len(c_svg) + len(r_svg)
    assert checked, f"{key}: no cell boundary found to check"
