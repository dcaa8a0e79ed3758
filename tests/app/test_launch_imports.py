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


PARSER_PROBE = """
import sys
from rnnviz.cli.main import build_parser
import rnnviz.cli.gui
build_parser().parse_args(["gui", "--preset", "bilstm-2"])
print("HEAVY", sorted(m for m in ("numpy", "networkx", "torch", "PySide6") if m in sys.modules))
"""


def test_rnnviz_gui_reaches_its_child_process_before_any_heavy_import(tmp_path):
    """`rnnviz gui` starts the first trace's child process first thing in `cmd_gui`: what runs
    before it (the parser, every command's flags, the gui module) must not import numpy or
    networkx (300 ms here), or the child, and so the first trace, starts that much later."""
    p = run_probe(PARSER_PROBE, tmp_path)
    line = next((ln for ln in p.stdout.splitlines() if ln.startswith("HEAVY")), p.stderr[-500:])
    assert line == "HEAVY []", line


def test_a_child_started_early_is_closed_when_no_window_opens(tmp_path, monkeypatch):
    """When no window opens (here: no display), the child the caller started is ended."""
    from rnnviz.app import launch as launch_mod

    closed = []

    class Child:
        def close(self) -> None:
            closed.append(True)

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    assert launch_mod.launch(None, None, child=Child()) == 2  # no display: refused
    assert closed == [True]
