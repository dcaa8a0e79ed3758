"""The window is built before torch is imported: torch (about a second) loads on the trace
worker, so launch → window visible does not wait for it."""

from __future__ import annotations

import os
import subprocess
import sys

PROBE = """
import sys
from PySide6.QtWidgets import QApplication
app = QApplication(["rnnviz-test"])
app.setOrganizationName("rnnviz-test")
from rnnviz.app.window import MainWindow
from rnnviz.document.document import Document
win = MainWindow(Document())
win.persist = False
print("TORCH", "torch" in sys.modules, flush=True)
win.runner.shutdown()
"""


def test_building_the_window_does_not_import_torch(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path))
    env.pop("XDG_CONFIG_HOME", None)  # the throwaway HOME holds the settings
    p = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, env=env
    )
    line = next((ln for ln in p.stdout.splitlines() if ln.startswith("TORCH")), p.stderr[-500:])
    assert line == "TORCH False", line
