"""The window is built before torch is imported: torch (about a second) loads on the trace
worker, so launch → window visible does not wait for it."""

from __future__ import annotations

from app_helpers import run_probe

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
    p = run_probe(PROBE, tmp_path)
    line = next((ln for ln in p.stdout.splitlines() if ln.startswith("TORCH")), p.stderr[-500:])
    assert line == "TORCH False", line
