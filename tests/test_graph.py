"""The unrolled graph: node and edge counts, attributes, folding and a deterministic layout."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_trace_reference import specs

from rnnviz.analysis.graph import build_graph, cell_id, concat_id, kept_steps
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
    bi = D == 2
    kinds = {"input": T, "output": T, "cell": L * D * T, "h0": L * D, "h_n": L * D}
    if bi:  # one concat of the two directions per layer and step
        kinds["concat"] = L * T
    assert _kinds(g) == kinds
    # inputs, upper layers' inputs, recurrence with h0/h_n, concat inputs, outputs
    edges = D * T + (L - 1) * D * T + L * D * (T + 1) + (2 * L * T if bi else 0) + T
    assert g.number_of_edges() == edges
    lstm = spec.cell == "lstm"
    b, hout = spec.batch_size, spec.out_hidden
    for a, z, data in g.edges(data=True):
        assert data["flow"] in ("x", "h", "h+c", "cat", "y"), (a, z)
        # What torch feeds the next layer and returns as output: (batch, D·H_out).
        if data["flow"] in ("cat", "y"):
            assert data["shape"] == f"({b}, {D * hout})", (a, z)
        assert data["shape"].startswith(("(", "h (")), (a, z)
        if data["flow"] == "x":
            assert data["shape"] == f"({spec.batch_size}, {spec.input_size})"
        if data["flow"] == "h+c":
            assert lstm and f"c ({spec.batch_size}, {spec.hidden_size})" in data["shape"]
    for n, data in g.nodes(data=True):
        assert isinstance(data["x"], float) and isinstance(data["y"], float) and data["label"]
        if data["kind"] == "cell":
            assert n == cell_id(data["layer"], data["direction"], data["t"])
            assert data["x"] == data["t"]
            d = spec.directions.index(data["direction"])
            assert data["y"] == g.nodes[f"h0_l{data['layer']}_{data['direction']}"]["y"]
            if data["layer"] or d:  # rows rise with layer, then direction
                prev = (data["layer"], d - 1) if d else (data["layer"] - 1, D - 1)
                assert data["y"] > g.nodes[cell_id(prev[0], spec.directions[prev[1]], 0)]["y"]
        if data["kind"] in ("h0", "h_n"):
            idx = data["layer"] * D + spec.directions.index(data["direction"])
            assert data["index"] == idx
            # every slice is indexed, c too: "h0[2] c0[2]"
            kind = data["kind"].replace("_", "")
            assert data["label"].startswith(f"{data['kind']}[{idx}]")
            if lstm:
                c = "c0" if kind == "h0" else "c_n"
                assert data["label"].endswith(f"{c}[{idx}]")
    # One node per grid position.
    positions = [(d["x"], d["y"]) for _, d in g.nodes(data=True)]
    assert len(positions) == len(set(positions))
    # Inputs at the bottom, outputs on top, cells in between.
    ys = {k: {d["y"] for _, d in g.nodes(data=True) if d["kind"] == k} for k in ("input", "output")}
    top_cell = max(d["y"] for _, d in g.nodes(data=True) if d["kind"] == "cell")
    assert ys["input"] == {0.0} and len(ys["output"]) == 1 and min(ys["output"]) > top_cell


def test_backward_recurrence_runs_right_to_left():
    g = build_graph(Spec("gru", 2, 3, bidirectional=True, seq_len=4))
    assert g.has_edge(cell_id(0, "fwd", 0), cell_id(0, "fwd", 1))
    assert g.has_edge(cell_id(0, "bwd", 1), cell_id(0, "bwd", 0))
    assert not g.has_edge(cell_id(0, "bwd", 0), cell_id(0, "bwd", 1))
    assert g.has_edge("h0_l0_bwd", cell_id(0, "bwd", 3))
    assert g.has_edge(cell_id(0, "bwd", 0), "hn_l0_bwd")
    assert g.nodes["h0_l0_bwd"]["x"] > g.nodes[cell_id(0, "bwd", 3)]["x"]


def test_upper_layer_reads_the_concat_of_both_directions():
    g = build_graph(Spec("lstm", 2, 3, num_layers=2, bidirectional=True, seq_len=2))
    cat = concat_id(0, 1)
    assert set(g.predecessors(cat)) == {cell_id(0, "fwd", 1), cell_id(0, "bwd", 1)}
    assert g.edges[cell_id(0, "fwd", 1), cat]["shape"] == "(1, 3)"
    # torch feeds layer 1 one (1, 6) tensor, not two (1, 3) ones
    for d in ("fwd", "bwd"):
        assert set(g.predecessors(cell_id(1, d, 1))) - {cell_id(1, d, 0), cell_id(1, d, 1)} <= {
            cat,
            f"h0_l1_{d}",
        }
        assert g.edges[cat, cell_id(1, d, 1)]["shape"] == "(1, 6)"
    assert g.edges[concat_id(1, 0), "y0"]["shape"] == "(1, 6)"
    assert g.nodes["h0_l1_bwd"]["label"] == "h0[3] c0[3]"


def test_fold_splits_around_the_focus():
    assert kept_steps(200, 4, 60) == [
        0,
        1,
        2,
        3,
        None,
        58,
        59,
        60,
        61,
        62,
        None,
        196,
        197,
        198,
        199,
    ]
    assert kept_steps(200, 4, 1) == [0, 1, 2, 3, None, 196, 197, 198, 199]
    assert kept_steps(20, 4, 6) == [*range(9), None, 16, 17, 18, 19]  # one hidden step: drawn
    spec = Spec("gru", 2, 3, num_layers=3, bidirectional=True, seq_len=200)
    g = build_graph(spec, fold=4, focus=60)
    assert all(g.has_node(cell_id(layer, d, 60)) for layer in range(3) for d in ("fwd", "bwd"))
    folds = {n: a["folded"] for n, a in g.nodes(data=True) if a["kind"] == "fold"}
    assert folds["fold_x"] == 54 and folds["fold_x_2"] == 133
    assert g.graph["folded"] == 54 + 133
    # recurrence runs through both markers, in each direction's time order
    assert g.has_edge(cell_id(0, "fwd", 3), "fold_l0_fwd")
    assert g.has_edge("fold_l0_fwd", cell_id(0, "fwd", 58))
    assert g.has_edge(cell_id(0, "bwd", 196), "fold_l0_bwd_2")
    assert g.has_edge("fold_l0_bwd_2", cell_id(0, "bwd", 62))


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
