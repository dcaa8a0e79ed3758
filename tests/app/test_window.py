"""The main window: presets, timeline buttons and keys, status badge, close mid-trace, launch."""

from __future__ import annotations

import threading

import pytest
from app_helpers import SLOW, SMALL, front, wait_traced
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from rnnviz.app.launch import launch
from rnnviz.app.views.config_panel import constructor_line
from rnnviz.app.window import MainWindow
from rnnviz.config.options import RunOptions
from rnnviz.config.presets import PRESETS, preset
from rnnviz.document.document import Document


def test_layout_and_menus(window):
    assert (window.width(), window.height()) == (1400, 900)
    menus = [a.text() for a in window.menuBar().actions()]
    assert menus == ["&File", "&Edit", "&Presets", "&View", "&Help"]
    for dock in (window.config_dock, window.timeline_dock):
        assert dock.isVisible()
    titles = [e.title for e in window.deck.entries]
    assert titles == ["Graph", "Gates", "Shapes", "Equations", "Values", "Gradients", "Training"]
    # Ctrl+1 … pick a view; the picked one is in front
    window.view_actions[1].trigger()
    assert window.gate_view in window.deck.current_views()
    assert window.view_actions[2].shortcut().toString() == "Ctrl+3"
    assert set(window.preset_actions) == {p.key for p in PRESETS}
    for p in PRESETS:
        assert window.preset_actions[p.key].statusTip() == p.description


@pytest.mark.parametrize("key", ["lstm-28-128", "rnncell-4-2", "relu-explode"])
def test_preset_loads_exact_configuration(qtbot, window, key):
    p = preset(key)
    with qtbot.waitSignal(window.state.sigSnapshotChanged, timeout=60_000) as blocker:
        window.preset_actions[key].trigger()
    snap = blocker.args[0]
    assert (snap.spec, snap.options) == (p.spec, p.options)
    assert (window.state.spec, window.state.options) == (p.spec, p.options)
    assert window.config_panel.title.text() == constructor_line(p.spec, p.options)
    if key == "rnncell-4-2":
        assert window.config_panel.title.text() == "RNNCell(4, 2)"
    wait_traced(qtbot, window.runner)


def test_status_badge_reports_verification(window):
    tr = window.state.snapshot.trace
    assert window.status.badge.text() == f"matches torch: max |Δ| = {tr.max_abs_diff:.3g}"
    assert "#2e7d32" in window.status.badge.styleSheet()
    assert window.status.memory.text().startswith("trace ")
    assert not window.status.cancel_button.isVisible()


def test_status_badge_on_overflow(qtbot, window):
    with qtbot.waitSignal(window.state.sigSnapshotChanged, timeout=60_000) as blocker:
        window.load_preset("relu-explode")
    tr = blocker.args[0].trace
    assert tr.nonfinite > 0
    text = window.status.badge.text()
    assert f"max |Δ| = {tr.max_abs_diff:.3g}" in text
    # Amber, in words, and the same words as the Shapes tab and `rnnviz trace`.
    assert text == tr.verdict.text and "float32's limit" in text and "DIFFERS" not in text
    assert "#b36b00" in window.status.badge.styleSheet()
    assert "summation order" in window.status.badge.toolTip()
    assert tr.verdict.text in front(window, window.shapes_view).verdict_label.text()
    # The preset opens on the scale that shows the explosion.
    assert window.gate_view.scale_combo.currentText() == "signed log"
    wait_traced(qtbot, window.runner)


def test_timeline_buttons_move_and_clamp(qtbot, window):
    tl, state = window.timeline, window.state
    assert (state.selection.t, tl.steps) == (0, 6)
    qtbot.mouseClick(tl.forward_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(tl.forward_button, Qt.MouseButton.LeftButton)
    assert state.selection.t == 2 and tl.label.text() == "t = 2 of 0…5"
    qtbot.mouseClick(tl.back_button, Qt.MouseButton.LeftButton)
    assert state.selection.t == 1
    qtbot.mouseClick(tl.last_button, Qt.MouseButton.LeftButton)
    assert state.selection.t == 5 and tl.slider.value() == 5
    tl.step_forward()  # clamps at the end
    assert state.selection.t == 5
    qtbot.mouseClick(tl.first_button, Qt.MouseButton.LeftButton)
    assert state.selection.t == 0
    tl.step_back()  # clamps at the start
    assert state.selection.t == 0
    tl.slider.setValue(4)
    assert state.selection.t == 4


def test_timeline_follows_state_and_new_length(qtbot, window):
    tl, state = window.timeline, window.state
    state.select(t=3)
    assert tl.slider.value() == 3 and tl.label.text() == "t = 3 of 0…5"
    with qtbot.waitSignal(state.sigSnapshotChanged, timeout=60_000):
        state.edit_spec(seq_len=2)
    assert tl.steps == 2 and state.selection.t == 1 and tl.label.text() == "t = 1 of 0…1"


def test_playback_stops_at_the_end(qtbot, window):
    tl, state = window.timeline, window.state
    tl.speed.setValue(60)
    qtbot.mouseClick(tl.play_button, Qt.MouseButton.LeftButton)
    assert tl.playing
    qtbot.waitUntil(lambda: not tl.playing, timeout=10_000)
    assert state.selection.t == 5
    tl.toggle_play()  # at the end, play starts over from 0
    assert tl.playing and state.selection.t == 0
    tl.pause()
    assert not tl.playing


def _press(qtbot, widget, key):
    qtbot.keyClick(widget, key)
    QApplication.processEvents()


def test_keyboard_shortcuts(qtbot, window):
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5_000)
    state = window.state
    window.graph_view.setFocus()
    target = window.graph_view
    _press(qtbot, target, Qt.Key.Key_Right)
    _press(qtbot, target, Qt.Key.Key_Right)
    assert state.selection.t == 2
    _press(qtbot, target, Qt.Key.Key_Left)
    assert state.selection.t == 1
    _press(qtbot, target, Qt.Key.Key_End)
    assert state.selection.t == 5
    _press(qtbot, target, Qt.Key.Key_Right)
    assert state.selection.t == 5
    _press(qtbot, target, Qt.Key.Key_Home)
    assert state.selection.t == 0
    _press(qtbot, target, Qt.Key.Key_Left)
    assert state.selection.t == 0
    _press(qtbot, target, Qt.Key.Key_Space)
    assert window.timeline.playing
    _press(qtbot, target, Qt.Key.Key_Space)
    assert not window.timeline.playing


