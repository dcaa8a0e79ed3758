"""The Equations tab: live numbers for the selected unit, following the selection."""

from __future__ import annotations

import pytest
from app_helpers import SMALL, shown_view

from rnnviz.analysis.equations import fmt
from rnnviz.app.views.equations_view import EquationsView
from rnnviz.config.presets import preset
from rnnviz.config.spec import Spec
from rnnviz.document.document import Document


def _view(qtbot, spec=SMALL, options=None):
    return shown_view(qtbot, EquationsView, spec, options, size=(420, 800))


def test_computing_before_the_first_snapshot(qtbot):
    view = EquationsView(Document(SMALL))
    qtbot.addWidget(view)
    assert "computing" in view.text() and view.lines == []


@pytest.mark.parametrize(
    ("spec", "gates"),
    [
        (SMALL, "i f g o c h"),
        (Spec("gru", 3, 4, seq_len=3), "r z n h"),
        (Spec("rnn", 3, 4, seq_len=3, nonlinearity="relu"), "a h"),
    ],
)
def test_equation_set_per_cell(qtbot, spec, gates):
    _, view = _view(qtbot, spec)
    assert [line.gate for line in view.lines] == gates.split()
    text = view.text()
    for line in view.lines:
        assert line.symbolic in text
    assert "every line agrees" in text


def test_step_changes_the_numbers_to_the_traces_values_at_the_new_t(qtbot):
    state, view = _view(qtbot)
    state.select(t=1, unit=2)
    before = view.text()
    state.step(1)
    assert state.selection.t == 2 and view.text() != before
    tr = state.snapshot.trace
    for line in view.lines:
        assert line.recorded == float(tr.gates[(0, "fwd", line.gate)][2, 0, 2])
        # Whose value it is, in words: torch's h, rnnviz's recomputed pre-activations.
        who = (
            "torch returned" if line.gate == "h" else "rnnviz recomputed (torch does not expose it)"
        )
        assert line.recorded_by == ("torch" if line.gate == "h" else "rnnviz")
        assert f"{who}: {fmt(line.recorded)}" in view.text()
    assert "t = 2, unit 2" in view.header.text()


def test_backward_direction_reads_the_next_step(qtbot):
    state, view = _view(qtbot)
    state.select(direction="bwd", t=2, layer=1)
    assert "h_3" in view.header.text() and "backward" in view.header.text()
    state.select(t=SMALL.seq_len - 1)
    assert "initial state h0" in view.header.text()


def test_unit_spin_writes_the_selection_and_follows_it(qtbot):
    state, view = _view(qtbot)
    view.unit_spin.setValue(4)
    assert state.selection.unit == 4 and all(line.unit == 4 for line in view.lines)
    state.select(unit=1)
    assert view.unit_spin.value() == 1
    assert view.unit_spin.maximum() == SMALL.hidden_size - 1


def test_exploding_values_show_inf_nan_without_crashing(qtbot):
    p = preset("relu-explode")
    state, view = _view(qtbot, p.spec, p.options)
    shown = set()
    for t in (62, 70, 79):
        for unit in (0, 3, 8):
            state.select(t=t, unit=unit)
            text = view.text()
            shown |= {w for w in ("inf", "nan") if w in text}
    assert shown == {"inf", "nan"}
    state.select(t=62, unit=3)  # this sum passes float32's largest value here
    assert "inf in float32 (beyond its largest value)" in view.text()
