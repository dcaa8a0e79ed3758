"""rnnviz.analysis.shapes against real torch modules: every shape, every parameter, every count."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from test_trace_reference import make_x_hx, specs

from rnnviz.analysis.shapes import parameter_inventory, shapes
from rnnviz.config.spec import Spec


def _torch_shapes(spec: Spec, module: torch.nn.Module, with_state: bool) -> dict:
    x, hx = make_x_hx(spec, 0, with_state)
    with torch.no_grad():
        out, state = module(x, hx) if hx is not None else module(x)
    got = {"input": tuple(x.shape), "output": tuple(out.shape)}
    if spec.cell == "lstm":
        got["h_n"], got["c_n"] = tuple(state[0].shape), tuple(state[1].shape)
    else:
        got["h_n"], got["c_n"] = tuple(state.shape), None
    return got


@pytest.mark.filterwarnings("ignore::UserWarning")
@settings(max_examples=80)
@given(specs(), st.booleans())
def test_report_matches_torch(spec, with_state):
    module = spec.build(0)
    report = shapes(spec)
    got = _torch_shapes(spec, module, with_state)
    for k, v in got.items():
        assert report.tensors[k] == v, k
    # h0/c0 are what torch accepts (it would raise on a wrong shape).
    assert report.tensors["h0"] == report.tensors["h_n"]
    assert report.tensors["c0"] == report.tensors["c_n"]
    if with_state:
        x, hx = make_x_hx(spec, 1, True)
        h0 = hx[0] if spec.cell == "lstm" else hx
        assert tuple(h0.shape) == report.tensors["h0"]

    # Parameter inventory == named_parameters(): names, shapes, order.
    named = [(n, tuple(p.shape)) for n, p in module.named_parameters()]
    assert [(p.name, p.shape) for p in report.parameters] == named
    assert report.total_parameters == sum(p.numel() for p in module.parameters())
    assert sum(report.layer_totals) == report.total_parameters
    assert sum(report.gate_totals.values()) == report.total_parameters
    for p in report.parameters:
        assert p.count == torch.Size(p.shape).numel()
        assert p.name.endswith(f"_l{p.layer}" + ("_reverse" if p.direction == "bwd" else ""))
        # Gate slices tile the rows exactly, in order, and split the count.
        start = 0
        for gs in p.gates:
            assert gs.rows[0] == start
            start = gs.rows[1]
            assert gs.shape == (gs.rows[1] - gs.rows[0], *p.shape[1:])
            assert gs.count == torch.Size(gs.shape).numel()
        assert start == p.shape[0]
        assert sum(gs.count for gs in p.gates) == p.count
        want = {"lstm": ["i", "f", "g", "o"], "gru": ["r", "z", "n"], "rnn": ["a"]}[spec.cell]
        assert [gs.gate for gs in p.gates] == (["proj"] if p.kind == "weight_hr" else want)
    # h_n slice labels follow torch's layer-major order.
    assert [(s.layer, s.direction) for s in report.hn_slices] == [
        (layer, d) for layer in range(spec.num_layers) for d in spec.directions
    ]
    assert [s.index for s in report.hn_slices] == list(range(len(report.hn_slices)))
    # MACs: gates × H × (I + H_out) (+ H × proj) per layer, direction, step and batch row.
    per = sum(
        spec.gate_count * spec.hidden_size * (spec.layer_input_size(k) + spec.out_hidden)
        + spec.hidden_size * spec.proj_size
        for k in range(spec.num_layers)
    )
    assert report.macs == per * spec.num_directions * spec.seq_len * spec.batch_size
    d = report.to_dict()
    assert d["total_parameters"] == report.total_parameters
    assert d["tensors"]["h_n"] == list(report.tensors["h_n"])


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_tutorial_5_6_2_shapes(cell):
    r = shapes(Spec(cell, 5, 6, 2, seq_len=1, batch_size=3))
    assert r.tensors["input"] == (1, 3, 5)
    assert r.tensors["output"] == (1, 3, 6)
    assert r.tensors["h_n"] == r.tensors["h0"] == (2, 3, 6)
    assert r.tensors["c_n"] == ((2, 3, 6) if cell == "lstm" else None)


def test_keras_count_tutorial_lstm_28_128():
    r = shapes(Spec("lstm", 28, 128, seq_len=28))
    assert r.keras_parameters == 80_384  # (128 + 28) × (128 × 4) + 4 × 128
    assert r.total_parameters == 80_896  # + the second bias vector, 4 × 128
    assert "80,384" in r.keras_formula and "80,896" in r.torch_formula


def test_keras_counts_by_cell():
    gru = shapes(Spec("gru", 28, 128))
    assert gru.keras_parameters == gru.total_parameters  # reset_after=True keeps two biases
    rnn = shapes(Spec("rnn", 28, 128, num_layers=2, bidirectional=True))
    assert rnn.total_parameters - rnn.keras_parameters == 2 * 2 * 128
    assert shapes(Spec("lstm", 28, 128, proj_size=64)).keras_parameters is None
    for cell in ("rnn", "lstm", "gru"):
        r = shapes(Spec(cell, 7, 9, bias=False))
        assert r.keras_parameters == r.total_parameters


def test_batch_first_moves_only_input_and_output():
    r = shapes(
        Spec(
            "gru", 3, 4, num_layers=2, bidirectional=True, batch_first=True, seq_len=5, batch_size=2
        )
    )
    assert r.tensors["input"] == (2, 5, 3)
    assert r.tensors["output"] == (2, 5, 8)
    assert r.tensors["h_n"] == (4, 2, 4)
    assert any("output[:, -1, :4]" in s for s in r.identities)
    assert any("output[:, 0, 4:]" in s for s in r.identities)


def test_proj_size_shapes():
    r = shapes(Spec("lstm", 3, 6, num_layers=2, proj_size=2, bidirectional=True))
    assert r.tensors["h_n"] == (4, 1, 2) and r.tensors["c_n"] == (4, 1, 6)
    names = [p.name for p in r.parameters if p.kind == "weight_hr"]
    assert names == ["weight_hr_l0", "weight_hr_l0_reverse", "weight_hr_l1", "weight_hr_l1_reverse"]
    assert parameter_inventory(r.spec)[1].shape == (24, 2)  # weight_hh reads h of size proj


def test_dropout_notes():
    assert any("num_layers=1" in n for n in shapes(Spec(dropout=0.5)).notes)
    assert not any("num_layers=1" in n for n in shapes(Spec(num_layers=2, dropout=0.5)).notes)
    assert shapes(Spec()).notes == ()


def test_shapes_needs_no_torch_for_a_huge_spec():
    # Arithmetic only: a spec far too big to build still gets its report instantly.
    r = shapes(Spec("lstm", 1024, 65536, num_layers=64, seq_len=100_000))
    assert r.total_parameters > 10**12


def _evaluate(formula: str) -> tuple[int, int]:
    """(value of the arithmetic left of '=', the figure right of it) for a shown formula."""
    expr, total = formula.rsplit("=", 1)
    expr = expr.replace("×", "*").replace("[", "(").replace("]", ")")
    assert set(expr) <= set("0123456789+*() "), expr
    return eval(expr), int(total.replace(",", ""))  # noqa: S307 - checked to be arithmetic


@given(specs())
def test_shown_formulas_evaluate_to_the_counts(spec):
    r = shapes(spec)
    value, shown = _evaluate(r.torch_formula)
    assert value == shown == r.total_parameters
    if r.keras_parameters is None:
        assert "no Keras equivalent" in r.keras_formula
    else:
        value, shown = _evaluate(r.keras_formula)
        assert value == shown == r.keras_parameters
