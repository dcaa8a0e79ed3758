"""The unrolled graph: node and edge counts, attributes, folding and a deterministic layout."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_trace_reference import specs

from rnnviz.analysis.graph import build_graph, cell_id, kept_steps
from rnnviz.config.spec import Spec


def _kinds(g) -> dict[str, int]:
    out: dict[str, int] = {}
    for _, k in g.nodes(data="kind"):
        out[k] = out.get(k, 0) + 1
    return out


@given(specs())
def test_counts_and_attributes(spec):
    g = build_graph(spec)
    L, D, T = spec.num_layers, spec.num_directions, spec.seq_len
    assert _kinds(g) == {"input": T, "output": T, "cell": L * D * T, "h0": L * D, "h_n": L * D}
    edges = D * T + (L - 1) * D * D * T + L * D * (T - 1 + 2) + D * T
    assert g.number_of_edges() == edges
    lstm = spec.cell == "lstm"
    for a, b, data in g.edges(data=True):
        assert data["flow"] in ("x", "h", "h+c", "y"), (a, b)
        assert data["shape"].startswith(("(", "h (")), (a, b)
        if data["flow"] == "x":
            assert data["shape"] == f"({spec.batch_size}, {spec.input_size})"
        if data["flow"] == "h+c":
            assert lstm and f"c ({spec.batch_size}, {spec.hidden_size})" in data["shape"]
    for n, data in g.nodes(data=True):
        assert isinstance(data["x"], float) and isinstance(data["y"], float) and data["label"]
        if data["kind"] == "cell":
            assert n == cell_id(data["layer"], data["direction"], data["t"])
            assert data["x"] == data["t"]
            assert data["y"] == 1 + data["layer"] * D + spec.directions.index(data["direction"])
        if data["kind"] in ("h0", "h_n"):
            assert data["index"] == data["layer"] * D + spec.directions.index(data["direction"])
    # One node per grid position.
    positions = [(d["x"], d["y"]) for _, d in g.nodes(data=True)]
    assert len(positions) == len(set(positions))
    # Inputs at the bottom, outputs on top, cells in between.
    ys = {k: {d["y"] for _, d in g.nodes(data=True) if d["kind"] == k} for k in ("input", "output")}
    assert ys["input"] == {0.0} and ys["output"] == {float(L * D + 1)}


def test_backward_recurrence_runs_right_to_left():
    g = build_graph(Spec("gru", 2, 3, bidirectional=True, seq_len=4))
    assert g.has_edge(cell_id(0, "fwd", 0), cell_id(0, "fwd", 1))
    assert g.has_edge(cell_id(0, "bwd", 1), cell_id(0, "bwd", 0))
    assert not g.has_edge(cell_id(0, "bwd", 0), cell_id(0, "bwd", 1))
    assert g.has_edge("h0_l0_bwd", cell_id(0, "bwd", 3))
    assert g.has_edge(cell_id(0, "bwd", 0), "hn_l0_bwd")
    assert g.nodes["h0_l0_bwd"]["x"] > g.nodes[cell_id(0, "bwd", 3)]["x"]


def test_upper_layer_reads_both_directions():
    g = build_graph(Spec("lstm", 2, 3, num_layers=2, bidirectional=True, seq_len=2))
    preds = set(g.predecessors(cell_id(1, "bwd", 1)))
    assert {cell_id(0, "fwd", 1), cell_id(0, "bwd", 1)} <= preds
    assert g.edges[cell_id(0, "fwd", 1), cell_id(1, "bwd", 1)]["shape"] == "(1, 3)"


@pytest.mark.parametrize("fold", [1, 2, 4])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_folding_keeps_2k_steps_and_markers(fold, bidirectional):
    spec = Spec("lstm", 2, 3, num_layers=2, bidirectional=bidirectional, seq_len=50)
    g = build_graph(spec, fold=fold)
    rows = spec.num_layers * spec.num_directions
    kinds = _kinds(g)
    assert kinds["input"] == kinds["output"] == 2 * fold
    assert kinds["cell"] == rows * 2 * fold
    assert kinds["fold"] == rows + 2  # one per row, plus inputs and outputs
    assert g.graph["folded"] == 50 - 2 * fold
    for _, d in g.nodes(data=True):
        if d["kind"] == "fold":
            assert d["folded"] == 50 - 2 * fold and str(50 - 2 * fold) in d["label"]
            assert d["x"] == float(fold)  # the gap column
    kept = {d["t"] for _, d in g.nodes(data=True) if d["kind"] == "cell"}
    assert kept == set(range(fold)) | set(range(50 - fold, 50))
    # The recurrence passes through the marker.
    assert g.has_edge(cell_id(0, "fwd", fold - 1), "fold_l0_fwd")
    assert g.has_edge("fold_l0_fwd", cell_id(0, "fwd", 50 - fold))
    for _, _, data in g.edges(data=True):
        assert "flow" in data and "shape" in data


def test_kept_steps():
    assert kept_steps(10, None) == list(range(10))
    assert kept_steps(9, 4) == list(range(9))  # nothing worth folding
    assert kept_steps(10, 4) == [0, 1, 2, 3, None, 6, 7, 8, 9]
    assert kept_steps(5, 0) == list(range(5))


@given(specs(), st.sampled_from([None, 1, 2]))
def test_layout_is_deterministic(spec, fold):
    a, b = build_graph(spec, fold=fold), build_graph(spec, fold=fold)
    assert list(a.nodes(data=True)) == list(b.nodes(data=True))
    assert list(a.edges(data=True)) == list(b.edges(data=True))
    assert a.graph == b.graph
    assert Spec.from_json(a.graph["spec"]) == spec
