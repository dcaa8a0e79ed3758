"""The configuration form: edits reach the state, refusals show inline, loads don't echo."""

from __future__ import annotations

import pytest
from app_helpers import SMALL, wait_traced

from rnnviz.app.views.config_panel import ConfigPanel
from rnnviz.config.budget import estimate, human
from rnnviz.config.presets import preset
from rnnviz.config.spec import Spec


@pytest.fixture
def panel(qtbot, traced):
    state, runner = traced
    p = ConfigPanel(state)
    qtbot.addWidget(p)
    p.show()
    return p, state, runner


def test_widgets_show_the_state(panel):
    p, state, _ = panel
    assert p.spec_values() == {k: v for k, v in SMALL.to_dict().items() if k != "version"}
    assert p.option_values() == state.options.to_dict()
    assert p.title.text() == "LSTM(5, 6, num_layers=2, bidirectional=True)"
    assert human(estimate(SMALL).total) in p.memory.text()


def test_hidden_size_spinbox_traces_new_size(qtbot, panel):
    p, state, runner = panel
    with qtbot.waitSignal(state.sigSnapshotChanged, timeout=60_000) as blocker:
        p.widgets["hidden_size"].setValue(11)
    assert blocker.args[0].spec.hidden_size == 11
    assert state.snapshot.report.parameters  # the shape report came with it
    assert p.title.text() == "LSTM(5, 11, num_layers=2, bidirectional=True)"


def test_proj_size_equal_to_hidden_is_refused_inline(qtbot, panel):
    p, state, runner = panel
    good = state.snapshot
    p.widgets["proj_size"].setValue(6)
    label = p.errors["proj_size"]
    assert label.isVisible() and "hidden_size - 1 (5)" in label.text()
    assert state.spec.proj_size == 0
    wait_traced(qtbot, runner)
    assert state.snapshot is good
    # The form keeps what was typed: raising hidden_size makes it valid without retyping.
    with qtbot.waitSignal(state.sigSnapshotChanged, timeout=60_000) as blocker:
        p.widgets["hidden_size"].setValue(8)
    assert (blocker.args[0].spec.hidden_size, blocker.args[0].spec.proj_size) == (8, 6)
    assert not label.isVisible()


def test_proj_size_on_gru_is_refused_inline(qtbot, panel):
    p, state, runner = panel
    with qtbot.waitSignal(state.sigSnapshotChanged, timeout=60_000):
        p.widgets["proj_size"].setValue(3)
    good = state.snapshot
    p.widgets["cell"].setCurrentText("gru")
    assert p.errors["proj_size"].isVisible()
    assert "lstm only" in p.errors["proj_size"].text()
    assert state.spec.cell == "lstm"
    wait_traced(qtbot, runner)
    assert state.snapshot is good


def test_nonlinearity_only_for_rnn(qtbot, panel):
    p, state, runner = panel
    assert not p.widgets["nonlinearity"].isEnabled()
    p.widgets["cell"].setCurrentText("rnn")
    assert p.widgets["nonlinearity"].isEnabled()
    p.widgets["nonlinearity"].setCurrentText("relu")
    assert state.spec.nonlinearity == "relu"
    # Back to LSTM: nonlinearity goes back to tanh rather than producing an error.
    p.widgets["cell"].setCurrentText("lstm")
    assert state.spec.cell == "lstm" and state.spec.nonlinearity == "tanh"
    assert not any(label.isVisible() for label in p.errors.values())
    wait_traced(qtbot, runner)
    assert state.snapshot.spec == state.spec


def test_cell_stepper_needs_one_layer(qtbot, panel):
    p, state, runner = panel
    p.widgets["stepper"].setCurrentText("cell")
    assert state.options.stepper == "module"
    assert p.errors["num_layers"].isVisible() or p.errors["bidirectional"].isVisible()
    p.widgets["bidirectional"].setChecked(False)
    with qtbot.waitSignal(state.sigSnapshotChanged, timeout=60_000) as blocker:
        p.widgets["num_layers"].setValue(1)
    assert blocker.args[0].options.stepper == "cell"
    assert blocker.args[0].spec.num_layers == 1
    assert p.title.text() == "LSTMCell(5, 6)"


def test_state_change_updates_widgets_without_echo(qtbot, panel):
    p, state, runner = panel
    edits = []
    state.sigSpecChanged.connect(edits.append)
    pr = preset("relu-explode")
    state.set_spec(pr.spec, pr.options)
    assert edits == [pr.spec]  # the widgets' reload sent nothing back
    assert Spec(**p.spec_values()) == pr.spec
    assert p.option_values() == pr.options.to_dict()
    assert p.widgets["nonlinearity"].isEnabled()
    assert p.title.text() == pr.spec.title()
    wait_traced(qtbot, runner)


def test_budget_refusal_shown_under_form(qtbot, panel, monkeypatch):
    p, state, runner = panel
    good = state.snapshot
    monkeypatch.setenv("RNNVIZ_MEMORY_BUDGET", "1M")
    p.widgets["seq_len"].setValue(5000)
    qtbot.waitUntil(lambda: p.errors["general"].isVisible(), timeout=10_000)
    assert "memory budget" in p.errors["general"].text()
    wait_traced(qtbot, runner)
    assert state.snapshot is good
