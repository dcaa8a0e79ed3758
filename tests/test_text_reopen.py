"""Reopening a run file retrains it: the retraining reproduces every epoch of the file."""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz.document.document import ResultKey
from rnnviz.document.jobs import JobContext
from rnnviz.document.training import TRAIN, TrainRequest, reproduction, run_training
from rnnviz.io.run_file import load_run, save_run
from rnnviz.text.presets import text_preset
from rnnviz.text.training import train


@pytest.mark.parametrize("key", ["hello-ohlol-cell", "hello-ohlol-rnn", "hello-ohlol-embedding"])
def test_retraining_reproduces_every_epoch_bit_for_bit(key):
    s = text_preset(key).settings
    a, b = train(s), train(s)
    assert [e.loss for e in a.epochs] == [e.loss for e in b.epochs]
    for ea, eb in zip(a.epochs, b.epochs):
        assert ea.predicted == eb.predicted
        for name in ea.state:
            np.testing.assert_array_equal(ea.state[name], eb.state[name])


def test_reopened_file_is_checked_against_its_history(tmp_path):
    s = text_preset("hello-ohlol-rnn").settings
    run = train(s)
    path = tmp_path / "r.pt"
    save_run(run, path)
    saved = load_run(path)
    msg, ok = reproduction(train(saved.settings), saved)
    assert ok and "all 15 losses match" in msg
    # Through the job, as the window does: the request carries the file.
    req = TrainRequest(saved.settings, 1, saved, str(path))
    from rnnviz.config.options import RunOptions
    from rnnviz.config.spec import Spec

    hist = run_training(
        ResultKey(TRAIN, Spec(), RunOptions(), req), JobContext(lambda p: None, lambda: False)
    )
    assert hist.reproduced and hist.reproduction == msg
    # A file whose history was edited is not reproduced, and says where.
    history = list(saved.history)
    history[4] = dict(history[4], loss=history[4]["loss"] + 0.5)
    edited = type(saved)(saved.settings, saved.pipeline, saved.initial, saved.final, tuple(history))
    msg, ok = reproduction(run, edited)
    assert not ok and "losses differ by up to 0.5" in msg
