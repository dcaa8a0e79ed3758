"""Shared constants and waits for the window tests (imported by conftest and test modules)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from rnnviz.app.qt_post import TraceRunner
from rnnviz.config.spec import Spec

#: Small and quick; the default configuration of most tests.
SMALL = Spec("lstm", 5, 6, 2, bidirectional=True, seq_len=6, batch_size=1)
#: Big enough that a trace is still running long after a cancel flag is set.
SLOW = Spec("lstm", 64, 256, 2, seq_len=5000, batch_size=1)


def front(window, view):
    """Bring `view`'s tab to the front of `window`, as a click on the tab would, and return
    it: a view behind another tab draws nothing until it is shown."""
    window.deck.show_view(view)
    return view


def wait_traced(qtbot, runner: TraceRunner, timeout: int = 60_000) -> None:
    """Wait until the runner has nothing running or waiting."""
    qtbot.waitUntil(lambda: not runner.busy, timeout=timeout)


def shown_view(qtbot, cls, spec: Spec = SMALL, options=None, size=(1000, 520)):
    """A view of class `cls` over a fresh Document on `spec`, shown at `size`, with the
    snapshot computed in this thread (no runner): (state, view)."""
    from rnnviz.config.options import RunOptions
    from rnnviz.document.document import Document
    from rnnviz.document.snapshot import compute_snapshot

    options = options or RunOptions()
    state = Document(spec, options)
    view = cls(state)
    qtbot.addWidget(view)
    view.resize(*size)
    view.show()
    state.set_snapshot(compute_snapshot(spec, options))
    return state, view


def run_probe(code: str, home: Path) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter, offscreen, with `home` as a throwaway HOME for the
    settings it may write; what it imports is its own, not this test process's."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=str(home))
    env.pop("XDG_CONFIG_HOME", None)  # the throwaway HOME holds the settings
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env
    )


def axis_draw_specs(axis) -> list:
    """The (rect, flags, text) of every tick label a pyqtgraph axis would paint now, as
    pyqtgraph lays them out (its generateDrawSpecs, on a scratch painter)."""
    from PySide6.QtGui import QImage, QPainter

    image = QImage(16, 16, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        specs = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    return list(specs[2]) if specs else []


def drawn_fully(scene) -> list[tuple]:
    """Everything a reader sees in a graph scene, item by item: kind, place, size, text,
    tooltip, and for text its parent's place (sorted, so the order items were made in does
    not count)."""
    out = []
    for item in scene.items():
        if not item.isVisible():
            continue
        pos, rect = item.scenePos(), item.boundingRect()
        text = item.text() if hasattr(item, "text") else ""
        out.append(
            (
                type(item).__name__,
                round(pos.x(), 3),
                round(pos.y(), 3),
                round(rect.width(), 3),
                round(rect.height(), 3),
                text,
                item.toolTip(),
                item.zValue(),
            )
        )
    return sorted(out)


def epoch_snapshot(key: str, epoch: int):
    """Text preset `key` trained in this thread, and its epoch `epoch` as the window's trace
    job makes it (`run_epoch_trace`): (TrainingRun, TextSnapshot)."""
    from rnnviz.config.options import RunOptions
    from rnnviz.document.document import TRACE, ResultKey
    from rnnviz.document.training import (
        EpochSource,
        TrainingHistory,
        TrainRequest,
        run_epoch_trace,
    )
    from rnnviz.engine.inputs import spec_of
    from rnnviz.text.pipeline import run_pipeline
    from rnnviz.text.presets import text_preset
    from rnnviz.text.training import train

    s = text_preset(key).settings
    run = train(s)
    first = run_pipeline(run.pipeline, run.initial)
    spec = spec_of(first.model.recurrent, first.rnn_input)
    req = TrainRequest(s, 1)
    hist = TrainingHistory(
        req, run.settings, run.pipeline, spec, run.initial, run.epochs, 15, run.final, True
    )
    src = EpochSource(req, epoch, None, hist)
    return run, run_epoch_trace(ResultKey(TRACE, spec, RunOptions(), src), None)


def gradients_on_screen(qtbot, window):
    """The window's Gradients view, brought to the front and waited on until it shows the
    document's current gradients and nothing is running."""
    from rnnviz.document.document import GRAD

    view = window.gradients_view
    window.deck.show_view(view)
    qtbot.waitUntil(
        lambda: (
            window.state.result(GRAD) is not None
            and view.result is window.state.result(GRAD)
            and not window.runner.busy
        ),
        timeout=60_000,
    )
    return view
