"""The graph of a text epoch: tokens, Embedding/one-hot, Linear head and predictions around
the unrolled RNN, with shapes on every edge — in the graph, its data exports and its drawing."""

from __future__ import annotations

import json
import shutil
import subprocess

import networkx as nx
import numpy as np
import pytest
from app_helpers import epoch_snapshot
from PySide6.QtGui import QImage

from rnnviz.io.export import export_bytes


def test_embedding_graph_structure_and_data_exports():
    run, snap = epoch_snapshot("hello-ohlol-embedding", 15)
    g = snap.graph
    for t, tok in enumerate("hello"):
        assert g.nodes[f"tok{t}"]["label"] == f"'{tok}'"
        assert g.edges[f"tok{t}", f"enc{t}"]["shape"] == "(1,)"
        assert g.edges[f"enc{t}", f"x{t}"]["shape"] == "(1, 10)"
        assert g.edges[f"y{t}", f"head{t}"]["shape"] == "(1, 8)"
        assert g.edges[f"head{t}", f"pred{t}"]["shape"] == "(1, 4)"
        assert g.nodes[f"pred{t}"]["target"] == "ohlol"[t]
    assert (
        "".join(g.nodes[f"pred{t}"]["predicted"] for t in range(5)) == run.epochs[14].predicted[0]
    )
    # Every edge carries a shape.
    assert all(d.get("shape") for _, _, d in g.edges(data=True))
    # The data exports of the text snapshot carry the same nodes.
    dot = export_bytes(snap.spec, "dot", snapshot=snap).decode()
    assert "Embedding(4, 10)" in dot and "Linear(8, 4)" in dot and '"tok0"' in dot
    back = nx.node_link_graph(json.loads(export_bytes(snap.spec, "json", snapshot=snap)))
    assert back.nodes["pred4"]["kind"] == "pred"
    graphml = export_bytes(snap.spec, "graphml", snapshot=snap).decode()
    assert "head0" in graphml
    # A random-input export of the same spec has none of them.
    assert "Embedding" not in export_bytes(snap.spec, "dot").decode()
    if shutil.which("dot"):
        svg = subprocess.run(["dot", "-Tsvg"], input=dot, capture_output=True, text=True)
        assert svg.returncode == 0 and "Linear(8, 4)" in svg.stdout


def test_one_hot_cell_graph_has_no_head():
    _, snap = epoch_snapshot("hello-ohlol-cell", 1)
    g = snap.graph
    assert g.nodes["enc0"]["label"] == "one_hot(4)"
    assert g.edges["enc0", "x0"]["shape"] == "(1, 4)"
    assert not any(k == "head" for _, k in g.nodes(data="kind"))
    assert g.edges["y0", "pred0"]["shape"] == "(1, 4)"  # the cell's h is the logits


@pytest.mark.skipif(shutil.which("rsvg-convert") is None, reason="needs rsvg-convert")
def test_drawn_svg_of_a_text_epoch_renders(qapp, tmp_path):
    import rnnviz.app.drawing.render  # noqa: F401 - registers the drawn formats

    _, snap = epoch_snapshot("hello-ohlol-embedding", 15)
    svg = export_bytes(snap.spec, "svg", snapshot=snap, timestep=2)
    text = svg.decode()
    for label in ("Embedding(4, 10)", "Linear(8, 4)", "tokens", "predicted", "(1, 10)"):
        assert label in text, label
    path = tmp_path / "g.svg"
    path.write_bytes(svg)
    png = tmp_path / "g.png"
    subprocess.run(["rsvg-convert", str(path), "-o", str(png)], check=True)
    img = QImage(str(png))
    assert img.width() > 600 and img.height() > 600
    # Pixels of the head's pink fill (#fce7f3) are drawn.
    arr = np.array(
        [
            [img.pixelColor(x, y).name() for x in range(0, img.width(), 3)]
            for y in range(0, img.height(), 3)
        ]
    )
    assert (arr == "#fce7f3").sum() > 50
