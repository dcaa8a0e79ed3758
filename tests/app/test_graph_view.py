"""The unrolled graph view, driven through the real widgets and the real trace runner."""

from __future__ import annotations

import pytest
from app_helpers import SMALL, drawn_fully, wait_traced
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QPainterPath
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsRectItem

from rnnviz.analysis.graph import build_graph, cell_id
from rnnviz.app.drawing.scene import COL, GraphScene
from rnnviz.app.views.graph_view import GraphView
from rnnviz.config.options import RunOptions
from rnnviz.config.spec import Spec
from rnnviz.document.snapshot import draw_fold


def _view(qtbot, state):
    view = GraphView(state)
    qtbot.addWidget(view)
    view.resize(1000, 600)
    view.show()
    qtbot.waitExposed(view)
    return view


def _retrace(qtbot, state, runner, **changes):
    with qtbot.waitSignal(state.sigSnapshotChanged, timeout=60_000):
        assert state.edit_spec(**changes)
    wait_traced(qtbot, runner)


def test_every_cell_is_drawn_with_shapes_on_the_edges(qtbot, traced):
    state, _ = traced
    view = _view(qtbot, state)
    scene = view.scene
    cells = [n for n in scene.node_items if n.startswith("cell_")]
    assert len(cells) == SMALL.num_layers * SMALL.num_directions * SMALL.seq_len
    texts = {text for _, text in scene.edge_labels}
    # LSTM state arrows carry h and c; layer 0 reads x of (batch, input_size).
    assert {"h (1, 6)", "c (1, 6)", "(1, 5)", "(1, 6)"} <= texts
    assert view.placeholder.isHidden() and not view.canvas.isHidden()


def test_hidden_size_edit_relabels_the_edges(qtbot, traced):
    state, runner = traced
    view = _view(qtbot, state)
    first = view.scene
    _retrace(qtbot, state, runner, hidden_size=9)
    # The same structure: relabelled in place (no new scene), and drawn as a new one would be.
    assert view.scene is first and view.scene.spec.hidden_size == 9
    texts = {text for _, text in view.scene.edge_labels}
    assert {"h (1, 9)", "c (1, 9)", "(1, 9)"} <= texts
    assert not any("6)" in t for t in texts)
    assert ("concat → 18" in {t for _, t in view.ruler.rows}) == view.scene.spec.bidirectional
    fresh = GraphScene(view.scene.graph, view.scene.spec)
    fresh.set_current(view.scene.current_t, view.scene.current_cell)
    assert drawn_fully(view.scene) == drawn_fully(fresh)
    # Another structure (a layer more) still gets a scene of its own.
    _retrace(qtbot, state, runner, num_layers=3)
    assert view.scene is not first


def test_same_graph_is_not_redrawn_for_a_new_seed(qtbot, traced):
    state, runner = traced
    view = _view(qtbot, state)
    first = view.scene
    with qtbot.waitSignal(state.sigSnapshotChanged, timeout=60_000):
        state.edit_options(seed=7)
    wait_traced(qtbot, runner)
    assert view.scene is first


def test_stepping_moves_the_timestep_band(qtbot, traced):
    state, _ = traced
    view = _view(qtbot, state)
    for t in (0, 3, 5):
        state.select(t=t)
        assert view.scene.current_t == t
        band = view.scene.cursor_rect()
        assert abs(band.center().x() - t * COL) < 1e-6


def test_clicking_a_cell_selects_it(qtbot, traced):
    state, _ = traced
    view = _view(qtbot, state)
    view.actual_size()
    node = view.scene.node_items[cell_id(1, "bwd", 4)]
    view.canvas.centerOn(node)
    pos = view.canvas.mapFromScene(node.scenePos())
    qtbot.mouseClick(view.canvas.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    sel = state.selection
    assert (sel.layer, sel.direction, sel.t) == (1, "bwd", 4)
    assert view.scene.current_cell == (1, "bwd") and view.scene.current_t == 4


def test_clicking_an_input_selects_its_timestep_only(qtbot, traced):
    state, _ = traced
    state.select(layer=1, direction="bwd")
    view = _view(qtbot, state)
    view.actual_size()
    node = view.scene.node_items["x3"]
    view.canvas.centerOn(node)
    qtbot.mouseClick(
        view.canvas.viewport(),
        Qt.MouseButton.LeftButton,
        pos=view.canvas.mapFromScene(node.scenePos()),
    )
    sel = state.selection
    assert (sel.layer, sel.direction, sel.t) == (1, "bwd", 3)


def test_a_drag_pans_and_does_not_select(qtbot, traced):
    state, _ = traced
    view = _view(qtbot, state)
    view.zoom_by(3.0)
    before = state.selection
    bar = view.canvas.horizontalScrollBar()
    start = bar.value()
    vp = view.canvas.viewport()
    centre = vp.rect().center()
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=centre)
    qtbot.mouseMove(vp, centre + QPoint(-150, 0))
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=centre + QPoint(-150, 0))
    assert bar.value() != start
    assert state.selection == before


