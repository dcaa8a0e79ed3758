"""The window at laptop and desktop sizes: every view usable, no text cut without its whole
text in a tooltip, the graph fitted with its row labels in view."""

from __future__ import annotations

import pytest
from app_helpers import wait_traced
from PySide6.QtWidgets import QLabel

from rnnviz.app.widgets import ElidedLabel, plain_text
from rnnviz.app.window import MainWindow
from rnnviz.config.presets import preset
from rnnviz.config.spec import Spec
from rnnviz.document.document import Document

SIZES = [(1280, 720), (1366, 768), (1400, 900), (1920, 1080)]
#: The smallest a view may be and still be read (px).
USABLE = (560, 380)
#: The smallest a gate heatmap's plot area may be (px): the issue saw 10 px.
HEATMAP = (120, 60)
DEEP = Spec("gru", 5, 6, 3, bidirectional=True, seq_len=40, batch_size=1)


def _cut_labels(window) -> list[str]:
    """Visible labels whose text does not fit and whose tooltip does not hold it."""
    bad = []
    for label in window.findChildren(QLabel):
        if not label.isVisible() or label.wordWrap():
            continue
        if isinstance(label, ElidedLabel):
            if label.is_elided() and label.full_text() not in label.toolTip():
                bad.append(label.full_text())
            continue
        text = plain_text(label.text()) if label.textFormat() != 0 else label.text()
        if not text.strip() or "\n" in text:
            continue
        need = label.fontMetrics().horizontalAdvance(text)
        if need > label.contentsRect().width() + 1 and text not in label.toolTip():
            bad.append(text)
    return bad


def traced_window(qtbot, state: Document, size: tuple[int, int] = (1280, 720)) -> MainWindow:
    """A window on `state` at `size`, shown, with its first trace landed."""
    window = MainWindow(state)
    window.persist = False
    qtbot.addWidget(window)
    window.resize(*size)
    window.show()
    with qtbot.waitSignal(state.sigSnapshotChanged, timeout=60_000):
        window.runner.start_now()
    wait_traced(qtbot, window.runner)
    return window


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("spec", [preset("bilstm-2").spec, DEEP], ids=["bilstm-2", "gru-3bi-40"])
def test_every_view_is_usable(qtbot, size, spec):
    state = Document(spec, preset("bilstm-2").options)
    window = traced_window(qtbot, state, size)
    qtbot.wait(50)
    assert window.deck.two_panes == (window.deck.width() >= window.deck.two_pane_width)
    for view in window.deck.views():
        window.deck.show_view(view)
        qtbot.wait(20)
        assert view.isVisible()
        assert view.width() >= USABLE[0] - (0 if not window.deck.two_panes else 200), (
            type(view).__name__,
            view.size(),
        )
        assert view.height() >= USABLE[1], (type(view).__name__, view.size())
        if view is window.gate_view:
            for gate, plot in view.plots.items():
                r = plot.getViewBox().sceneBoundingRect()
                assert r.width() >= HEATMAP[0] and r.height() >= HEATMAP[1], (gate, r)
        assert _cut_labels(window) == [], type(view).__name__
    # The graph opened fitted: its row labels and h0/h_n boxes are in view.
    gv = window.graph_view
    window.deck.show_view(gv)
    qtbot.wait(20)
    seen = gv.canvas.mapToScene(gv.canvas.viewport().rect()).boundingRect()
    body = gv.scene.itemsBoundingRect()
    if gv.zoom() > 0.6 + 1e-6:  # the whole diagram fits at a legible zoom
        assert seen.contains(body.adjusted(2, 2, -2, -2)), (seen, body)


def test_row_labels_stay_in_view_while_panning(qtbot):
    spec = Spec("gru", 5, 6, 3, bidirectional=True, seq_len=200, batch_size=1)
    state = Document(spec, preset("bilstm-2").options)
    window = traced_window(qtbot, state)
    gv = window.graph_view
    qtbot.wait(20)  # the landing's own follow-t scroll first, then the user's pan
    bar = gv.canvas.horizontalScrollBar()
    bar.setValue(bar.maximum())
    qtbot.wait(20)
    texts = [t for t, _ in gv.ruler.visible_labels()]
    assert "layer 2 bwd ←" in texts and "layer 0 fwd →" in texts and "concat → 12" in texts
    # and the selected step far inside the fold is drawn, not folded
    state.select(t=60)
    assert 60 in gv.scene.column_of


