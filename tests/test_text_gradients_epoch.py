"""With a training epoch on screen (text mode) the Gradients view's result is of that
epoch's RNN on the training input, keyed by the epoch: it was keyed by spec and options alone
and computed on a fresh random module and random input, so every epoch showed the untrained
RNN's gradients under a caption that called them the epoch's (found by a review, helper-31)."""

from __future__ import annotations

import contextlib
import queue
import time

import numpy as np
import torch

from rnnviz.document.document import GRAD, Document
from rnnviz.document.runner import Runner
from rnnviz.document.training import TextSnapshot, history, request_training, show_epoch
from rnnviz.text.presets import text_preset
from rnnviz.text.training import epoch_rnn


def _pump(q: queue.Queue, until, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not until():
        assert time.monotonic() < end, "condition not reached"
        with contextlib.suppress(queue.Empty):
            q.get(timeout=0.05)()


def test_gradients_in_text_mode_are_of_the_epoch_shown():
    q: queue.Queue = queue.Queue()
    doc = Document()
    runner = Runner(doc, post=q.put, debounce_s=0.01)
    try:
        request_training(doc, text_preset("hello-ohlol-rnn").settings)
        _pump(q, lambda: (h := history(doc)) is not None and h.done)
        doc.want(GRAD)  # the Gradients tab is open
        shown = {}
        for epoch in (1, 15):
            assert show_epoch(doc, epoch)
            _pump(
                q,
                lambda e=epoch: isinstance(doc.snapshot, TextSnapshot) and doc.snapshot.epoch == e,
            )
            _pump(q, lambda: doc.result(GRAD) is not None and not runner.busy)
            snap, res = doc.snapshot, doc.result(GRAD)
            assert doc.key(GRAD).source == doc.key("trace").source  # keyed by the epoch
            gt = res.grads
            # The gradients' forward is the trace on screen: same weights, same input.
            for name, w in snap.trace.params.items():
                np.testing.assert_array_equal(gt.trace.params[name], w)
            np.testing.assert_array_equal(gt.trace.tensors["input"], snap.trace.tensors["input"])
            assert f"text model: epoch {epoch} weights" in gt.trace.notes
            assert gt.grad_verified
            # torch's own autograd through the epoch's RNN, computed here independently.
            rnn = epoch_rnn(history(doc).as_run(), epoch)
            x = rnn.x.detach().clone().requires_grad_(True)
            out, _ = rnn.module(x, rnn.hx)
            (dx,) = torch.autograd.grad(out[-1].sum(), [x])  # loss "last", time-major
            np.testing.assert_allclose(gt.dx, dx.numpy(), rtol=0, atol=1e-6)
            shown[epoch] = gt.dx
        assert not np.allclose(shown[1], shown[15])  # trained weights, other gradients
    finally:
        runner.shutdown()
