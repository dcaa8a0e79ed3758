"""The Shapes tab: shapes against torch's tensors, identities on the numbers, inventory, totals."""

from __future__ import annotations

import pytest
from app_helpers import SMALL, shown_view
from PySide6.QtGui import QGuiApplication

from rnnviz.app.views.shapes_view import ShapesView
from rnnviz.config.options import RunOptions
from rnnviz.config.presets import preset
from rnnviz.config.spec import Spec
from rnnviz.document.document import Document
from rnnviz.document.snapshot import compute_snapshot


def _view(qtbot, spec=SMALL, options=None):
    return shown_view(qtbot, ShapesView, spec, options, size=(420, 900))


def _fmt(shape):
    return "(" + ", ".join(map(str, shape)) + ")"


def test_computing_before_the_first_snapshot(qtbot):
    view = ShapesView(Document(SMALL))
    qtbot.addWidget(view)
    assert "computing" in view.title.text() and view.tensor_table.rowCount() == 0


def test_torch_returned_column_is_the_traces_tensors_and_all_agree(qtbot):
    state, view = _view(qtbot, SMALL.replace(batch_first=True, batch_size=2))
    cells = view.tensor_cells()
    assert list(cells) == ["input", "h0", "c0", "output", "h_n", "c_n"]
    for name, (predicted, returned) in cells.items():
        got = state.snapshot.trace.tensors[name].shape
        assert returned == f"{_fmt(got)} ✓" and predicted == _fmt(got)
    assert cells["input"][0] == "(2, 6, 5)" and cells["h0"][0] == "(4, 2, 6)"


def test_hidden_size_edit_changes_the_shape_table(qtbot):
    state, view = _view(qtbot)
    assert view.tensor_cells()["h_n"][0] == "(4, 1, 6)"
    spec = SMALL.replace(hidden_size=9)
    state.set_spec(spec)
    state.set_snapshot(compute_snapshot(spec, state.options))
    cells = view.tensor_cells()
    assert cells["h_n"][0] == "(4, 1, 9)" and cells["output"][0] == "(6, 1, 18)"
    assert cells["output"][1] == "(6, 1, 18) ✓"


def test_no_cell_state_rows_for_gru(qtbot):
    _, view = _view(qtbot, Spec("gru", 5, 6, 2, seq_len=3))
    assert list(view.tensor_cells()) == ["input", "h0", "output", "h_n"]
    assert "reset_after" in view.totals_label.text()


def test_slices_and_identities_checked_on_the_numbers(qtbot):
    _, view = _view(qtbot, SMALL.replace(batch_first=True, proj_size=3))
    text = view.identity_label.text()
    assert "<tt>h_n[3]</tt> = layer 1, backward" in text
    assert "h_n[2] == output[:, -1, :3]" in text and "h_n[3] == output[:, 0, 3:]" in text
    assert all(c.holds for c in view.checks) and "FAILS" not in text
    assert len(view.checks) == 2 + 4 * 2  # two identities, h_n and c_n for four slices


def test_tutorial_lstm_28_128_totals(qtbot):
    p = preset("lstm-28-128")
    _, view = _view(qtbot, p.spec, p.options)
    text = view.totals_label.text()
    assert "80,896" in text and "80,384" in text and "bias_ih and bias_hh" in text


def test_projection_has_no_keras_equivalent(qtbot):
    _, view = _view(qtbot, Spec("lstm", 5, 6, proj_size=3, seq_len=2))
    assert "no Keras equivalent" in view.totals_label.text()
    names = [view.param_tree.topLevelItem(0).child(0).child(k).text(0) for k in range(5)]
    assert names[-1] == "weight_hr_l0"


def test_parameter_tree_is_split_by_gate(qtbot):
    _, view = _view(qtbot)
    tree = view.param_tree
    assert tree.topLevelItem(0).text(0) == "layer 0" and tree.topLevelItem(0).text(2) == "624"
    w_ih = tree.topLevelItem(0).child(1).child(0)  # layer 0, backward, weight_ih_l0_reverse
    assert w_ih.text(0) == "weight_ih_l0_reverse" and w_ih.text(1) == "(24, 5)"
    gates = [w_ih.child(k).text(0) for k in range(w_ih.childCount())]
    assert gates[0].startswith("rows 0:6  i — input gate") and gates[3].startswith("rows 18:24  o")
    assert [w_ih.child(k).text(2) for k in range(4)] == ["30"] * 4


def test_selection_highlights_without_rebuilding(qtbot):
    state, view = _view(qtbot)
    items = dict(view.layer_items)
    state.select(layer=1, direction="bwd", t=3)
    assert view.param_tree.currentItem() is items[(1, "bwd")]
    assert view.layer_items == items  # same QTreeWidgetItem objects: nothing rebuilt


def test_same_spec_new_seed_keeps_the_inventory(qtbot):
    state, view = _view(qtbot)
    first = view.param_tree.topLevelItem(0)
    state.set_snapshot(compute_snapshot(SMALL, RunOptions(seed=5)))
    assert view.param_tree.topLevelItem(0) is first


@pytest.mark.usefixtures("qapp")
def test_copy_markdown(qtbot):
    _, view = _view(qtbot)
    view.copy_button.click()
    text = QGuiApplication.clipboard().text()
    assert "h_n" in text and "weight_ih_l0_reverse" in text
    assert "1,584" in text


def test_the_traces_notes_are_shown_under_the_verdict(qtbot):
    """A trace's notes (a Cell's loop, a padded text batch, chunked layers) were shown by
    no view; they follow the verdict, each whole."""
    from rnnviz.app.widgets import plain_text

    p = preset("rnncell-4-2")
    state, view = _view(qtbot, p.spec, p.options)
    notes = state.snapshot.trace.notes
    assert notes and "RNNCell called 3 times" in notes[0]
    text = plain_text(view.verdict_label.text())
    for note in notes:
        assert f"Note: {note}" in text
    state2, plain = _view(qtbot, SMALL)
    assert not state2.snapshot.trace.notes and "Note:" not in plain.verdict_label.text()
