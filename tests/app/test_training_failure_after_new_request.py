"""Found by a race review (helper-31, fixed): a training job's failure that lands after the user already asked for a new
training (the runner's debounce has not started it yet) is reported as the new request's
failure: the Training view then says the new training "failed" for its whole run, with the
old request's reason, and Pause/Cancel stay disabled while it trains."""

from __future__ import annotations

import dataclasses
import threading

from rnnviz.document.training import TRAIN, history, request_training
from rnnviz.text.presets import text_preset


def test_old_requests_failure_is_not_pinned_on_the_new_training(window, qtbot):
    win = window
    tv = win.training_view  # built now (lazy tab)
    good = text_preset("hello-ohlol-rnn").settings
    # Settings the job refuses (check_trainable: head "last" cannot train a map task). Before
    # torch is loaded the view hands them to the job unchecked; request_training does too.
    bad = good.replace(head="last")

    # Know when the training lane has posted its refusal, without the GUI thread running it.
    posted = threading.Event()
    real_post = win.runner._post

    def post(fn):
        real_post(fn)
        if threading.current_thread().name.startswith("rnnviz-train"):
            posted.set()

    win.runner._post = post
    # The first training job waits for `go` before running the real job (which refuses bad
    # settings at once when torch is warm), so the test sees it start.
    go = threading.Event()
    job = win.runner._jobs[TRAIN]

    def held(key, ctx):
        go.wait(30)
        return job.run_source(key, ctx)

    win.runner._jobs[TRAIN] = dataclasses.replace(job, run_source=held)

    r1 = request_training(win.state, bad)
    qtbot.waitUntil(lambda: TRAIN in win.state.jobs, timeout=10_000)  # R1 started
    go.set()
    assert posted.wait(30)  # R1 refused on its lane; the refusal is queued for the GUI
    # The user fixes the form and presses Train again before that refusal is handled:
    r2 = request_training(win.state, good)
    assert r2 != r1
    # ... the GUI thread then handles the queued refusal, and the new request trains.
    qtbot.waitUntil(lambda: (h := history(win.state)) is not None and h.done, timeout=60_000)
    hist = history(win.state)
    assert hist.request == r2 and not hist.cancelled and len(hist.epochs) == 15
    qtbot.wait(50)
    # The new training finished all its epochs; the view must not say it failed.
    assert "failed" not in tv.progress_label.text(), tv.progress_label.text()
    assert tv.error_label.text() == "", tv.error_label.text()
