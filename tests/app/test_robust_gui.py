"""Issue 15, items 3 and 6 in the window: an edit changes only the edited field (widgets hold
every value the spec accepts), and a last session that cannot be restored is set aside with
one status-bar line instead of stopping every start.

On the old code, editing batch_size after loading this session sent seed 2147483647,
weight_scale 0.001 and dropout 0.99 back; and a 5000-digit integer in `last_session` made
`launch` raise ValueError.
"""

from __future__ import annotations

import signal

import pytest
from app_helpers import wait_traced
from PySide6.QtWidgets import QApplication

from rnnviz.app.user_settings import SET_ASIDE_KEY, settings
from rnnviz.app.window import MainWindow
from rnnviz.config.options import RunOptions
from rnnviz.config.presets import preset
from rnnviz.config.spec import Spec
from rnnviz.io.session import dumps_session, save_session

EXTREME = Spec("lstm", 3, 4, 2, dropout=0.995, seq_len=3, batch_size=1)
EXTREME_OPTS = RunOptions(seed=2**40, weight_scale=1e-5, init="randn")


def test_editing_one_field_keeps_every_other_value_exactly(qtbot, window, tmp_path):
    path = tmp_path / "x.rnnviz.json"
    save_session(path, EXTREME, EXTREME_OPTS)
    state = window.state
    with qtbot.waitSignal(state.sigSnapshotChanged, timeout=60_000):
        assert window.open_session(path)
    panel = window.config_panel
    # The widgets show the values as they are, not clamped or rounded.
    assert panel.value("seed") == 2**40
    assert panel.value("weight_scale") == 1e-5
    assert panel.value("dropout") == 0.995
    assert panel.widgets["weight_scale"].text() == "1e-05"
    assert panel.widgets["dropout"].text() == "0.995"
    with qtbot.waitSignal(state.sigSnapshotChanged, timeout=60_000) as blocker:
        panel.widgets["batch_size"].setValue(3)
    assert state.spec == EXTREME.replace(batch_size=3)
    assert state.options == EXTREME_OPTS
    assert blocker.args[0].options.seed == 2**40
    # Editing an option leaves the spec (and the other options) alone too.
    with qtbot.waitSignal(state.sigOptionsChanged, timeout=60_000):
        panel.widgets["init"].setCurrentText("zeros")
    assert state.options.seed == 2**40 and state.options.weight_scale == 1e-5
    assert state.spec.dropout == 0.995
    wait_traced(qtbot, window.runner)


def test_widget_ranges_are_the_fields_own(qtbot, window):
    panel = window.config_panel
    seed = panel.widgets["seed"]
    seed.setValue(2**63 - 1)
    assert panel.value("seed") == 2**63 - 1
    assert window.state.options.seed == 2**63 - 1
    panel.widgets["dropout"].setValue(0.9999999999999999)
    assert window.state.spec.dropout == 0.9999999999999999
    panel.widgets["weight_scale"].setValue(1e-300)
    assert window.state.options.weight_scale == 1e-300
    wait_traced(qtbot, window.runner)


def test_a_value_the_box_cannot_show_is_kept_and_flagged(qtbot, window):
    with qtbot.waitSignal(window.state.sigSnapshotChanged, timeout=60_000):
        window.state.set_spec(EXTREME, RunOptions(weight_scale=5e-324))
    panel = window.config_panel
    assert "cannot show it" in panel.errors["weight_scale"].text()
    with qtbot.waitSignal(window.state.sigSnapshotChanged, timeout=60_000):
        panel.widgets["seq_len"].setValue(4)
    assert window.state.options.weight_scale == 5e-324  # not rounded by the unrelated edit
    wait_traced(qtbot, window.runner)


def test_a_refused_field_still_applies_once_another_makes_it_valid(qtbot, window):
    panel = window.config_panel
    hidden = window.state.spec.hidden_size
    panel.widgets["proj_size"].setValue(hidden)  # proj_size must be < hidden_size
    assert window.state.spec.proj_size == 0
    assert panel.errors["proj_size"].isVisibleTo(panel)
    panel.widgets["hidden_size"].setValue(hidden + 2)
    assert (window.state.spec.hidden_size, window.state.spec.proj_size) == (hidden + 2, hidden)
    wait_traced(qtbot, window.runner)


