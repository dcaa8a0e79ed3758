"""Exports of a text model's epoch say which epoch they show: the gate figure (its caption and
title), the DOT file's visible graph label, the SVG/PDF title of the drawn diagram, the
export dialog's default file name and the Gradients tab's plot files. Each names it in the
trace's own words (`rnnviz.text.notes.epoch_note`); a plain spec's exports are unchanged
(tests/golden/export_*.dot hold the DOT files)."""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from app_helpers import epoch_snapshot, gradients_on_screen

from rnnviz.config.options import RunOptions
from rnnviz.document.training import (
    TextSnapshot,
    history,
    request_training,
)
from rnnviz.io.export import ExportError, default_filename, export_bytes
from rnnviz.text.notes import epoch_note
from rnnviz.text.presets import text_preset

SVG = "{http://www.w3.org/2000/svg}"
EPOCH15 = epoch_note(15)  # "text model: epoch 15 weights"


@pytest.fixture(scope="module")
def epoch15() -> TextSnapshot:
    """Epoch 15 of the hello-ohlol-embedding preset, as the window's trace job makes it."""
    return epoch_snapshot("hello-ohlol-embedding", 15)[1]


def _svg_title(data: bytes) -> str:
    node = ET.fromstring(data).find(f"{SVG}title")
    return "" if node is None or node.text is None else node.text


def _svg_texts(data: bytes) -> str:
    """Every text the SVG draws, joined with spaces (Qt writes each run in its own element)."""
    return " ".join("".join(t.itertext()) for t in ET.fromstring(data).iter(f"{SVG}text"))


def _dot_label(dot: str) -> str:
    """The graph's visible label: the `label` of its `graph [...]` line."""
    line = next(x for x in dot.splitlines() if x.lstrip().startswith("graph ["))
    match = re.search(r'\blabel="((?:[^"\\]|\\.)*)"', line)
    assert match, line
    return match.group(1)


def _pdf_title(data: bytes, tmp_path) -> str:
    path = tmp_path / "d.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    return next(x for x in out.stdout.splitlines() if x.startswith("Title:")).split(":", 1)[1]


# ---- the core's exports of an epoch snapshot ---------------------------------------------------
def test_the_dot_label_names_the_epoch(epoch15):
    dot = export_bytes(epoch15.spec, "dot", snapshot=epoch15).decode()
    assert EPOCH15 in _dot_label(dot)
    assert _dot_label(dot).startswith(epoch15.graph.graph["title"])
    # The same spec without the epoch's snapshot is a random-input graph: no epoch named.
    plain = export_bytes(epoch15.spec, "dot").decode()
    assert "epoch" not in _dot_label(plain)


def test_the_drawn_svg_and_pdf_titles_name_the_epoch(epoch15, qapp, tmp_path):
    svg = export_bytes(epoch15.spec, "svg", snapshot=epoch15, timestep=2)
    assert EPOCH15 in _svg_title(svg)
    assert EPOCH15 in _svg_texts(svg)  # the title line drawn above the diagram, same words
    if shutil.which("pdfinfo"):
        pdf = export_bytes(epoch15.spec, "pdf", snapshot=epoch15)
        assert EPOCH15 in _pdf_title(pdf, tmp_path)
    plain = export_bytes(epoch15.spec, "svg", timestep=2)
    assert "epoch" not in _svg_title(plain) and "epoch" not in _svg_texts(plain)


def test_the_gate_figure_names_the_epoch(epoch15, qapp):
    svg = export_bytes(epoch15.spec, "gates-svg", snapshot=epoch15, timestep=1)
    assert EPOCH15 in _svg_title(svg)
    assert EPOCH15 in _svg_texts(svg)  # the figure's caption
    plain = export_bytes(epoch15.spec, "gates-svg", options=RunOptions(), timestep=1)
    assert "epoch" not in _svg_title(plain) and "epoch" not in _svg_texts(plain)


def test_default_file_names_carry_the_epoch(epoch15):
    spec = epoch15.spec
    assert default_filename(spec, "svg", timestep=2, epoch=15).endswith("-t2-epoch15.svg")
    assert default_filename(spec, "gates-png", epoch=15).endswith("-gates-epoch15.png")
    assert default_filename(spec, "dot", epoch=15).endswith("-epoch15.dot")
    # Tables hold shapes and parameters only, the same at every epoch.
    assert "epoch" not in default_filename(spec, "md", epoch=15)
    assert "epoch" not in default_filename(spec, "svg", timestep=2)


# ---- the window ------------------------------------------------------------------------------
def _trained(win, qtbot, epoch: int) -> None:
    request_training(win.state, text_preset("hello-ohlol-embedding").settings)
    qtbot.waitUntil(lambda: (h := history(win.state)) is not None and h.done, timeout=60_000)
    win.epoch_slider.slider.setValue(epoch)  # the user moves the epoch slider
    qtbot.waitUntil(
        lambda: (
            isinstance(win.state.snapshot, TextSnapshot)
            and win.state.snapshot.epoch == epoch
            and not win.runner.busy
        ),
        timeout=60_000,
    )


