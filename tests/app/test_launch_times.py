"""Launch order and its measurement (rnnviz.app.launch_times): a real `rnnviz gui` process
paints its window before torch is imported, then shows the first trace; the measurement
keeps the user's settings out of it."""

from __future__ import annotations

import os
from pathlib import Path

from rnnviz.app.launch import DEFAULT_PRESET
from rnnviz.app.launch_times import launch_once

ROOT = Path(__file__).resolve().parents[2]


def test_the_window_paints_before_torch_loads_then_the_first_trace_lands(tmp_path):
    config = tmp_path / "config"
    config.mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "QT_QPA_PLATFORM": "offscreen",
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(config),  # where the user's settings would be
    }
    run = launch_once(DEFAULT_PRESET, env)
    assert run.platform == "offscreen"
    assert not run.torch_before_paint  # torch's import waits for the first paint
    assert 0 < run.painted < run.first_trace
    # The launch wrote its settings (on SIGTERM the window closes the normal way) into a
    # throwaway directory of its own, never into the user's.
    assert list(config.iterdir()) == []
