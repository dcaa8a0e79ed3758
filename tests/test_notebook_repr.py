"""Item 11 of issue 12: a Trace or ShapeReport left as a notebook cell's last line prints a
short summary (spec, verdict, shapes), not every array; Jupyter gets an HTML table."""

from __future__ import annotations

import re

import pytest

from rnnviz import RunOptions, Spec, shapes, trace_spec

BIG = Spec("lstm", 8, 32, num_layers=3, bidirectional=True, seq_len=40, batch_size=4)
CASES = [
    Spec("rnn", 4, 2, seq_len=1, batch_size=3),
    Spec("gru", 5, 6, num_layers=2, seq_len=7, batch_size=2, batch_first=True),
    BIG,
    Spec("lstm", 5, 6, proj_size=3, num_layers=2, seq_len=5),
]


@pytest.mark.parametrize("spec", CASES, ids=lambda s: s.title())
def test_trace_repr_is_short_and_says_what_it_holds(spec: Spec) -> None:
    tr = trace_spec(spec)
    text = repr(tr)
    assert len(text) < 2000, len(text)
    assert spec.title() in text
    assert "matches torch" in text and f"{tr.max_abs_diff:.3g}" in text
    for name, arr in tr.tensors.items():
        assert f"{name} {tuple(arr.shape)}" in text
    for (_, _, g), arr in tr.gates.items():
        assert f"{g} {tuple(arr.shape)}" in text
    assert f"{len(tr.params)} tensors" in text
    # No array values: a float with many digits would mean an array was printed.
    assert not re.search(r"\d\.\d{5,}", text)


def test_trace_repr_says_when_it_does_not_match() -> None:
    tr = trace_spec(Spec("rnn", 2, 3, seq_len=4), RunOptions())
    import dataclasses

    bad = dataclasses.replace(tr, max_abs_diff=0.5, max_rel_diff=0.5)
    assert "does NOT match torch" in repr(bad)


def test_trace_html_is_a_table_with_every_tensor() -> None:
    tr = trace_spec(BIG)
    page = tr._repr_html_()
    assert page.startswith("<table>") and page.endswith("</table>")
    assert page.count("<tr>") == page.count("</tr>")
    for name, arr in tr.tensors.items():
        assert f"<td style='text-align:left'>{name}</td>" in page
        assert str(tuple(arr.shape)) in page
    assert "LSTM(8, 32, num_layers=3, bidirectional=True)" in page
    assert len(page) < 20_000


@pytest.mark.parametrize("spec", CASES, ids=lambda s: s.title())
def test_shape_report_repr_is_short(spec: Spec) -> None:
    rep = shapes(spec)
    text = repr(rep)
    assert len(text) < 2000
    assert spec.title() in text
    for name, shape in rep.tensors.items():
        if shape is not None:
            assert f"{name} {shape}" in text
    assert f"total_parameters={rep.total_parameters:,}" in text
    assert rep.parameters[0].name in text


def test_shape_report_html_lists_every_parameter() -> None:
    rep = shapes(BIG)
    page = rep._repr_html_()
    for p in rep.parameters:
        assert f">{p.name}<" in page
    assert f">{rep.total_parameters:,}<" in page
    assert page.count("<tr>") == page.count("</tr>")
