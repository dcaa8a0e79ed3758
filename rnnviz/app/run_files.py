"""File → Open training run… / Save training run…: run files (rnnviz.io.run_file) in the window.

A run file holds the pipeline settings, the initial and final weights and the per-epoch
history (loss, predictions), but not every epoch's weights. Opening one therefore retrains
its settings from its seed on the runner's training lane — the same torch ops on the same
initial weights, which reproduce every epoch — and checks each epoch against the file
(`rnnviz.document.training.reproduction`); the Training view and the status bar say so.
Saving writes the window's finished training with `save_run`, which `rnnviz trace --run`
and `torch.load(..., weights_only=True)` read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QFileDialog

from rnnviz.document.training import history, request_training

RUN_FILTER = "rnnviz training run (*.pt);;All files (*)"


def open_training_run(win: Any, path: str | Path) -> bool:
    """Open the run file `path` in window `win`: its settings in the Training view, its
    epochs retrained and compared with the file. False (and a message) for a bad file."""
    from rnnviz.io.run_file import RunFileError, load_run

    try:
        saved = load_run(path)
    except (RunFileError, OSError) as exc:
        win._file_error("Cannot open training run", str(exc))
        return False
    n = len(saved.history)
    if n == 0:
        win._file_error("Cannot open training run", f"{path}: the run has no epochs")
        return False
    tv = win.training_view
    if hasattr(tv, "load_settings"):
        tv.load_settings(saved.settings)
    request_training(win.state, saved.settings.replace(epochs=n), expect=saved, path=str(path))
    win.deck.show_view(tv)
    win.status.showMessage(
        f"opened {path}: {n} epochs; retraining them from the file's settings and initial "
        "weights to show each epoch (the file keeps no per-epoch weights)",
        10000,
    )
    return True


def save_training_run(win: Any, path: str | Path) -> bool:
    """Write the window's finished training to `path` as a run file; False (and a message)
    when nothing is trained, training still runs, or the file cannot be written."""
    from rnnviz.io.run_file import save_run

    hist = history(win.state)
    if hist is None or not hist.epochs:
        win._file_error("Cannot save training run", "nothing trained yet: press Train first")
        return False
    if not hist.done:
        win._file_error(
            "Cannot save training run", "training is still running: wait for it or cancel it"
        )
        return False
    try:
        save_run(hist.as_run(), path)
    except OSError as exc:
        win._file_error("Cannot save training run", str(exc))
        return False
    win.status.showMessage(
        f"saved {path}: {len(hist.epochs)} epochs (rnnviz trace --run {Path(path).name})", 8000
    )
    return True


def open_run_dialog(win: Any) -> None:
    """File → Open training run…"""
    path, _ = QFileDialog.getOpenFileName(win, "Open training run", "", RUN_FILTER)
    if path:
        open_training_run(win, path)


def save_run_dialog(win: Any) -> None:
    """File → Save training run…"""
    path, _ = QFileDialog.getSaveFileName(win, "Save training run", "run.pt", RUN_FILTER)
    if path:
        save_training_run(win, path)