def test_zoom_buttons_and_limits(qtbot, traced):
    state, _ = traced
    view = _view(qtbot, state)
    view.actual_size()
    assert view.zoom() == 1.0
    view.zoom_by(1.2)
    assert abs(view.zoom() - 1.2) < 1e-9
    for _ in range(50):
        view.zoom_by(0.5)
    assert abs(view.zoom() - 0.05) < 1e-9
    view.fit()
    assert 0.05 <= view.zoom() <= 1.0


def test_long_sequences_fold_around_the_selected_step(qtbot):
    from rnnviz.document.document import Document
    from rnnviz.document.snapshot import compute_snapshot

    spec = Spec("gru", 3, 4, 2, bidirectional=True, seq_len=100, batch_size=1)
    state = Document(spec, RunOptions())
    view = _view(qtbot, state)
    assert view.scene is None and not view.placeholder.isHidden()
    state.set_snapshot(compute_snapshot(spec, RunOptions()))
    scene = view.scene
    assert draw_fold(spec) is not None
    cells = [n for n in scene.node_items if n.startswith("cell_")]
    assert len(cells) == 2 * 2 * 2 * draw_fold(spec)
    assert "folded" in view.caption.text()
    state.select(t=50)
    # The selected step is never hidden in a fold: the graph is redrawn folded around it.
    scene = view.scene
    assert scene.current_t == 50 and 50 in scene.column_of
    assert scene._band_text.text() == "t = 50"
    assert {48, 49, 50, 51, 52} <= set(scene.column_of)
    folds = [a for _, a in scene.graph.nodes(data=True) if a["kind"] == "fold"]
    assert {a["folded"] for a in folds} == {50 - 2 - draw_fold(spec), 100 - 53 - draw_fold(spec)}
    assert scene.graph.has_node(cell_id(1, "bwd", 50))
    assert abs(scene.cursor_rect().center().x() - scene.column_of[50] * COL) < 1e-6
    state.select(t=99)
    assert abs(view.scene.cursor_rect().center().x() - view.scene.column_of[99] * COL) < 1e-6


def test_scene_stands_alone_with_title_and_legend(qapp):
    spec = Spec("rnn", 4, 2, 1, seq_len=3, batch_size=1, nonlinearity="relu")
    scene = GraphScene(build_graph(spec), spec, title=True, legend=True)
    texts = [item.text() for item in scene.items() if hasattr(item, "text")]
    assert any(spec.title() in t for t in texts)
    assert any("forward cell" in t for t in texts)
    assert not any("backward cell" in t for t in texts)  # unidirectional: no bwd legend
    assert scene.node_at(scene.node_items["y2"]) == dict(scene.graph.nodes["y2"])


def test_title_counts_steps_in_words(qapp):
    """ "unrolled over 1 steps" and "called 1 times" read wrong in an exported diagram."""
    for steps, phrase in ((1, "unrolled over 1 step —"), (3, "unrolled over 3 steps —")):
        spec = Spec("rnn", 4, 2, 1, seq_len=steps, batch_size=1)
        scene = GraphScene(build_graph(spec), spec, title=True)
        texts = [item.text() for item in scene.items() if hasattr(item, "text")]
        assert any(phrase in t for t in texts), texts
    from rnnviz.app.drawing.legend import _times

    assert [_times(n) for n in (1, 2, 3)] == ["once", "twice", "3 times"]


def test_every_node_text_fits_its_box(qapp):
    """A batch's token texts and "RNNCell t=0" ran past their fixed-size boxes. Boxes now
    widen to their text up to a column, longer texts are cut in the middle, and the whole
    text leads the tooltip."""
    from rnnviz.config.api import CELL

    spec = Spec("rnn", 4, 2, 1, seq_len=12, batch_size=1)
    graph = build_graph(spec, api=CELL)
    long_text = "'the | everybody | the | a | dog | read | that | book'"
    graph.nodes["x3"]["label"] = long_text
    scene = GraphScene(graph, spec)
    for node, box in scene.node_items.items():
        label = scene._labels[node]
        inner = box.path().boundingRect()
        assert label.boundingRect().width() <= inner.width() - 8, (node, label.text())
    cut = scene._labels["x3"].text()
    assert cut != long_text and "…" in cut and cut[:3] == long_text[:3]
    assert scene.node_items["x3"].toolTip().startswith(long_text)
    cell_widths = {
        round(scene.node_items[n].path().boundingRect().width())
        for n, a in graph.nodes(data=True)
        if a["kind"] == "cell"
    }
    assert len(cell_widths) == 1  # an even row, sized for "RNNCell t=11"


