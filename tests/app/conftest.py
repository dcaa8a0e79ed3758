"""Fixtures for the window tests: offscreen Qt, throwaway settings, no leaked threads."""

from __future__ import annotations

import os
import threading

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from app_helpers import SMALL, wait_traced  # noqa: E402
from PySide6.QtCore import QCoreApplication, QSettings  # noqa: E402

# The drawn export formats (SVG/PNG/PDF, gate heatmaps) are registered by the app layer.
import rnnviz.app.drawing.formats  # noqa: E402, F401
from rnnviz.app.qt_post import TraceRunner  # noqa: E402
from rnnviz.config.options import RunOptions  # noqa: E402
from rnnviz.document.document import Document  # noqa: E402


@pytest.fixture(autouse=True)
def no_leaked_threads():
    """Fail any test that leaves a thread (e.g. a trace worker) running."""
    before = set(threading.enumerate())
    yield
    leaked = [t.name for t in threading.enumerate() if t not in before and t.is_alive()]
    assert not leaked, f"threads left running: {leaked}"


@pytest.fixture(autouse=True)
def temp_settings(qapp, tmp_path, monkeypatch):
    """QSettings in a temporary directory under a test organization."""
    old_org = QCoreApplication.organizationName()
    QCoreApplication.setOrganizationName("rnnviz-test")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(
        QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings")
    )
    monkeypatch.delenv("RNNVIZ_MEMORY_BUDGET", raising=False)
    yield tmp_path / "settings"
    QCoreApplication.setOrganizationName(old_org)


@pytest.fixture
def traced(qtbot):
    """An Document on SMALL with a TraceRunner, its first snapshot already landed."""
    state = Document(SMALL, RunOptions())
    runner = TraceRunner(state)
    with qtbot.waitSignal(state.sigSnapshotChanged, timeout=60_000):
        runner.start_now()
    wait_traced(qtbot, runner)
    yield state, runner
    runner.shutdown()


@pytest.fixture
def window(qtbot):
    """A shown MainWindow on SMALL, its first snapshot landed; closed after the test."""
    from rnnviz.app.window import MainWindow

    win = MainWindow(Document(SMALL, RunOptions()))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    with qtbot.waitSignal(win.state.sigSnapshotChanged, timeout=60_000):
        win.runner.start_now()
    wait_traced(qtbot, win.runner)
    yield win
    win.close()
