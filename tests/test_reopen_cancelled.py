"""Found by a race review (helper-31, fixed): a reopened run file whose retraining the user cancels (Training view's
Cancel) gets the reproduction verdict of a *finished* retrain: "✗ NOT reproduced: … final
weights differ", as if the file could not be reproduced, when only its first epochs were
retrained (and each of them matched)."""

from __future__ import annotations

from rnnviz.config.options import RunOptions
from rnnviz.config.spec import Spec
from rnnviz.document.document import ResultKey
from rnnviz.document.jobs import JobContext
from rnnviz.document.training import TRAIN, TrainRequest, run_training
from rnnviz.io.run_file import load_run, save_run
from rnnviz.text.presets import text_preset
from rnnviz.text.training import train


def test_cancelled_reopen_is_not_called_not_reproduced(tmp_path):
    s = text_preset("hello-ohlol-rnn").settings
    path = tmp_path / "r.pt"
    save_run(train(s), path)
    saved = load_run(path)
    req = TrainRequest(saved.settings, 1, saved, str(path))
    epochs: list[float] = []
    # The user presses Cancel after the third epoch (the job checks between epochs; each
    # finished epoch reports its progress).
    ctx = JobContext(epochs.append, lambda: len(epochs) >= 3)
    hist = run_training(ResultKey(TRAIN, Spec(), RunOptions(), req), ctx)
    assert hist.cancelled and len(hist.epochs) == 3
    # Each of the three retrained epochs equals the file's (same losses, same predictions):
    for e, h in zip(hist.epochs, saved.history):
        assert abs(e.loss - h["loss"]) <= 1e-5 and list(e.predicted) == list(h["predicted"])
    # ... yet the verdict the Training view shows in red says the file was NOT reproduced.
    assert "NOT reproduced" not in hist.reproduction, hist.reproduction
    assert hist.reproduced
    assert hist.reproduction.startswith("cancelled after 3 of the file's 15 epochs"), (
        hist.reproduction
    )
    assert "final weights were not compared" in hist.reproduction
