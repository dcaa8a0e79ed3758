"""Session files: save → load round trip, bad files refused and left byte-for-byte intact."""

from __future__ import annotations

import json

import pytest
from app_helpers import SMALL, wait_traced

from rnnviz.config.options import RunOptions
from rnnviz.config.spec import Spec
from rnnviz.io.session import (
    MAX_RECENT,
    SessionError,
    dumps_session,
    load_session,
    loads_session,
    push_recent,
)

GRU = Spec("gru", 3, 4, 1, seq_len=5, batch_size=2)
GRU_OPTS = RunOptions(seed=7, input_kind="ones", init="randn", weight_scale=2.5)


def test_json_round_trip():
    text = dumps_session(GRU, GRU_OPTS, {"t": 3, "direction": "fwd"})
    data = json.loads(text)
    assert data["version"] == 1 and data["spec"] == GRU.to_dict()
    s = loads_session(text)
    assert (s.spec, s.options, s.selection) == (GRU, GRU_OPTS, {"t": 3, "direction": "fwd"})


@pytest.mark.parametrize(
    "text, reason",
    [
        ('{"version": 1, "spec": {"cell": "lstm", "hidden', "not valid JSON"),
        ("", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"version": 2, "spec": {}}', "newer than this rnnviz"),
        ('{"spec": {}}', "no valid version"),
        ('{"version": 1}', "no spec"),
        ('{"version": 1, "spec": {"cell": "lstm", "proj_size": 9}}', "invalid proj_size"),
        ('{"version": 1, "spec": {"hidden": 3}}', "invalid hidden"),
        ('{"version": 1, "spec": {}, "options": {"seed": -1}}', "invalid seed"),
        ('{"version": 1, "spec": {}, "selection": {"t": "x"}}', "selection t"),
    ],
)
def test_bad_session_text_is_refused(text, reason):
    with pytest.raises(SessionError, match=reason):
        loads_session(text)


def test_recent_list_is_bounded_and_deduplicated(tmp_path):
    recent: list[str] = []
    for i in range(MAX_RECENT + 3):
        recent = push_recent(recent, tmp_path / f"s{i}.json")
    recent = push_recent(recent, tmp_path / "s5.json")
    assert len(recent) == MAX_RECENT
    assert recent[0] == str(tmp_path / "s5.json") and recent.count(recent[0]) == 1


def test_window_save_then_open_round_trips(qtbot, window, tmp_path):
    state = window.state
    with qtbot.waitSignal(state.sigSnapshotChanged, timeout=60_000):
        state.set_spec(GRU, GRU_OPTS)
    state.select(t=3, batch=1)
    path = tmp_path / "a.rnnviz.json"
    assert window.save_session(path)
    assert load_session(path).spec == GRU
    with qtbot.waitSignal(state.sigSnapshotChanged, timeout=60_000):
        state.set_spec(SMALL, RunOptions())
    assert state.selection.t == 3 and state.selection.batch == 0  # SMALL has batch 1
    with qtbot.waitSignal(state.sigSnapshotChanged, timeout=60_000) as blocker:
        assert window.open_session(path)
    assert (blocker.args[0].spec, blocker.args[0].options) == (GRU, GRU_OPTS)
    assert (state.selection.t, state.selection.batch) == (3, 1)
    assert window.config_panel.title.text() == GRU.title()
    assert window.recent_sessions()[0] == str(path.resolve())
    wait_traced(qtbot, window.runner)


@pytest.mark.parametrize(
    "content",
    [
        b'{"version": 1, "spec": {"cell": "gru", "hidden_si',  # truncated
        b"\x89PNG\r\n\x1a\n\x00\x00 corrupt",  # not text at all
        b'{"version": 99, "spec": {"cell": "gru"}}',  # from a future rnnviz
    ],
)
def test_bad_session_file_reports_and_is_not_modified(qtbot, window, tmp_path, content):
    path = tmp_path / "bad.rnnviz.json"
    path.write_bytes(content)
    state = window.state
    spec, snap = state.spec, state.snapshot
    assert not window.open_session(path)
    assert "bad.rnnviz.json" in window.status.currentMessage()
    assert path.read_bytes() == content
    assert state.spec == spec and state.snapshot is snap
    assert window.recent_sessions() == []
    # Closing (which saves settings) must not touch the bad file either.
    window.close()
    assert path.read_bytes() == content


def test_save_to_unwritable_place_reports(window, tmp_path):
    target = tmp_path / "no-such-dir" / "s.json"
    assert not window.save_session(target)
    assert "cannot write" in window.status.currentMessage()
    assert not target.exists()


def test_launch_with_session_screenshot(tmp_path):
    from PySide6.QtGui import QImage

    from rnnviz.app.launch import launch
    from rnnviz.io.session import save_session

    path = tmp_path / "s.rnnviz.json"
    save_session(path, GRU, GRU_OPTS, {"t": 4})
    out = tmp_path / "shot.png"
    assert launch(None, None, session=path, screenshot=out) == 0
    assert QImage(str(out)).width() >= 1000
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"{")
    assert launch(None, None, session=bad, screenshot=out) == 2
    assert bad.read_bytes() == b"{"


def test_recent_menu_reopens_a_session(qtbot, window, tmp_path):
    path = tmp_path / "r.rnnviz.json"
    from rnnviz.io.session import save_session

    save_session(path, GRU, GRU_OPTS, {"t": 2})
    assert window.open_session(path)
    wait_traced(qtbot, window.runner)
    window.state.set_spec(SMALL, RunOptions())
    wait_traced(qtbot, window.runner)
    window.recent_menu.aboutToShow.emit()
    actions = [a for a in window.recent_menu.actions() if a.text() == str(path.resolve())]
    assert len(actions) == 1
    with qtbot.waitSignal(window.state.sigSnapshotChanged, timeout=60_000) as blocker:
        actions[0].trigger()
    assert blocker.args[0].spec == GRU and window.state.selection.t == 2
    assert window.windowTitle() == f"rnnviz — {GRU.title()} — r.rnnviz.json"
    wait_traced(qtbot, window.runner)
