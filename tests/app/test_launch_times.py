"""Launch order and its measurement (rnnviz.app.launch_times): a real `rnnviz gui` process
paints its window before torch is imported in it, then shows the first trace, made in a child
process meanwhile (rnnviz.document.first_trace); the measurement keeps the user's settings out
of it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from rnnviz.app.launch import DEFAULT_PRESET
from rnnviz.app.launch_times import launch_once

ROOT = Path(__file__).resolve().parents[2]


def test_the_window_paints_first_then_shows_the_childs_first_trace(tmp_path):
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
    assert not run.torch_before_paint  # torch's import here waits for the first trace
    assert run.from_child  # traced by the child that imported torch meanwhile
    assert 0 < run.painted < run.first_trace
    # The launch wrote its settings (on SIGTERM the window closes the normal way) into a
    # throwaway directory of its own, never into the user's.
    assert list(config.iterdir()) == []


DRAW_WITHOUT_TORCH = """
import sys
from PySide6.QtWidgets import QApplication
from rnnviz.app.window import MainWindow
from rnnviz.config.presets import preset
from rnnviz.document.document import Document
from rnnviz.document.first_trace import first_trace
from rnnviz.engine.trace_child import TraceChild

p = preset(sys.argv[1])
app = QApplication([])
doc = Document(p.spec, p.options)
first = first_trace(TraceChild.start(), doc.spec, doc.options, (0, "fwd"))
snap = first.wait(lambda: False)
window = MainWindow(doc)
window.runner.hold()  # nothing traced here: the child's record is all there is
window.resize(1280, 720)
window.show()
doc.set_snapshot(snap)
for _ in range(5):
    app.processEvents()
image = window.grab()
print(first.used, "torch" in sys.modules, image.width())
window.runner.shutdown()
"""


def test_the_childs_first_trace_is_drawn_without_torch(tmp_path):
    # Importing torch on the GUI thread would freeze the window for the import's 1-2 s
    # right as the first trace lands (the status bar's gradient badge did so).
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    env["XDG_CONFIG_HOME"] = str(tmp_path)
    out = subprocess.run(
        [sys.executable, "-c", DRAW_WITHOUT_TORCH, DEFAULT_PRESET],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    ).stdout.split()
    assert out == ["True", "False", "1280"]