def test_the_export_dialog_names_and_writes_the_epoch(window, qtbot, tmp_path):
    from rnnviz.app.dialogs.export_dialog import ExportDialog

    _trained(window, qtbot, 15)
    dialog = ExportDialog(window.state, window, directory=str(tmp_path))
    qtbot.addWidget(dialog)
    for fmt in ("svg", "gates-svg", "dot"):
        dialog.set_format(fmt)
        assert "-epoch15." in dialog.path_edit.text(), dialog.path_edit.text()
    dialog.set_format("svg")
    path = dialog.path_edit.text()
    assert dialog.export(), dialog.message.text()
    data = Path(path).read_bytes()
    assert EPOCH15 in _svg_title(data) and EPOCH15 in _svg_texts(data)


def test_a_plain_trace_dialog_names_no_epoch(window, qtbot, tmp_path):
    from rnnviz.app.dialogs.export_dialog import ExportDialog

    dialog = ExportDialog(window.state, window, directory=str(tmp_path))
    qtbot.addWidget(dialog)
    for fmt in ("svg", "gates-svg", "dot"):
        dialog.set_format(fmt)
        assert "epoch" not in dialog.path_edit.text()


def test_the_default_name_follows_the_epoch_while_the_dialog_is_open(window, qtbot, tmp_path):
    # Training's views follow the newest epoch with the (modal) dialog open, and the file is
    # written from the snapshot shown when Export is pressed: its name must follow it.
    from rnnviz.app.dialogs.export_dialog import ExportDialog

    _trained(window, qtbot, 3)
    dialog = ExportDialog(window.state, window, directory=str(tmp_path))
    qtbot.addWidget(dialog)
    assert dialog.path_edit.text().endswith("-epoch3.svg")
    window.epoch_slider.slider.setValue(15)
    qtbot.waitUntil(lambda: window.state.snapshot.epoch == 15, timeout=60_000)
    assert dialog.path_edit.text().endswith("-epoch15.svg")
    dialog.path_edit.setText(str(tmp_path / "mine.svg"))
    dialog.path_edit.textEdited.emit(str(tmp_path / "mine.svg"))  # the user types a name
    window.epoch_slider.slider.setValue(4)
    qtbot.waitUntil(lambda: window.state.snapshot.epoch == 4, timeout=60_000)
    assert dialog.path_edit.text() == str(tmp_path / "mine.svg")  # theirs is kept


def test_gradient_plot_files_name_lane_loss_and_epoch(window, qtbot, tmp_path):
    from rnnviz.app.drawing.grad_render import save_plot

    _trained(window, qtbot, 15)
    view = gradients_on_screen(qtbot, window)
    window.state.select(layer=0, direction="fwd", t=3)
    # RNN(10, 8, num_layers=2): the norms plot draws both layers, the chain the selected
    # lane; an Elman RNN has no σ gates, so its Saturation page has no plot to write.
    pages = (
        (0, ("every layer", "loss last")),
        (1, ("t = 3, layer 0, batch 0", "loss last")),
    )
    for page, words in pages:
        view.pages.setCurrentIndex(page)
        save_plot(view, tmp_path / f"p{page}.svg")
        data = (tmp_path / f"p{page}.svg").read_bytes()
        texts, title = _svg_texts(data), _svg_title(data)
        for w in (*words, EPOCH15):
            assert w in texts, (page, w, texts[:300])
            assert w in title, (page, w, title)
    view.pages.setCurrentIndex(2)
    with pytest.raises(ExportError, match="no σ gates"):
        save_plot(view, tmp_path / "p2.svg")
    assert not (tmp_path / "p2.svg").exists()


def test_gradient_plot_files_of_a_plain_trace_name_lane_and_loss(window, qtbot, tmp_path):
    from rnnviz.app.drawing.grad_render import save_plot

    view = gradients_on_screen(qtbot, window)
    window.state.select(layer=1, direction="bwd")
    view.pages.setCurrentIndex(1)  # the chain of the selected lane
    save_plot(view, tmp_path / "chain.svg")
    data = (tmp_path / "chain.svg").read_bytes()
    texts = _svg_texts(data)
    assert "layer 1 backward" in texts and "loss last" in texts, texts[:300]
    assert "epoch" not in texts and "epoch" not in _svg_title(data)


def test_the_compare_plot_file_says_its_modules_are_not_the_epoch(window, qtbot, tmp_path):
    from rnnviz.app.drawing.grad_render import save_plot
    from rnnviz.app.views.grad_compare import fresh_note
    from rnnviz.document.document import COMPARE

    _trained(window, qtbot, 15)
    view = gradients_on_screen(qtbot, window)
    view.pages.setCurrentWidget(view.compare)
    qtbot.waitUntil(lambda: window.state.result(COMPARE) is not None, timeout=120_000)
    qtbot.waitUntil(lambda: view.compare.result is not None, timeout=10_000)
    save_plot(view, tmp_path / "compare.svg")
    data = (tmp_path / "compare.svg").read_bytes()
    texts = _svg_texts(data)
    assert "RNN tanh, RNN relu, LSTM and GRU" in texts and "loss last" in texts, texts[:300]
    assert fresh_note(window.state.options.seed) in texts
    assert EPOCH15 not in texts  # a fresh module was differentiated, not epoch 15's