# ---- item 6: the last session cannot lock the app out ------------------------------------------
class _NoLoopApp:
    """The real QApplication, except that exec() returns at once (the test drives the loop)."""

    def __init__(self, app):
        self._app = app

    def __getattr__(self, name):
        return getattr(self._app, name)

    def exec(self):
        return 0


def _launched(launch_mod, monkeypatch) -> MainWindow:
    """Run `launch(None, None)` (no event loop) and return the window it opened."""
    from rnnviz.app import window as window_mod

    opened: list[MainWindow] = []

    class Recorded(MainWindow):
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            opened.append(self)

    monkeypatch.setattr(window_mod, "MainWindow", Recorded)
    caught = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    before = {sig: signal.getsignal(sig) for sig in caught}
    try:
        assert launch_mod.launch(None, None) == 0
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
    assert len(opened) == 1
    return opened[0]


@pytest.mark.parametrize(
    "bad",
    [
        '{"version": 1, "spec": {"hidden_size": ' + "9" * 5000 + "}}",
        '{"version": 1, "spec": ' + "[" * 50_000 + "]" * 50_000 + "}",
        '{"version": 1, "spec": {"seq_len": Infinity}}',
        "not json at all",
        dumps_session(Spec(hidden_size=60000, num_layers=64, seq_len=100000), RunOptions()),
    ],
)
def test_bad_last_session_is_set_aside_and_the_app_opens(qtbot, monkeypatch, bad):
    from rnnviz.app import launch as launch_mod

    s = settings()
    s.setValue("last_session", bad)
    s.sync()
    monkeypatch.setattr(launch_mod, "_app", lambda: _NoLoopApp(QApplication.instance()))
    monkeypatch.setattr(launch_mod, "has_display", lambda: True)
    win = _launched(launch_mod, monkeypatch)
    try:
        message = win.status.currentMessage()
        assert message.startswith("last session set aside")
        assert "\n" not in message
        assert win.state.spec == preset(launch_mod.DEFAULT_PRESET).spec
        assert settings().value(SET_ASIDE_KEY) == bad  # kept, not lost
        wait_traced(qtbot, win.runner)
    finally:
        win.persist = False
        win.close()
        win.deleteLater()
    assert settings().value("last_session") is None  # the next start is clean


def test_a_good_last_session_still_restores(qtbot, monkeypatch):
    from rnnviz.app import launch as launch_mod

    good = Spec("gru", 3, 5, seq_len=4)
    settings().setValue("last_session", dumps_session(good, RunOptions(seed=3)))
    monkeypatch.setattr(launch_mod, "_app", lambda: _NoLoopApp(QApplication.instance()))
    monkeypatch.setattr(launch_mod, "has_display", lambda: True)
    win = _launched(launch_mod, monkeypatch)
    try:
        assert win.state.spec == good and win.state.options.seed == 3
        wait_traced(qtbot, win.runner)
    finally:
        win.persist = False
        win.close()
        win.deleteLater()


def test_file_open_of_a_hostile_session_reports_in_the_status_bar(qtbot, window, tmp_path):
    path = tmp_path / "huge.json"
    path.write_text('{"version": 1, "spec": {"hidden_size": ' + "9" * 5000 + "}}")
    spec = window.state.spec
    assert not window.open_session(path)
    assert "huge.json" in window.status.currentMessage()
    assert window.state.spec == spec


def test_settings_file_behind_a_symlink_stays_a_symlink(qtbot, window, tmp_path):
    """Settings are written by QSettings (QSaveFile), which writes through a symlink too."""
    import os

    path = settings().fileName()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    real = tmp_path / "real-settings.ini"
    real.write_text("[General]\nkept=1\n")
    if os.path.lexists(path):
        os.remove(path)
    os.symlink(real, path)
    window.save_settings()
    assert os.path.islink(path)
    text = real.read_text()
    assert "kept=1" in text and "last_session" in text
