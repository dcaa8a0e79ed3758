"""The tabs behind the Graph tab at launch (Gates, Gradients, Training) are built when first
shown or asked for: building the window imports no pyqtgraph, and a tab opened later shows
the present exactly as an eagerly built one would."""

from __future__ import annotations

import numpy as np
from app_helpers import run_probe, wait_traced

from rnnviz.app.lazy_view import LazyView
from rnnviz.document.document import GRAD

PROBE = """
import sys
from PySide6.QtWidgets import QApplication
app = QApplication(["rnnviz-test"])
app.setOrganizationName("rnnviz-test")
from rnnviz.app.window import MainWindow
from rnnviz.document.document import Document
win = MainWindow(Document())
win.persist = False
win.show()
app.processEvents()
print("PYQTGRAPH", "pyqtgraph" in sys.modules, flush=True)
win.deck.main_tabs.setCurrentIndex(1)  # a click on the Gates tab
print("GATES", "pyqtgraph" in sys.modules, type(win.deck.current_views()[0]).__name__, flush=True)
win.runner.shutdown()
"""


def test_building_and_showing_the_window_does_not_import_pyqtgraph(tmp_path):
    p = run_probe(PROBE, tmp_path)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith(("PYQTGRAPH", "GATES"))]
    assert lines == ["PYQTGRAPH False", "GATES True GateView"], (lines, p.stderr[-800:])


def test_lazy_tabs_are_unbuilt_until_shown_or_asked_for(window):
    for tab in (window.gate_tab, window.gradients_tab, window.training_tab):
        assert isinstance(tab, LazyView) and not tab.built
    gates = window.gate_view  # asking for it builds it, hidden behind the Graph tab
    assert window.gate_tab.built and type(gates).__name__ == "GateView"
    assert window.gate_view is gates and not gates.isVisible()
    assert not window.gradients_tab.built and not window.training_tab.built
    assert window.deck.main_tabs.widget(1) is window.gate_tab  # its tab stays in place
    # Hidden, it draws nothing (as an eagerly built one did); brought to the front, it draws.
    assert gates.images == {}
    window.deck.show_view(gates)
    assert window.deck.current_views() == [gates] and gates.isVisible()
    snap = window.state.snapshot
    np.testing.assert_array_equal(gates.images["f"].image, snap.trace.gates[(0, "fwd", "f")][:, 0])


def test_opening_gates_after_a_trace_shows_that_trace(qtbot, window):
    state = window.state
    state.select(layer=1, direction="bwd", t=3, unit=1)
    with qtbot.waitSignal(state.sigSnapshotChanged, timeout=60_000):
        window.config_panel.widgets["hidden_size"].setValue(7)
        window.runner.start_now()
    wait_traced(qtbot, window.runner)
    assert not window.gate_tab.built
    window.deck.main_tabs.setCurrentWidget(window.gate_tab)  # as a click on the tab
    assert window.gate_tab.built
    gates = window.deck.current_views()[0]
    assert gates is window.gate_view and gates.isVisible()
    snap = state.snapshot
    assert snap.spec.hidden_size == 7
    assert {"i", "f", "g", "o", "c"} <= set(gates.images)
    for gate in gates.images:
        np.testing.assert_array_equal(
            gates.images[gate].image, snap.trace.gates[(1, "bwd", gate)][:, 0, :]
        )
    assert gates.cursor_t() == 3 and gates.cursor_unit() == 1
    assert gates.layer_spin.value() == 1 and gates.direction_combo.currentData() == "bwd"


def test_gradients_built_hidden_computes_nothing_until_shown(qtbot, window):
    state = window.state
    view = window.gradients_view  # built, not shown: it wants nothing
    assert window.gradients_tab.built and not view.isVisible()
    assert GRAD not in state.wanted() and state.result(GRAD) is None
    window.deck.show_view(view)
    assert GRAD in state.wanted()
    qtbot.waitUntil(lambda: state.result(GRAD) is not None, timeout=60_000)
    qtbot.waitUntil(lambda: view.result is state.result(GRAD), timeout=10_000)
    window.deck.show_view(window.graph_view)
    assert GRAD not in state.wanted()


def test_moving_tabs_between_panes_opens_no_lazy_tab(qtbot, window):
    deck = window.deck
    # Shapes in front: moving the tabs shows each tab after it for a moment (Gradients too).
    deck.show_view(window.shapes_view)
    deck.set_two_panes(True)
    deck.set_two_panes(False)
    assert not window.gate_tab.built and not window.gradients_tab.built
    assert not window.training_tab.built
    assert not any(isinstance(v, LazyView) for v in deck.current_views())


def test_the_window_starts_its_first_trace_unasked(qtbot):
    """No view asks for anything at launch now that Training is built late; the window
    itself starts the first trace (launch holds it until the first paint)."""
    from app_helpers import SMALL

    from rnnviz.app.window import MainWindow
    from rnnviz.config.options import RunOptions
    from rnnviz.document.document import Document

    win = MainWindow(Document(SMALL, RunOptions()))
    win.persist = False
    qtbot.addWidget(win)
    win.runner.hold()
    win.show()
    with qtbot.waitSignal(win.state.sigSnapshotChanged, timeout=60_000):
        win.runner.release()
    wait_traced(qtbot, win.runner)
    assert win.state.snapshot.spec == SMALL and not win.training_tab.built
    win.close()


def test_a_preset_colour_scale_waits_for_the_gates_view(qtbot, window, monkeypatch):
    """A preset with a gate scale (and `rnnviz gui --scale-mode`) used to build the Gates
    view to set it, before the first paint; the scale now waits for the view's build, and
    the export dialog starts at it meanwhile."""
    from rnnviz.config.presets import PRESETS

    p = next(p for p in PRESETS if p.gate_scale)
    window.load_preset(p.key)
    assert not window.gate_tab.built  # nothing built to remember the scale
    assert window.gate_scale() == p.gate_scale

    import rnnviz.app.dialogs.export_dialog as export_dialog

    seen: list[str | None] = []
    monkeypatch.setattr(
        export_dialog, "show_export_dialog", lambda _s, _p, scale_mode: seen.append(scale_mode)
    )
    window.export_dialog()
    assert seen == [p.gate_scale] and not window.gate_tab.built

    gates = window.gate_view  # built now: it opens in the preset's scale
    assert gates.scale_mode() == p.gate_scale and window.gate_scale() == p.gate_scale
    window.set_gate_scale("fixed")  # once built, set on the view at once
    assert gates.scale_mode() == "fixed" and window.gate_scale() == "fixed"


def test_a_gate_scale_that_does_not_exist_is_refused_before_any_build(window):
    import pytest

    with pytest.raises(ValueError):
        window.set_gate_scale("log")
    assert not window.gate_tab.built and window.gate_scale() is None