def test_gate_view_header_keeps_its_whole_text_when_cut(qtbot):
    """The gate view's caption ('… t 2: h = 2.3611076e+36') and hover line are elided with
    their whole text as tooltip when the window is narrow, never cut silently."""
    p = preset("relu-explode")
    state = Document(p.spec, p.options)
    window = traced_window(qtbot, state)
    gv = window.gate_view
    window.deck.show_view(gv)
    state.select(t=60)
    qtbot.wait(20)
    caption = gv.caption
    assert isinstance(caption, ElidedLabel) and isinstance(gv.hover, ElidedLabel)
    assert caption.full_text().endswith("h = 2.3611076e+36"), caption.full_text()
    assert _cut_labels(window) == []
    # Narrower than its text: drawn with "…", the whole text in the tooltip.
    window.resize(900, 720)
    qtbot.wait(50)
    caption.resize(180, caption.height())
    assert caption.is_elided() and caption.full_text() in caption.toolTip()
    # A heatmap's title, clipped in a narrow plot, has its whole text on hover too.
    for gate, plot in gv.plots.items():
        assert plot.titleLabel.toolTip().startswith(f"{gate} — "), gate


def test_following_t_keeps_the_step_clear_of_the_pinned_row_labels(qtbot):
    """At 1280×720 the graph of LSTM(28, 128) opened scrolled so that t = 0 sat at the left
    edge, under the pinned row labels ("layer 0 fwd →"), which hid the cell and its h0. A
    followed step now stays clear of them, and near the start the view goes all the way
    left, where the scene's own labels show."""
    p = preset("lstm-28-128")
    state = Document(p.spec, p.options)
    window = traced_window(qtbot, state)
    gv = window.graph_view
    qtbot.wait(20)

    def cell_left() -> int:
        return gv.canvas.mapFromScene(gv.scene.cursor_rect().topLeft()).x()

    bar = gv.canvas.horizontalScrollBar()
    assert state.selection.t == 0 and bar.value() == bar.minimum()
    assert not gv.ruler.active() and cell_left() > 0
    for t in (20, 27, 3):
        state.select(t=t)
        qtbot.wait(10)
        left = cell_left()
        width = gv.canvas.viewport().width()
        assert gv.ruler.column_width() + 40 <= left or not gv.ruler.active(), (t, left)
        assert left + gv.scene.cursor_rect().width() * gv.zoom() <= width + 1, (t, left)


def test_two_long_verdicts_elide_instead_of_widening_the_window(qtbot):
    """relu-explode's "agrees with torch up to float32's limit: …" beside the gradients'
    verdict set the window's minimum width to 2,081 px (the window grew past a 1280 px
    screen). Both verdicts now elide, keep their colours, and keep every word in their text
    and tooltip. Both are amber: the gradients, too, differ only where values overflowed."""
    from rnnviz.app.views.status import AMBER
    from rnnviz.document.document import GRAD

    p = preset("relu-explode")
    state = Document(p.spec, p.options)
    window = traced_window(qtbot, state)
    window.deck.show_view(window.gradients_view)
    qtbot.waitUntil(lambda: state.result(GRAD) is not None, timeout=60_000)
    wait_traced(qtbot, window.runner)
    bar = window.status
    qtbot.waitUntil(lambda: bar.grad_badge.isVisibleTo(window), timeout=10_000)
    qtbot.wait(20)
    assert window.minimumSizeHint().width() <= 1280 and window.width() <= 1280
    for badge, start in (
        (bar.badge, "agrees with torch"),
        (bar.grad_badge, "gradients agree with torch up to float32's limit"),
    ):
        assert badge.text().startswith(start)  # the whole verdict, as set
        assert badge.is_elided() and badge.text() in badge.toolTip()
        assert badge.styleSheet() == AMBER
        assert "summation order" in badge.toolTip()  # the explanation follows the text


def test_a_short_verdict_is_shown_whole(qtbot):
    """The badges elide only when the bar is short of room: a style sheet's padding counts
    in the width they ask for (without it "matches torch: max |Δ| = 1.49e-07" was cut)."""
    p = preset("grad-vanishing")
    window = traced_window(qtbot, Document(p.spec, p.options))
    qtbot.wait(20)
    badge = window.status.badge
    assert badge.text().startswith("matches torch") and not badge.is_elided()


def test_a_long_constructor_shortens_the_api_button_instead_of_clipping_it(qtbot):
    """At 1280×720 the dock clipped "Show as RNNCell(10, 32, nonlinearity='relu')" on both
    sides. It now reads "Show as RNNCell(…)" there, with the whole call in its tooltip, and
    the whole call where it fits."""
    p = preset("grad-exploding")
    window = traced_window(qtbot, Document(p.spec, p.options))
    button = window.config_panel.api_button
    full = "Show as RNNCell(10, 32, nonlinearity='relu')"
    assert button.full_text() == full
    assert button.text() == "Show as RNNCell(…)"
    assert button.toolTip().startswith(full) and "same weights" in button.toolTip()
    assert button.fontMetrics().horizontalAdvance(button.text()) < button.width()
    button.resize(button.fontMetrics().horizontalAdvance(full) + 80, button.height())
    assert button.text() == full and not button.toolTip().startswith(full)
