"""Exports opened by other programs: the gate SVG in librsvg against the PNG export, the DOT
file in graphviz (dot and neato -n)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtGui import QImage  # noqa: E402

import rnnviz.app.drawing.render  # noqa: E402, F401  (registers the drawn formats)
from rnnviz.analysis.graph import build_graph  # noqa: E402
from rnnviz.config.presets import preset  # noqa: E402
from rnnviz.config.spec import Spec  # noqa: E402
from rnnviz.document.snapshot import compute_snapshot  # noqa: E402
from rnnviz.io.export import export_bytes  # noqa: E402

pytestmark = pytest.mark.gui


def _rgb(path) -> np.ndarray:
    img = QImage(str(path)).convertToFormat(QImage.Format.Format_RGB888)
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    raw = np.frombuffer(bytes(img.constBits()), dtype=np.uint8).reshape(h, bpl)
    return raw[:, : w * 3].reshape(h, w, 3).astype(int)


@pytest.mark.skipif(shutil.which("rsvg-convert") is None, reason="needs librsvg2-bin")
@pytest.mark.parametrize("key", ["relu-explode", "bilstm-2"])
def test_gates_svg_in_librsvg_matches_the_png_export(qapp, tmp_path, key):
    p = preset(key)
    snap = compute_snapshot(p.spec, p.options)
    svg = export_bytes(p.spec, "gates-svg", snapshot=snap, timestep=2)
    png = export_bytes(p.spec, "gates-png", snapshot=snap, timestep=2)
    assert b"non-scaling-stroke" not in svg  # librsvg would scale these strokes into bands
    (tmp_path / "g.svg").write_bytes(svg)
    (tmp_path / "g.png").write_bytes(png)
    subprocess.run(
        ["rsvg-convert", str(tmp_path / "g.svg"), "-o", str(tmp_path / "r.png")], check=True
    )
    ours, theirs = _rgb(tmp_path / "g.png"), _rgb(tmp_path / "r.png")
    assert ours.shape == theirs.shape
    # Renderers differ by a pixel at cell edges and in text antialiasing; compare 4×4 block
    # means so only that slack is forgiven: 95 % of blocks agree within 30 levels (a blurred
    # or banded heatmap fails this), and no black band appears where the PNG has none.
    h, w = (ours.shape[0] // 4) * 4, (ours.shape[1] // 4) * 4

    def blocks(a: np.ndarray) -> np.ndarray:
        return a[:h, :w].reshape(h // 4, 4, w // 4, 4, 3).mean(axis=(1, 3))

    diff = np.abs(blocks(ours) - blocks(theirs)).max(axis=2)
    assert (diff <= 30).mean() > 0.95, (diff <= 30).mean()
    black_theirs = (theirs.max(axis=2) < 40).sum()
    black_ours = (ours.max(axis=2) < 40).sum()
    assert black_theirs <= black_ours * 1.3 + 500, (black_theirs, black_ours)
    # The scale in the titles is one run of text, not split across a gap
    texts = re.findall(r">([^<]*)</text>", svg.decode())
    scale_runs = [t for t in texts if "e+38" in t or "±" in t]
    if key == "relu-explode":
        assert any("±3.21e+38" in t for t in scale_runs), scale_runs


def _dot(tmp_path, args: list[str]) -> str:
    return subprocess.run(
        args + [str(tmp_path / "g.dot")], check=True, capture_output=True, text=True
    ).stdout


def _plain_positions(plain: str) -> dict[str, tuple[float, float]]:
    """Node centres (inches, y up) from `dot -Tplain` output."""
    pos = {}
    for line in plain.splitlines():
        parts = line.split()
        if parts and parts[0] == "node":
            pos[parts[1].strip('"')] = (float(parts[2]), float(parts[3]))
    return pos


GRID_SPECS = {
    "bilstm-2": preset("bilstm-2").spec,
    "gru-3bi": Spec("gru", 5, 6, 3, bidirectional=True, seq_len=5, batch_size=1),
    "gru-2-folded": Spec("gru", 3, 4, 2, seq_len=40, batch_size=1),
}


@pytest.mark.skipif(shutil.which("dot") is None, reason="needs graphviz")
@pytest.mark.parametrize("key", list(GRID_SPECS))
def test_dot_lays_out_the_grid_with_shapes_on_the_edges(tmp_path, key):
    spec = GRID_SPECS[key]
    fold = 3 if key.endswith("folded") else None
    (tmp_path / "g.dot").write_bytes(export_bytes(spec, "dot", fold=fold))
    proc = subprocess.run(
        ["dot", "-Tplain", str(tmp_path / "g.dot")], capture_output=True, text=True, check=True
    )
    assert proc.stderr == "", proc.stderr  # no warnings (e.g. spline routing) either
    pos = _plain_positions(proc.stdout)
    graph = build_graph(spec, fold=fold)
    assert set(pos) == set(graph.nodes)
    cols: dict[float, list[str]] = {}
    rows: dict[float, list[str]] = {}
    for n, d in graph.nodes(data=True):
        cols.setdefault(d["x"], []).append(n)
        rows.setdefault(d["y"], []).append(n)
    # Every column (a time step, the fold, the h0/h_n columns) on one x; every row on one y.
    tol = 0.05  # inches
    col_x = []
    for x, members in sorted(cols.items()):
        xs = [pos[n][0] for n in members]
        assert max(xs) - min(xs) <= tol, (x, {n: pos[n][0] for n in members})
        col_x.append(sum(xs) / len(xs))
    row_y = []
    for y, members in sorted(rows.items()):
        ys = [pos[n][1] for n in members]
        assert max(ys) - min(ys) <= tol, (y, {n: pos[n][1] for n in members})
        row_y.append(sum(ys) / len(ys))
    # Time runs left to right; rows rise from the inputs through each layer to the outputs.
    assert all(b - a > 0.5 for a, b in zip(col_x, col_x[1:])), col_x
    assert all(b - a > 0.3 for a, b in zip(row_y, row_y[1:])), row_y
    if spec.bidirectional:  # bwd t0 sits above fwd t0, in t0's column
        f, b = pos["cell_l0_fwd_t0"], pos["cell_l0_bwd_t0"]
        assert abs(f[0] - b[0]) <= tol and b[1] > f[1]
        assert pos["h0_l0_fwd"][0] < f[0] < pos["hn_l0_fwd"][0]
        assert pos["hn_l0_bwd"][0] < b[0] < pos["h0_l0_bwd"][0]
    svg = subprocess.run(
        ["dot", "-Tsvg", str(tmp_path / "g.dot")], capture_output=True, text=True, check=True
    ).stdout
    labels = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    shown = [t for t in labels if t.startswith(("(", "h (", "c ("))]
    # Every edge's shape is drawn (an h+c edge as two lines).
    want = sum(2 if "+" in d["shape"] else 1 for _, _, d in graph.edges(data=True))
    assert len(shown) == want, (len(shown), want)
    if spec.bidirectional:
        assert labels.count("(1, 12)") == spec.seq_len * (spec.num_layers - 1) * 2 + spec.seq_len
    assert 'font-family="DejaVu Sans' in svg


@pytest.mark.skipif(shutil.which("neato") is None, reason="needs graphviz")
def test_neato_n_keeps_our_layout(tmp_path):
    spec = preset("bilstm-2").spec
    (tmp_path / "g.dot").write_bytes(export_bytes(spec, "dot"))
    plain = _dot(tmp_path, ["neato", "-n", "-Tplain"])
    pos = {}
    for line in plain.splitlines():
        parts = line.split()
        if parts[0] == "node":
            pos[parts[1].strip('"')] = (float(parts[2]), float(parts[3]))
    # Columns 160 pt apart (2.22 in), forward left of backward: no collapse, no overlap.
    x0, x1 = pos["cell_l0_fwd_t0"][0], pos["cell_l0_fwd_t1"][0]
    assert abs((x1 - x0) - 160 / 72) < 0.01
    assert pos["cell_l0_bwd_t0"][0] > pos["cell_l0_fwd_t0"][0]
    assert len({(round(x, 2), round(y, 2)) for x, y in pos.values()}) == len(pos)
