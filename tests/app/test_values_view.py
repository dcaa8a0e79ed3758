"""The Values tab: the trace's tensors printed exactly as torch prints them, linked to the
selection (batch row, layer/direction) and the timestep."""

from __future__ import annotations

import numpy as np
import torch
from app_helpers import shown_view

from rnnviz.analysis.values import torch_str
from rnnviz.app.views.values_view import ValuesView
from rnnviz.config.options import RunOptions
from rnnviz.config.presets import preset
from rnnviz.config.spec import Spec

BILSTM = Spec("lstm", 5, 6, 2, bidirectional=True, seq_len=4, batch_size=2)


def _t(a: np.ndarray) -> str:
    return str(torch.from_numpy(np.ascontiguousarray(a)))


def test_values_print_the_selected_row_as_torch_does_and_follow_t(qtbot) -> None:
    state, view = shown_view(qtbot, ValuesView, BILSTM, RunOptions(init="randn"), (600, 800))
    tr = state.snapshot.trace
    state.select(batch=1, t=2, layer=1, direction="bwd")
    text = view.plain_text()
    for name in ("input", "h0", "c0", "output", "h_n", "c_n"):
        assert _t(tr.tensors[name][:, 1]) in text, name
    assert ">>> x[:, 1]" in text and ">>> h_n[:, 1]" in text
    # Marked: x[2], output[2] (row 1) and h_n[3] = layer 1 backward, in torch's own digits.
    marks = view.marked_texts()
    width = BILSTM.input_size + 2 * BILSTM.hidden_size
    hn3 = [f"{v:.4f}" for v in tr.tensors["h_n"][3, 1]]
    assert [m.strip() for m in marks[:5]] == [f"{v:.4f}" for v in tr.tensors["input"][2, 1]]
    assert [m.strip() for m in marks[5 + 6 : 5 + 6 + 6]] == [
        f"{v:.4f}" for v in tr.tensors["c0"][3, 1]
    ]
    assert [m.strip() for m in marks[-12:-6]] == hn3
    assert len(marks) == width + 4 * BILSTM.hidden_size
    before = marks
    state.select(t=0)
    assert view.marked_texts() != before
    assert [m.strip() for m in view.marked_texts()[:5]] == [
        f"{v:.4f}" for v in tr.tensors["input"][0, 1]
    ]


def test_all_rows_prints_whole_tensors(qtbot) -> None:
    spec, opts = preset("rnn-5-6-2").spec, preset("rnn-5-6-2").options  # seq 1, batch 3
    state, view = shown_view(qtbot, ValuesView, spec, opts, (600, 800))
    view.rows_combo.setCurrentIndex(view.rows_combo.findData("all"))
    tr = state.snapshot.trace
    text = view.plain_text()
    for name in ("input", "h0", "output", "h_n"):
        assert torch_str(tr.tensors[name]) in text
        assert f">>> {'x' if name == 'input' else name}    #" in text
    state.select(batch=2)
    marks = [m.strip() for m in view.marked_texts()]
    assert marks[:5] == [f"{v:.4f}" for v in tr.tensors["input"][0, 2]]


def test_cell_mode_shows_each_call_s_h(qtbot) -> None:
    p = preset("rnncell-4-2")
    state, view = shown_view(qtbot, ValuesView, p.spec, p.options, (600, 800))
    tr = state.snapshot.trace
    text = view.plain_text()
    for s in range(p.spec.seq_len):
        assert f"after call {s}: h = cell(x[{s}], h)" in text
        assert _t(tr.tensors["h_t"][s, 0]) in text
    assert "h_n[:" not in text and "output" not in text.split("\n")[0]
    state.select(t=2)
    assert [m.strip() for m in view.marked_texts()[-2:]] == [
        f"{v:.4f}" for v in tr.tensors["h_t"][2, 0]
    ]


def test_values_tab_is_in_the_window(window) -> None:
    assert "Values" in [e.title for e in window.deck.entries]
    window.deck.show_view(window.values_view)
    assert window.values_view in window.deck.current_views()
    assert torch_str(window.state.snapshot.trace.tensors["h_n"][:, 0]) in (
        window.values_view.plain_text()
    )
