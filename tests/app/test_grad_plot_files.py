"""The Gradients tab's plot files, checked by parsing them: from the first export on, a file is
the size of the plot on screen (every page of every cell, PNG and SVG alike); a page with no
plot (an Elman RNN's Saturation page) writes no file and says why."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from app_helpers import gradients_on_screen
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFileDialog, QMessageBox

from rnnviz.document.document import COMPARE


def svg_box(path) -> tuple[float, float]:
    """The (width, height) of an SVG file's viewBox."""
    _x, _y, w, h = (float(v) for v in ET.parse(path).getroot().get("viewBox", "").split())
    return w, h


def png_size(path) -> tuple[int, int]:
    """The (width, height) in pixels of a PNG file, decoded by Qt."""
    img = QImage(str(path))
    assert not img.isNull(), path
    return img.width(), img.height()


def on_page(qtbot, window, cell: str, page: int):
    """The window's Gradients view on `cell`'s current gradients, turned to `page` (and, on
    the Compare page, its comparison landed)."""
    window.state.edit_spec(cell=cell)
    view = gradients_on_screen(qtbot, window)
    view.pages.setCurrentIndex(page)
    if page == 3:
        state = window.state
        qtbot.waitUntil(
            lambda: (
                state.result(COMPARE) is not None and view.compare.result is state.result(COMPARE)
            ),
            timeout=120_000,
        )
    return view


@pytest.mark.parametrize(
    ("cell", "page"),
    [("rnn", 0), ("rnn", 1), ("rnn", 3), ("lstm", 2), ("gru", 2), ("gru", 0), ("lstm", 3)],
)
def test_the_first_export_of_a_page_is_the_plot_on_screen(qtbot, window, tmp_path, cell, page):
    """The file's drawing is the plot widget's size plus the caption above it, from the first
    export on (the first SVG of an Elman RNN's hidden Saturation plot was 640 × 480 wide while
    the page laid it out 940 wide, clipping the plot; the second was right)."""
    from rnnviz.app.drawing.grad_render import caption_height, plot_caption, save_plot

    view = on_page(qtbot, window, cell, page)
    plot = view.current_plot()
    assert plot.isVisible()
    save_plot(view, tmp_path / "first.svg")
    save_plot(view, tmp_path / "first.png")
    caption = plot_caption(view)
    if page == 2:  # the forward's σ gates: no loss enters them
        assert "gate saturation" in caption and "loss" not in caption, caption
    head = caption_height(caption, plot.width())
    size = (plot.width(), plot.height() + head)
    assert svg_box(tmp_path / "first.svg") == size
    assert png_size(tmp_path / "first.png") == size
    save_plot(view, tmp_path / "second.svg")
    assert svg_box(tmp_path / "second.svg") == size


def test_an_elman_rnn_saturation_page_exports_no_plot(qtbot, window, tmp_path, monkeypatch):
    """The page hides its plot and says an Elman RNN has no σ gates; Export… wrote the hidden,
    empty plot anyway (its first file clipped), under a caption saying "gate saturation".
    Now it says what the page says, in a message, and writes nothing."""
    from rnnviz.app.views.grad_panels import NO_GATES

    view = on_page(qtbot, window, "rnn", 2)
    assert NO_GATES in view.saturation_text.text() and not view.saturation.isVisible()
    warnings: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _w, _t, text: warnings.append(text))
    for name in ("s.png", "s.svg", "s.csv"):
        path = tmp_path / name
        monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *_a, p=path: (str(p), ""))
        qtbot.mouseClick(view.export_button, Qt.MouseButton.LeftButton)
        assert not path.exists(), name
    assert len(warnings) == 3 and all(NO_GATES in w for w in warnings), warnings
    # The other pages of the same RNN still export.
    view.pages.setCurrentIndex(1)
    qtbot.mouseClick(view.export_button, Qt.MouseButton.LeftButton)
    assert (tmp_path / "s.csv").exists() and len(warnings) == 3