def test_exported_legend_names_only_what_the_diagram_has(qapp):
    """An RNN's or a Cell loop's diagram said "h0/c0 in, h_n/c_n out" and "LSTM state arrows
    carry h and c", and every export named a "current timestep" band it did not draw."""
    from rnnviz.app.drawing.render import graph_scene, render_graph
    from rnnviz.config.api import CELL

    def texts(scene) -> str:
        return " | ".join(item.text() for item in scene.items() if hasattr(item, "text"))

    rnn = Spec("rnn", 4, 2, 1, seq_len=3, batch_size=1)
    plain = texts(graph_scene(build_graph(rnn), rnn))
    assert "h0 in, h_n out" in plain and "c0" not in plain and "c (below)" not in plain
    assert "current timestep" not in plain
    cell = texts(graph_scene(build_graph(rnn, api=CELL), rnn))
    assert "hx in" in cell and "h_t: what each call returns" in cell and "h_n" not in cell
    lstm = Spec("lstm", 4, 3, 2, bidirectional=True, seq_len=4, batch_size=1)
    scene = graph_scene(build_graph(lstm), lstm, timestep=2)
    text = texts(scene)
    assert "h0/c0 in, h_n/c_n out" in text and "c (below)" in text and "current timestep" in text
    band = scene._band.sceneBoundingRect()
    for node, attrs in scene.graph.nodes(data=True):
        if attrs["kind"] == "cell" and attrs["t"] == 2:
            box = scene.node_items[node].sceneBoundingRect()
            assert band.left() <= box.left() and box.right() <= band.right(), node
    svg = render_graph(Spec("rnn", 4, 2, 1, seq_len=1, batch_size=1), "svg").decode()
    assert "over 1 step<" in svg and "1 steps" not in svg


def test_relabelled_steps_still_fit_their_boxes(qapp):
    """Stepping a folded graph renames its items in place; "h_t[1500]" then sat in the box
    "h_t[9]" had. Relabelling now refuses (changing nothing) when a text needs another box,
    so the view builds a new scene, and every label fits either way."""
    from rnnviz.config.api import CELL

    spec = Spec("rnn", 4, 2, 1, seq_len=2000, batch_size=1)
    scene = GraphScene(build_graph(spec, fold=3, focus=9, api=CELL), spec)
    before = set(scene.node_items)
    far = build_graph(spec, fold=3, focus=1500, api=CELL)
    if not scene.relabel(far):
        assert set(scene.node_items) == before  # refused: nothing changed
        scene = GraphScene(far, spec)
    near = build_graph(spec, fold=3, focus=1501, api=CELL)
    for s in (scene, GraphScene(near, spec)):
        for node, box in s.node_items.items():
            inner = box.path().boundingRect()
            assert s._labels[node].boundingRect().width() <= inner.width() - 8, node
    assert scene.relabel(near)  # same digits: renamed in place
    for node, box in scene.node_items.items():
        inner = box.path().boundingRect()
        assert scene._labels[node].boundingRect().width() <= inner.width() - 8, node


@pytest.mark.parametrize(
    "spec",
    [
        Spec("lstm", 28, 128, 1, seq_len=4, batch_size=1),  # "h (1, 128)" fills the gap
        Spec("lstm", 5, 6, 2, bidirectional=True, seq_len=3, batch_size=1),
        Spec("gru", 300, 1024, 1, seq_len=3, batch_size=64),
    ],
    ids=["lstm-28-128", "bilstm", "wide"],
)
def test_no_edge_label_covers_an_arrowhead(qapp, spec):
    scene = GraphScene(build_graph(spec), spec)
    heads = []
    for item in scene.items():
        if isinstance(item, QGraphicsPathItem) and item.zValue() == 1:
            path: QPainterPath = item.path()
            n = path.elementCount()
            # _arrow_path: the line (2 elements), then the head polygon b, left, right, b.
            pts = [path.elementAt(i) for i in range(n - 4, n - 1)]
            xs, ys = [p.x for p in pts], [p.y for p in pts]
            heads.append((min(xs), min(ys), max(xs), max(ys)))
    labels = [
        item.sceneBoundingRect()
        for item in scene.items()
        if isinstance(item, QGraphicsRectItem) and item.zValue() == 3
    ]
    assert heads and labels
    for r in labels:
        for x0, y0, x1, y1 in heads:
            inside_x = r.left() < x1 - 0.5 and r.right() > x0 + 0.5
            inside_y = r.top() < y1 - 0.5 and r.bottom() > y0 + 0.5
            assert not (inside_x and inside_y), (r, (x0, y0, x1, y1))
