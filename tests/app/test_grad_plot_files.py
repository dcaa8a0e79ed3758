"""The Gradients tab's plot files, checked by parsing them: from the first export on, a file is
the size of the plot on screen (every page of every cell, PNG and SVG alike, and the SVG drawn
by librsvg at 96 dpi the PNG's size, its text the size it was laid out); a page with no plot
(an Elman RNN's Saturation page) writes no file and says why."""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest
from app_helpers import gradients_on_screen
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFileDialog, QMessageBox

from rnnviz.document.document import COMPARE

SVG = "{http://www.w3.org/2000/svg}"


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


def svg_length_px(text: str) -> float:
    """An SVG width/height attribute ("600px", "450pt", "158.75mm", "600") in CSS pixels
    (96 per inch), as librsvg reads it."""
    per_inch = {"px": 96.0, "pt": 72.0, "mm": 25.4, "cm": 2.54, "in": 1.0}
    for unit, n in per_inch.items():
        if text.endswith(unit):
            return float(text[: -len(unit)]) * 96.0 / n
    return float(text)


@pytest.mark.skipif(shutil.which("rsvg-convert") is None, reason="needs rsvg-convert")
@pytest.mark.parametrize("page", [0, 1, 2])
def test_svg_and_png_exports_have_one_size(qtbot, window, tmp_path, page):
    """The plot is laid out at the screen's logical dpi; its SVG declared 72 dpi, so librsvg
    drew it 4/3 the PNG's size, and the widget's point-sized text (laid out at 12 px for
    9 pt at 96 dpi) as 9 units. Now librsvg draws the SVG at 96 dpi the size of the PNG, and
    every text at the size it was laid out."""
    from rnnviz.app.drawing.grad_render import save_plot

    view = on_page(qtbot, window, "lstm", page)
    plot = view.current_plot()
    svg, png, drawn = tmp_path / "p.svg", tmp_path / "p.png", tmp_path / "svg.png"
    save_plot(view, svg)
    save_plot(view, png)
    root = ET.parse(svg).getroot()
    declared = (svg_length_px(root.get("width", "")), svg_length_px(root.get("height", "")))
    dpi = plot.logicalDpiY()
    w, h = svg_box(svg)
    assert declared == pytest.approx((w * 96 / dpi, h * 96 / dpi), abs=1e-6)
    subprocess.run(["rsvg-convert", str(svg), "-o", str(drawn)], check=True)
    if dpi == 96:
        assert png_size(drawn) == png_size(png)
    # The plot's title is 9 pt (axis labels 8 pt, the caption 13 px): in the SVG's units,
    # which are the widget's pixels, as many as the screen gave them.
    sizes = {float(t.get("font-size", "0")) for t in root.iter(f"{SVG}text")}
    sizes |= {float(g.get("font-size", "0")) for g in root.iter(f"{SVG}g") if g.get("font-size")}
    assert any(s == pytest.approx(9 * dpi / 72) for s in sizes) and 9.0 not in sizes, sizes
