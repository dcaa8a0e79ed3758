"""IndexAxis labels every whole index it can, whichever way the view runs."""

from __future__ import annotations

import pytest
from app_helpers import axis_draw_specs, shown_view

from rnnviz.app.views.gate_view import GateView
from rnnviz.config.options import RunOptions
from rnnviz.config.presets import preset


def _texts(axis) -> list[str]:
    """The labels the axis would draw now."""
    return [text for _, _, text in axis_draw_specs(axis)]


@pytest.mark.parametrize("units", [1, 2, 3, 5])
def test_a_few_units_each_get_their_label(qtbot, units):
    """rnncell-4-2 (hidden_size 2) showed a unit axis with no labels at all: the view is
    inverted (unit 0 on top), so the axis was asked for ticks over a reversed range."""
    p = preset("rnncell-4-2")
    spec = p.spec.replace(hidden_size=units) if units != 2 else p.spec
    _, view = shown_view(qtbot, GateView, spec, p.options or RunOptions(), size=(1000, 520))
    qtbot.waitUntil(lambda: bool(view.plots), timeout=30_000)
    qtbot.wait(20)
    for plot in view.plots.values():
        texts = sorted(int(text) for text in _texts(plot.getAxis("left")))
        assert texts == list(range(units)), (plot.titleLabel.text, texts)


@pytest.mark.parametrize("steps", [60, 100])
def test_time_axis_labels_step_zero(qtbot, steps):
    """On a 60–100 step run the t axis started at "10": "0" pokes half a label past the
    axis's end, and pyqtgraph dropped such labels."""
    p = preset("grad-vanishing")
    spec = p.spec.replace(seq_len=steps)
    _, view = shown_view(qtbot, GateView, spec, p.options or RunOptions(), size=(1000, 520))
    qtbot.waitUntil(lambda: bool(view.plots), timeout=30_000)
    qtbot.wait(20)
    for plot in view.plots.values():
        assert "0" in _texts(plot.getAxis("bottom"))
