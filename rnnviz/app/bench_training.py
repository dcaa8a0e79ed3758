"""The window's frame time while it trains: how long the GUI thread is busy between turns.

The Training view trains tutorial 001's Embedding preset for 300 epochs while the epoch
slider follows the newest epoch, so every view (graph, heatmaps, equations, shapes, loss
curve) repaints as epochs land. A 5 ms timer records the gaps between event-loop turns.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from rnnviz.bench.measure import Measure


def training_frame_measures(app: Any, epochs: int = 300) -> list[Measure]:
    """Median and longest event-loop gap (ms) while the window trains and follows epochs."""
    from PySide6.QtCore import QEventLoop, QTimer

    from rnnviz.app.bench_gui import _wait_idle, _window
    from rnnviz.document.training import epoch_trace_pending, history, shown_epoch

    win = _window()
    _wait_idle(app, win)
    win.deck.show_view(win.training_view)
    tv = win.training_view
    tv.preset_combo.setCurrentIndex(tv.preset_combo.findData("hello-ohlol-embedding"))
    tv.epochs_spin.setValue(epochs)
    app.processEvents()
    gaps: list[float] = []
    # Gaps after the views first show the trained model: the first epoch rebuilds every view
    # for the new model (the gate view's plots: a one-time cost of any model change), the
    # rest is what following the epochs costs.
    steady: list[float] = []
    last = time.perf_counter()
    end = last + 300
    loop = QEventLoop()
    tick = QTimer()
    tick.setInterval(5)

    def on_tick() -> None:
        nonlocal last
        now = time.perf_counter()
        gaps.append(now - last)
        if first_seen[0]:
            steady.append(now - last)
        elif shown_epoch(win.state) is not None and not epoch_trace_pending(win.state):
            first_seen[0] = True
        last = now
        hist = history(win.state)
        if (hist is not None and hist.done and not win.runner.busy) or now > end:
            loop.quit()

    first_seen = [False]
    tick.timeout.connect(on_tick)
    started = time.perf_counter()
    tv.train()
    tick.start()
    loop.exec()
    tick.stop()
    wall = time.perf_counter() - started
    hist = history(win.state)
    win.close()
    n = len(hist.epochs) if hist is not None else 0
    shown = win.epoch_follower.shown
    detail = (
        f"{n} epochs in {wall:.1f} s; the views followed the newest epoch "
        f"({shown} epochs shown, at most one per 100 ms)"
    )
    return [
        Measure(
            "frame time while training (median)", statistics.median(gaps) * 1000, "ms", 33, detail
        ),
        Measure("frame time while training (longest)", max(gaps) * 1000, "ms", 200, detail),
        Measure(
            "frame time while training (longest after the model's first epoch is drawn)",
            max(steady, default=0.0) * 1000,
            "ms",
            200,
            detail,
        ),
    ]
