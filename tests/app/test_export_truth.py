"""Exports that must show what the window shows (found by an export review, helper-33): Copy diagram in Cell and
text mode, the gate heatmaps' lane, the Chain page's CSV, and the Gradients view after the
epoch slider moved. Each test failed on the code before the fix."""

from __future__ import annotations

import csv
import io
import re

import pytest
from app_helpers import epoch_snapshot, gradients_on_screen
from PySide6.QtGui import QImage

from rnnviz.app.dialogs.export_dialog import (
    CLIPBOARD_SCALE,
    ExportDialog,
    copy_diagram_to_clipboard,
)
from rnnviz.config.presets import preset
from rnnviz.document.document import GRAD, Document
from rnnviz.document.snapshot import compute_snapshot
from rnnviz.io.export import export_bytes

pytestmark = pytest.mark.gui


def _argb(image: QImage) -> QImage:
    return image.convertToFormat(QImage.Format.Format_ARGB32)


def _shown(state: Document) -> QImage:
    """The diagram as File → Export (PNG) writes it for the window's state."""
    snap = state.snapshot
    data = export_bytes(
        snap.spec,
        "png",
        options=state.options,
        snapshot=snap,
        timestep=state.selection.t,
        scale=CLIPBOARD_SCALE,
    )
    return QImage.fromData(data, "PNG")


def test_copy_diagram_of_a_cell_loop_is_the_cell_loop(qapp):
    # rnncell-4-2 is stepped as nn.RNNCell: the window and File → Export draw "RNNCell(4, 2)
    # called 3 times"; Copy diagram drew "RNN(4, 2) unrolled over 3 steps" (api "module").
    p = preset("rnncell-4-2")
    state = Document(p.spec, p.options)
    state.set_snapshot(compute_snapshot(p.spec, p.options))
    assert state.snapshot.graph.graph["api"] == "cell"
    copied = copy_diagram_to_clipboard(state)
    assert _argb(copied) == _argb(_shown(state))


def test_copy_diagram_of_a_text_epoch_has_the_text_stages(qapp):
    # A training epoch on screen: the window's diagram has tokens, Embedding, Linear and the
    # epoch's predictions; Copy diagram drew the bare RNN with none of them.
    _, snap = epoch_snapshot("hello-ohlol-embedding", 3)
    state = Document(snap.spec, snap.options)
    state.set_snapshot(snap)
    assert state.snapshot is snap and snap.graph.graph.get("epoch") == 3
    copied = copy_diagram_to_clipboard(state)
    assert _argb(copied) == _argb(_shown(state))


def test_gate_heatmap_export_shows_the_selected_lane(qtbot, tmp_path):
    # The gate view shows layer 1 backward, unit 3; the exported figure was layer 0 forward,
    # unit 0 (render_gates selects only the timestep).
    p = preset("bilstm-2")
    state = Document(p.spec, p.options)
    state.set_snapshot(compute_snapshot(p.spec, p.options))
    state.select(layer=1, direction="bwd", batch=0, unit=3, t=2)
    dialog = ExportDialog(state, directory=str(tmp_path))
    qtbot.addWidget(dialog)
    dialog.set_format("gates-svg")
    assert dialog.export()
    with open(dialog.path_edit.text(), encoding="utf-8") as f:
        svg = f.read()
    text = " ".join(re.findall(r">([^<>]+)</text>", svg))
    assert "layer 1 · backward" in text, text[:200]
    assert "unit 3, t 2" in text, text[:200]


def test_chain_csv_says_which_step_the_chain_starts_from(qtbot, window, tmp_path):
    # The Chain page runs from the selected t (here 2); its CSV's first column is named "t"
    # but holds the row number 0, 1, 2, …, while the header's "from t to s" means t = 2.
    from rnnviz.app.drawing.grad_render import save_plot

    view = gradients_on_screen(qtbot, window)
    window.state.select(t=2, layer=0, direction="fwd")
    view.pages.setCurrentWidget(view.pages.widget(1))
    assert view.current_plot() is view.chain
    save_plot(view, tmp_path / "chain.csv")
    rows = list(csv.reader(io.StringIO((tmp_path / "chain.csv").read_text())))
    header, body = rows[0], rows[1:]
    assert body
    if "t" in header:
        col = header.index("t")
        assert {r[col] for r in body} == {"2"}, (header, [r[col] for r in body])


def test_gradients_export_after_the_epoch_moved_is_flagged(qtbot, window, tmp_path):
    # Epoch 3's gradients on the Gradients page; the user moves the epoch slider to 15 on
    # another tab and comes back: the page (and its Export…) still hold epoch 3's gradients,
    # unflagged, while every other view and the slider show epoch 15. After a spec edit the
    # same page says "showing the last finished gradients".
    from rnnviz.document.training import TextSnapshot, history, request_training
    from rnnviz.text.presets import text_preset

    win = window
    request_training(win.state, text_preset("hello-ohlol-rnn").settings)
    qtbot.waitUntil(lambda: (h := history(win.state)) is not None and h.done, timeout=60_000)
    win.epoch_slider.slider.setValue(3)
    view = gradients_on_screen(qtbot, win)
    assert "epoch 3's RNN" in view.caption.text()
    win.deck.show_view(win.graph_view)
    win.epoch_slider.slider.setValue(15)
    qtbot.waitUntil(
        lambda: (
            isinstance(win.state.snapshot, TextSnapshot)
            and win.state.snapshot.epoch == 15
            and not win.runner.busy
        ),
        timeout=60_000,
    )
    assert view.result is not win.state.result(GRAD)  # epoch 3's, kept
    caption = view.caption.text()
    assert "showing the last finished" in caption or "epoch 3" not in caption, caption
    assert "text model: epoch 3 weights" in caption  # and says which epoch they are of
    # A file of them would not say so: Export refuses until the current ones are in.
    from rnnviz.app.drawing.grad_render import save_plot
    from rnnviz.io.export import ExportError

    with pytest.raises(ExportError, match="last finished"):
        save_plot(view, tmp_path / "stale.csv")
    assert not (tmp_path / "stale.csv").exists()
    win.deck.show_view(view)  # back on the page: the current epoch's gradients come
    qtbot.waitUntil(lambda: view.result is win.state.result(GRAD) is not None, timeout=60_000)
    assert "epoch 15's RNN" in view.caption.text()
    save_plot(view, tmp_path / "now.csv")
    assert (tmp_path / "now.csv").exists()


def test_chain_csv_of_an_lstm_has_as_many_header_fields_as_data_fields(qtbot, window, tmp_path):
    # An LSTM's Chain page names its last curve "‖∂L/∂(h,c)_s‖ ÷ ‖∂L/∂(h,c)_t‖": written
    # unquoted, its comma splits the header into 7 fields over rows of 5, so every column
    # after the third reads under the wrong name in a spreadsheet or csv.reader.
    from rnnviz.app.drawing.grad_render import save_plot

    assert window.state.spec.cell == "lstm"
    view = gradients_on_screen(qtbot, window)
    view.pages.setCurrentWidget(view.pages.widget(1))
    save_plot(view, tmp_path / "chain.csv")
    rows = list(csv.reader(io.StringIO((tmp_path / "chain.csv").read_text())))
    assert len(rows) > 1
    assert {len(r) for r in rows} == {len(rows[0])}, [len(r) for r in rows]
