"""How many torch threads a run gets (rnnviz.engine.threads): one below ONE_THREAD_MACS,
torch's own default above; `set_threads_for` sets exactly what `threads_for` says, which
is also what the bench's window rows run on."""

from __future__ import annotations

import torch

from rnnviz.config.spec import Spec
from rnnviz.engine import threads
from rnnviz.engine.threads import ONE_THREAD_MACS, set_threads_for, threads_for

SMALL = Spec("rnn", 16, 64, seq_len=200, batch_size=2)
LARGE = Spec("lstm", 128, 512, 4, bidirectional=True, seq_len=500, batch_size=4)


def test_small_runs_get_one_thread_large_ones_the_default():
    before = torch.get_num_threads()
    try:
        assert SMALL.macs < ONE_THREAD_MACS <= LARGE.macs
        default = threads_for(LARGE)
        assert default == threads._DEFAULT_THREADS[0] >= 1
        assert threads_for(SMALL) == 1
        for spec in (SMALL, LARGE, SMALL):
            assert set_threads_for(spec) == threads_for(spec) == torch.get_num_threads()
    finally:
        torch.set_num_threads(before)
