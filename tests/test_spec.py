"""Spec validation, derived facts and JSON round trips."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from test_trace_reference import specs

from rnnviz.config.options import RunOptions
from rnnviz.config.spec import SPEC_VERSION, Spec, SpecError

BAD = [  # (changes, field, words the message must contain)
    ({"cell": "cnn"}, "cell", ["rnn, lstm, gru", "'cnn'"]),
    ({"input_size": 0}, "input_size", ["from 1", "got 0"]),
    ({"hidden_size": -3}, "hidden_size", ["from 1", "got -3"]),
    ({"hidden_size": 2.5}, "hidden_size", ["whole number", "2.5"]),
    ({"hidden_size": "6"}, "hidden_size", ["whole number", "'6'"]),
    ({"hidden_size": True}, "hidden_size", ["whole number"]),
    ({"num_layers": 0}, "num_layers", ["from 1"]),
    ({"num_layers": 1025}, "num_layers", ["to 1024"]),
    ({"seq_len": 0}, "seq_len", ["from 1"]),
    ({"batch_size": 0}, "batch_size", ["from 1"]),
    ({"bidirectional": 1}, "bidirectional", ["true or false"]),
    ({"bias": "yes"}, "bias", ["true or false"]),
    ({"nonlinearity": "sigmoid"}, "nonlinearity", ["tanh, relu"]),
    ({"cell": "lstm", "nonlinearity": "relu"}, "nonlinearity", ["rnn only"]),
    ({"cell": "gru", "nonlinearity": "relu"}, "nonlinearity", ["rnn only"]),
    ({"dropout": 1.0}, "dropout", ["[0, 1)"]),
    ({"dropout": -0.1}, "dropout", ["[0, 1)"]),
    ({"dropout": float("nan")}, "dropout", ["[0, 1)"]),
    ({"dropout": 10**400}, "dropout", ["[0, 1)"]),
    ({"cell": "gru", "proj_size": 2}, "proj_size", ["lstm only"]),
    ({"cell": "rnn", "proj_size": 2}, "proj_size", ["lstm only"]),
    ({"cell": "lstm", "hidden_size": 6, "proj_size": 6}, "proj_size", ["hidden_size - 1", "(5)"]),
    ({"proj_size": -1}, "proj_size", ["from 0"]),
]


@pytest.mark.parametrize(("changes", "field", "words"), BAD)
def test_bad_values_name_the_field_and_the_range(changes, field, words):
    with pytest.raises(SpecError) as info:
        Spec(**changes)
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: ")
    for w in words:
        assert w in info.value.message
    with pytest.raises(SpecError):  # replace validates too
        Spec().replace(**changes)


def test_normalisation():
    s = Spec(cell="LSTM", hidden_size=6.0, dropout=0)
    assert s.cell == "lstm" and s.hidden_size == 6 and isinstance(s.hidden_size, int)
    assert isinstance(s.dropout, float)
    assert Spec("rnn", nonlinearity="RELU").nonlinearity == "relu"


def test_derived_facts_and_title():
    s = Spec("lstm", 5, 6, num_layers=2, bidirectional=True, proj_size=3)
    assert s.directions == ("fwd", "bwd") and s.num_directions == 2
    assert s.out_hidden == 3 and s.layer_input_size(0) == 5 and s.layer_input_size(1) == 6
    assert s.trace_gates == ("i", "f", "g", "o", "c", "h") and s.gate_count == 4
    assert s.title() == "LSTM(5, 6, num_layers=2, bidirectional=True, proj_size=3)"
    assert Spec("gru").trace_gates == ("r", "z", "n", "h")
    assert (
        Spec("rnn", nonlinearity="relu", bias=False).title()
        == "RNN(5, 6, nonlinearity='relu', bias=False)"
    )
    assert Spec(batch_first=True, seq_len=4, batch_size=2).input_shape() == (2, 4, 5)


@given(specs())
def test_json_round_trip(spec):
    text = spec.to_json()
    assert Spec.from_json(text) == spec
    assert Spec.from_dict(json.loads(text)) == spec
    assert json.loads(text)["version"] == SPEC_VERSION
    assert Spec.from_json(text).to_json() == text  # sorted keys: equal specs, equal bytes


def test_version_handling():
    d = Spec().to_dict()
    d.pop("version")
    assert Spec.from_dict(d) == Spec()  # a missing version means the current one
    with pytest.raises(SpecError) as info:
        Spec.from_dict({**d, "version": SPEC_VERSION + 1})
    assert info.value.field == "version"
    assert "newer" in info.value.message and "upgrade" in info.value.message
    for bad in (0, -1, "1", 1.0, True, None):
        with pytest.raises(SpecError) as info:
            Spec.from_dict({**d, "version": bad})
        assert info.value.field == "version"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{",
        "[1, 2]",
        "null",
        '{"hidden_size": ' + "9" * 5000 + "}",
        "[" * 100_000,
        '{"colour": "red"}',
        '{"": 1}',
    ],
)
def test_from_json_bad_text_is_spec_error(text):
    with pytest.raises(SpecError) as info:
        Spec.from_json(text)
    assert "\n" not in str(info.value)


def test_unknown_key_is_named():
    with pytest.raises(SpecError) as info:
        Spec.from_dict({"hidden_sise": 3})
    assert info.value.field == "hidden_sise" and "hidden_size" in info.value.message
    with pytest.raises(SpecError) as info:
        Spec.from_dict({"a\nb": 3})
    assert info.value.field == "spec" and "'a\\nb'" in info.value.message


def test_build_matches_spec_and_keeps_global_rng():
    import torch

    torch.manual_seed(42)
    expected = torch.rand(3)
    torch.manual_seed(42)
    m = Spec("lstm", 3, 4, num_layers=2, dropout=0.25, proj_size=2).build(seed=7)
    assert torch.equal(torch.rand(3), expected)  # building did not move the caller's RNG
    assert not m.training and m.proj_size == 2 and m.dropout == 0.25
    m2 = Spec("lstm", 3, 4, num_layers=2, dropout=0.25, proj_size=2).build(seed=7)
    assert all(torch.equal(a, b) for a, b in zip(m.parameters(), m2.parameters()))


def test_run_options_validation():
    assert RunOptions().stepper == "module"
    for kw, field in [
        ({"seed": -1}, "seed"),
        ({"seed": 2**63}, "seed"),
        ({"seed": 1.0}, "seed"),
        ({"input_kind": "uniform"}, "input_kind"),
        ({"init": "ones"}, "init"),
        ({"weight_scale": 0}, "weight_scale"),
        ({"weight_scale": float("inf")}, "weight_scale"),
        ({"weight_scale": 10**400}, "weight_scale"),
        ({"stepper": "loop"}, "stepper"),
    ]:
        with pytest.raises(SpecError) as info:
            RunOptions(**kw)
        assert info.value.field == field
    o = RunOptions(seed=3, init="randn", weight_scale=2)
    assert RunOptions.from_dict(o.to_dict()) == o
    with pytest.raises(SpecError) as info:
        RunOptions(stepper="cell").check(Spec(num_layers=2))
    assert info.value.field == "num_layers"
    with pytest.raises(SpecError) as info:
        RunOptions(stepper="cell").check(Spec(bidirectional=True))
    assert info.value.field == "bidirectional"
    with pytest.raises(SpecError) as info:
        RunOptions(stepper="cell").check(Spec(proj_size=2))
    assert info.value.field == "proj_size"


@given(specs())
def test_a_lanes_multiply_adds_are_its_weights_once_per_step_and_row(spec):
    """Spec.lane_macs (what the window's progress weighs each lane by) is the element count of
    the layer's weight matrices in torch's own module, once per timestep and batch row, and
    the lanes add up to Spec.macs."""
    module = spec.build(0)
    for layer in range(spec.num_layers):
        weights = sum(
            p.numel()
            for name, p in module.named_parameters()
            if name.startswith("weight_") and name.removesuffix("_reverse").endswith(f"_l{layer}")
        )
        assert spec.lane_macs(layer) * spec.num_directions == (
            weights * spec.seq_len * spec.batch_size
        )
    assert spec.macs == spec.num_directions * sum(map(spec.lane_macs, range(spec.num_layers)))
