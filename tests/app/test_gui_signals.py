"""The window ends on SIGTERM, SIGHUP and Ctrl+C (SIGINT) the normal way — window closed,
one line, status 128 + the signal — instead of printing a traceback from whatever Qt
callback the command line's exception landed in and staying up (the bug this guards)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _wait_for_first_trace(proc: subprocess.Popen, seconds: float) -> bool:
    """Read the app's stdout until it reports its first trace painted (RNNVIZ_LAUNCH_TIMES)."""
    seen = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("RNNVIZ_FIRST_TRACE_PAINTED"):
                seen.set()
                return

    threading.Thread(target=read, daemon=True).start()
    return seen.wait(seconds)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_closes_the_window_with_one_line(tmp_path, sig):
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_CONFIG_HOME": str(tmp_path),  # the window saves its settings on close
        "RNNVIZ_LAUNCH_TIMES": "1",
    }
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py")],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert _wait_for_first_trace(proc, 120), "the window never showed its first trace"
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + sig, err
    assert "Traceback" not in err, err
    expected = (
        "rnnviz: interrupted"
        if sig == signal.SIGINT
        else f"rnnviz: terminated by {signal.Signals(sig).name}"
    )
    assert err.strip().splitlines()[-1] == expected, err


def test_a_signal_during_a_screenshot_writes_nothing(qtbot, tmp_path):
    """`rnnviz gui --screenshot` waits for a whole trace; a SIGTERM meanwhile ends it with
    one line and 143, and no file, instead of a traceback and the picture written anyway.
    In-process, under the command line's own handlers as `main` runs it; the signal is sent
    from a timer that fires inside the screenshot's wait."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from rnnviz.app.launch import _screenshot
    from rnnviz.app.window import MainWindow
    from rnnviz.cli.signals import cleanup_on_signals
    from rnnviz.config.options import RunOptions
    from rnnviz.config.spec import Spec
    from rnnviz.document.document import Document

    spec = Spec("lstm", 64, 256, 2, bidirectional=True, seq_len=2000, batch_size=2)
    state = Document(spec, RunOptions())
    window = MainWindow(state)
    state.set_spec(spec, RunOptions(), {})
    out = tmp_path / "shot.png"
    caught = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    before = {sig: signal.getsignal(sig) for sig in caught}
    QTimer.singleShot(20, lambda: os.kill(os.getpid(), signal.SIGTERM))
    with cleanup_on_signals():
        cli_handlers = {sig: signal.getsignal(sig) for sig in caught}
        status = _screenshot(QApplication.instance(), window, out)
        # The window's handlers are gone again: the command line's are back.
        assert {sig: signal.getsignal(sig) for sig in caught} == cli_handlers
    assert {sig: signal.getsignal(sig) for sig in caught} == before
    assert status == 128 + signal.SIGTERM
    assert not out.exists()
    window.runner.shutdown()
