"""Found by a race review (helper-31, fixed): `rnnviz.engine.threads` records "torch's default thread count" the first time
any lane asks (`_DEFAULT_THREADS`). torch's intra-op count is per thread once a thread has
used it, but a thread that has not yet inherits the value last *set* by any thread. The
training lane sets 1 as its very first torch call (run_training); when it runs before the
trace lane's first `threads_for` (the launch's first trace adopted from the child process
runs no torch on the trace lane), the "default" recorded is 1 and every large trace of the
session runs on one thread."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

SCRIPT = r"""
import threading
import torch
from rnnviz.config.spec import Spec
from rnnviz.engine.threads import threads_for
from rnnviz.document.document import ResultKey
from rnnviz.document.jobs import JobContext
from rnnviz.document.training import TRAIN, TrainRequest, run_training
from rnnviz.config.options import RunOptions
from rnnviz.text.presets import text_preset

LARGE = Spec("lstm", 128, 512, 4, bidirectional=True, seq_len=500, batch_size=4)
before = torch.get_num_threads()  # torch's own default, read on this (main) thread

def lane(fn):
    out = []
    t = threading.Thread(target=lambda: out.append(fn()))
    t.start(); t.join()
    return out[0]

# The training lane trains first (a Train press right after the child's first trace) ...
req = TrainRequest(text_preset("hello-ohlol-rnn").settings.replace(epochs=2), 1)
lane(lambda: run_training(ResultKey(TRAIN, Spec(), RunOptions(), req), JobContext(lambda p: None, lambda: False)))
# ... then the trace lane's first job asks how many threads a large trace gets.
print(before, lane(lambda: threads_for(LARGE)))
"""


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs two cores to have a default > 1")
def test_training_first_does_not_make_one_thread_the_default():
    p = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300, check=True
    )
    default, large = map(int, p.stdout.split())
    assert default > 1
    assert large == default, f"a large trace gets {large} thread(s), torch's default is {default}"
