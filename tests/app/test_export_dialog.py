"""The export dialog and Copy diagram, driven as a user would with qtbot."""

from __future__ import annotations

import io
import os
from pathlib import Path

import networkx as nx
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before Qt loads

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from rnnviz.app.dialogs.export_dialog import (
    CLIPBOARD_SCALE,
    ExportDialog,
    copy_diagram_to_clipboard,
)
from rnnviz.config.options import RunOptions
from rnnviz.config.presets import preset
from rnnviz.config.spec import Spec
from rnnviz.document.document import Document
from rnnviz.document.snapshot import compute_snapshot
from rnnviz.io.export import export_bytes

pytestmark = pytest.mark.gui


@pytest.fixture
def state(qapp):
    p = preset("bilstm-2")
    st = Document(p.spec, p.options)
    st.set_snapshot(compute_snapshot(p.spec, p.options))
    st.select(t=2)
    return st


@pytest.fixture
def dialog(qtbot, state, tmp_path):
    d = ExportDialog(state, directory=str(tmp_path))
    qtbot.addWidget(d)
    return d


def test_file_name_follows_format_timestep_and_spec(dialog, tmp_path):
    assert dialog.fmt == "svg"
    assert Path(dialog.path_edit.text()) == tmp_path / "lstm-5x6-l2-bi-T6-t2.svg"
    dialog.timestep_spin.setValue(4)
    assert dialog.path_edit.text().endswith("lstm-5x6-l2-bi-T6-t4.svg")
    dialog.set_format("graphml")
    assert dialog.path_edit.text().endswith("lstm-5x6-l2-bi-T6.graphml")
    assert not dialog.timestep_spin.isEnabled() and not dialog.scale_spin.isEnabled()
    dialog.set_format("gates-png")
    assert dialog.path_edit.text().endswith("lstm-5x6-l2-bi-T6-gates-t4.png")
    assert not dialog.fold_check.isEnabled()


def test_a_typed_name_is_kept_and_its_extension_follows_the_format(qtbot, dialog, tmp_path):
    dialog.path_edit.clear()
    qtbot.keyClicks(dialog.path_edit, str(tmp_path / "figure3.svg"))
    dialog.timestep_spin.setValue(1)
    assert dialog.path_edit.text() == str(tmp_path / "figure3.svg")
    dialog.set_format("pdf")
    assert dialog.path_edit.text() == str(tmp_path / "figure3.pdf")


def test_export_button_writes_what_the_cli_writes(qtbot, dialog, state, tmp_path):
    dialog.set_format("graphml")
    with qtbot.waitSignal(dialog.sigExported) as sig:
        qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    path = Path(sig.args[0])
    assert path.parent == tmp_path and path.read_bytes() == export_bytes(state.spec, "graphml")
    g = nx.read_graphml(io.BytesIO(path.read_bytes()))
    assert sum(1 for _, k in g.nodes(data="kind") if k == "cell") == 2 * 2 * 6


def test_drawn_export_from_the_dialog_matches_export_bytes(qtbot, dialog, state, tmp_path):
    pytest.importorskip("rnnviz.app.drawing.scene")
    dialog.set_format("png")
    dialog.scale_spin.setValue(1.5)
    assert dialog.export()
    path = tmp_path / "lstm-5x6-l2-bi-T6-t2.png"
    assert path.read_bytes() == export_bytes(state.spec, "png", timestep=2, fold=0, scale=1.5)
    assert not QImage(str(path)).isNull()


def test_unwritable_path_shows_one_line_and_keeps_the_dialog_open(qtbot, dialog, tmp_path):
    (tmp_path / "a-file").write_text("x")
    dialog.set_format("csv")
    dialog.path_edit.setText(str(tmp_path / "a-file" / "t.csv"))
    assert not dialog.export()
    assert "cannot write" in dialog.message.text()
    assert dialog.result() != dialog.DialogCode.Accepted
    assert not (tmp_path / "t.csv").exists()


def test_long_sequences_fold_drawn_but_not_data(qtbot, tmp_path):
    spec = Spec("gru", 2, 3, 1, seq_len=100)
    st = Document(spec, RunOptions())
    st.set_snapshot(compute_snapshot(spec))
    d = ExportDialog(st, directory=str(tmp_path))
    qtbot.addWidget(d)
    assert d.fold_check.isChecked() and d.choices()["fold"] == 4
    assert d.path_edit.text().endswith("gru-2x3-T100-t0.svg")  # the default fold is not named
    d.fold_check.setChecked(False)
    assert d.choices()["fold"] == 0 and d.path_edit.text().endswith("gru-2x3-T100-t0-unfolded.svg")
    d.set_format("dot")
    assert not d.fold_check.isChecked() and d.choices()["fold"] is None
    d.fold_check.setChecked(True)
    d.fold_spin.setValue(2)
    assert d.path_edit.text().endswith("gru-2x3-T100-fold2.dot")
    assert d.export()
    text = (tmp_path / "gru-2x3-T100-fold2.dot").read_text()
    assert '"cell_l0_fwd_t1"' in text and '"cell_l0_fwd_t2"' not in text
    assert "… 96 steps …" in text


def test_the_dialog_exports_the_shown_snapshot_not_a_refused_edit(dialog, state):
    assert not state.edit_spec(hidden_size=0)
    assert dialog.spec == state.snapshot.spec == preset("bilstm-2").spec


def test_copy_diagram_puts_the_rendered_png_on_the_clipboard(state):
    pytest.importorskip("rnnviz.app.drawing.scene")
    image = copy_diagram_to_clipboard(state)
    expected = QImage.fromData(
        export_bytes(state.spec, "png", timestep=2, scale=CLIPBOARD_SCALE), "PNG"
    )
    assert not image.isNull() and image.size() == expected.size()
    on_board = QApplication.clipboard().image()
    assert on_board.size() == image.size()
    assert on_board.convertToFormat(QImage.Format.Format_ARGB32) == expected.convertToFormat(
        QImage.Format.Format_ARGB32
    )