def test_editor_with_focus_keeps_its_keys(qtbot, window):
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5_000)
    state, panel = window.state, window.config_panel
    state.select(t=2)
    spin = panel.widgets["hidden_size"]
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus, timeout=5_000)
    for key in (Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Home, Qt.Key.Key_End):
        _press(qtbot, spin, key)
    assert state.selection.t == 2
    combo = panel.widgets["cell"]
    combo.setFocus()
    qtbot.waitUntil(combo.hasFocus, timeout=5_000)
    _press(qtbot, combo, Qt.Key.Key_End)  # a combo box gives End to the timeline
    assert state.selection.t == 5 and state.spec.cell == "lstm"
    _press(qtbot, combo, Qt.Key.Key_Left)
    assert state.selection.t == 4 and state.spec.cell == "lstm"
    check = panel.widgets["batch_first"]
    check.setFocus()
    qtbot.waitUntil(check.hasFocus, timeout=5_000)
    _press(qtbot, check, Qt.Key.Key_Space)
    assert check.isChecked() and not window.timeline.playing
    assert state.spec.batch_first
    wait_traced(qtbot, window.runner)


def test_invalid_edit_in_window_keeps_last_snapshot(qtbot, window):
    good = window.state.snapshot
    window.config_panel.widgets["proj_size"].setValue(6)
    assert window.config_panel.errors["proj_size"].isVisible()
    wait_traced(qtbot, window.runner)
    assert window.state.snapshot is good
    assert window.status.badge.text().startswith("matches torch")


def test_close_mid_trace_exits_cleanly(qtbot):
    win = MainWindow(Document(SLOW, RunOptions()))
    qtbot.addWidget(win)
    win.show()
    win.runner.start_now()
    qtbot.waitUntil(lambda: win.state.job.progress > 0, timeout=60_000)
    # Progress and Cancel appear once a trace has run for REVEAL_MS (quick ones never flash).
    qtbot.waitUntil(win.status.cancel_button.isVisible, timeout=5_000)
    workers = [t for t in threading.enumerate() if t.name.startswith("rnnviz-trace")]
    assert win.close()
    assert workers and not any(t.is_alive() for t in workers)
    assert win.state.snapshot is None


def test_cancel_button(qtbot, window):
    good = window.state.snapshot
    window.state.set_spec(SLOW)
    window.runner.start_now()
    assert not window.status.cancel_button.isVisible()  # not for the first REVEAL_MS
    qtbot.waitUntil(window.status.cancel_button.isVisible, timeout=5_000)
    assert window.status.busy.text()
    qtbot.mouseClick(window.status.cancel_button, Qt.MouseButton.LeftButton)
    wait_traced(qtbot, window.runner)
    assert window.state.snapshot is good
    assert not window.status.cancel_button.isVisible()


def test_geometry_and_last_session_restored(qtbot, window):
    from rnnviz.app.user_settings import last_session

    window.resize(700, 500)  # within the offscreen screen (800×800)
    size = (window.width(), window.height())  # the docks' minimum width may widen it
    assert size != (1400, 900)
    window.state.select(t=3)
    window.close()
    restored = last_session()
    assert restored.spec == SMALL and restored.selection["t"] == 3
    win2 = MainWindow(Document())
    qtbot.addWidget(win2)
    win2.restore_layout()
    assert (win2.width(), win2.height()) == size
    win2.close()


def _not_blank(img: QImage) -> bool:
    colors = {img.pixel(x, y) for x in range(0, img.width(), 7) for y in range(0, img.height(), 7)}
    return len(colors) > 20


def test_launch_screenshot(tmp_path, capsys):
    out = tmp_path / "shot.png"
    code = launch(SMALL, RunOptions(), timestep=2, screenshot=out)
    assert code == 0
    img = QImage(str(out))
    assert not img.isNull()
    assert img.width() >= 1000 and img.height() >= 600
    assert _not_blank(img)
    assert "wrote" in capsys.readouterr().out


def test_launch_screenshot_of_refused_spec_fails_cleanly(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RNNVIZ_MEMORY_BUDGET", "1M")
    out = tmp_path / "shot.png"
    code = launch(SLOW, RunOptions(), screenshot=out)
    assert code == 1 and not out.exists()
    assert "memory budget" in capsys.readouterr().err


def test_launch_without_display_explains(monkeypatch, capsys):
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    assert launch(None, None) == 2
    err = capsys.readouterr().err
    assert "QT_QPA_PLATFORM=offscreen rnnviz gui --screenshot out.png" in err
    assert "xvfb-run" in err
