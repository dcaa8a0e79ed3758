"""Training as a document result, through the one Runner, without Qt.

The runner posts to a queue that the test pumps, as the GUI thread would."""

from __future__ import annotations

import contextlib
import queue
import subprocess
import sys
import time
from collections.abc import Callable

import numpy as np
import pytest

from rnnviz.document.document import Document
from rnnviz.document.runner import Runner
from rnnviz.document.training import (
    TRAIN,
    TextSnapshot,
    history,
    request_training,
    show_epoch,
    shown_epoch,
)
from rnnviz.text.presets import text_preset
from rnnviz.text.training import train


@pytest.fixture
def pumped():
    q: queue.Queue[Callable[[], None]] = queue.Queue()
    doc = Document()
    runner = Runner(doc, post=q.put, debounce_s=0.01)

    def pump(until: Callable[[], bool], timeout: float = 30.0) -> None:
        end = time.monotonic() + timeout
        while not until():
            if time.monotonic() > end:
                raise TimeoutError("condition not reached")
            with contextlib.suppress(queue.Empty):
                q.get(timeout=0.05)()

    yield doc, runner, pump
    runner.shutdown()


def _done(doc: Document) -> bool:
    h = history(doc)
    return h is not None and h.done


def test_training_job_streams_epochs_and_matches_train(pumped):
    doc, _runner, pump = pumped
    settings = text_preset("hello-ohlol-rnn").settings
    seen: list[int] = []
    doc.sigResultChanged.connect(
        lambda key: seen.append(len(doc.results[key].epochs)) if key.kind == TRAIN else None
    )
    request_training(doc, settings)
    pump(lambda: _done(doc))
    h = history(doc)
    assert h is not None and not h.cancelled
    assert len(h.epochs) == 15 and seen[-1] == 15
    assert seen[0] == 1  # the first epoch lands as a partial result before the last
    direct = train(settings)
    assert h.losses == direct.losses  # the job is rnnviz.text.training.train, same seed
    assert h.epochs[14].predicted == ("ohlol",)
    # A spec edit leaves the training alone: its key is its request, not the spec.
    doc.edit_spec(hidden_size=7)
    assert history(doc) is h


def test_epoch_slider_source_traces_that_epoch(pumped):
    doc, _runner, pump = pumped
    request_training(doc, text_preset("hello-ohlol-embedding").settings)
    pump(lambda: _done(doc))
    assert show_epoch(doc, 1)
    pump(lambda: isinstance(doc.snapshot, TextSnapshot) and doc.snapshot.epoch == 1)
    first = doc.snapshot
    assert doc.spec == first.spec == history(doc).spec
    assert (first.spec.cell, first.spec.input_size, first.spec.hidden_size) == ("rnn", 10, 8)
    assert first.spec.num_layers == 2 and first.spec.seq_len == 5
    assert first.stages.stage("predicted").value.shape == (1, 5)
    assert show_epoch(doc, 15)
    pump(lambda: doc.snapshot.epoch == 15)
    last = doc.snapshot
    assert shown_epoch(doc) == 15
    a, b = first.trace.gate(0, "fwd", "h"), last.trace.gate(0, "fwd", "h")
    assert a.shape == b.shape and not np.allclose(a, b)
    assert last.trace.max_abs_diff < 1e-5  # the epoch trace is verified like any trace
    assert not show_epoch(doc, 16)
    # Editing the spec goes back to random inputs.
    doc.edit_spec(hidden_size=3)
    assert shown_epoch(doc) is None
    pump(lambda: doc.snapshot.spec.hidden_size == 3)
    assert not isinstance(doc.snapshot, TextSnapshot)


def test_pause_holds_and_cancel_keeps_finished_epochs(pumped):
    doc, _runner, pump = pumped
    settings = text_preset("tagger").settings.replace(epochs=400)
    doc.set_paused(TRAIN, True)
    request_training(doc, settings)
    pump(lambda: doc.job.running)
    time.sleep(0.3)
    pump(lambda: True)
    assert history(doc) is None  # paused before the first epoch: nothing ran
    doc.set_paused(TRAIN, False)
    pump(lambda: history(doc) is not None and len(history(doc).epochs) >= 2)
    doc.set_paused(TRAIN, True)
    # While paused, the trace lane still works: the views can show an epoch.
    n = len(history(doc).epochs)
    assert show_epoch(doc, 1)
    pump(lambda: isinstance(doc.snapshot, TextSnapshot))
    assert doc.snapshot.spec.cell == "lstm"
    doc.cancel_kind(TRAIN)
    pump(lambda: _done(doc))
    h = history(doc)
    assert h.cancelled and n <= len(h.epochs) < 400
    assert h.losses == train(settings, epochs=len(h.epochs)).losses


def test_a_paused_history_holds_every_epoch_the_loop_ran(pumped):
    """Partials are posted at most every PARTIAL_EVERY_S, so the one before a Pause lagged
    the loop by several fast epochs: "paused: epoch 212/5000" while 229 had run. The loop
    now posts every epoch the moment it holds, and says so (`paused`); a cancel while held
    runs no more, so the final count is the paused one."""
    doc, _runner, pump = pumped
    settings = text_preset("hello-ohlol-embedding").settings.replace(epochs=100_000)
    request_training(doc, settings)
    pump(lambda: history(doc) is not None and len(history(doc).epochs) >= 50)
    doc.set_paused(TRAIN, True)
    assert not history(doc).paused  # asked for; the loop finishes its epoch first
    pump(lambda: history(doc).paused)
    n = len(history(doc).epochs)
    doc.cancel_kind(TRAIN)
    pump(lambda: _done(doc))
    assert len(history(doc).epochs) == n
    assert not history(doc).paused


_TEAM_SCRIPT = """
import contextlib, os, queue, threading, time
from rnnviz.config.spec import Spec
from rnnviz.document.document import Document
from rnnviz.document.runner import Runner
from rnnviz.document.training import history, request_training
from rnnviz.text.presets import text_preset
q = queue.Queue()
doc = Document(Spec("gru", 64, 256, 2, bidirectional=True, seq_len=300, batch_size=8))
runner = Runner(doc, post=q.put, debounce_s=0.01)
def pump(until):
    end = time.monotonic() + 120
    while not until() and time.monotonic() < end:
        with contextlib.suppress(queue.Empty):
            q.get(timeout=0.05)()
def native_only():  # threads Python did not start: OpenMP's workers (and none else here)
    return len(os.listdir("/proc/self/task")) - threading.active_count()
runner.start_now()  # a two-thread trace on the trace lane, as the window does first
pump(lambda: doc.snapshot is not None and not runner.busy)
before = native_only()
request_training(doc, text_preset("hello-ohlol-embedding").settings)
pump(lambda: history(doc) is not None and history(doc).done and not runner.busy)
print("THREADS", before, native_only(), history(doc).done)
runner.shutdown()
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts /proc/self/task")
def test_training_starts_no_openmp_team_beside_the_traces():
    """After a two-thread trace, a training run starts no OpenMP worker of its own (it runs
    torch on one thread from its first op). With a second team, two teams share two cores
    and every later two-thread trace on the trace lane ran slower (measured here with torch
    alone: 1.6x for a GRU 64/256/2 bi forward, 15x for a small LSTM)."""
    out = subprocess.run(
        [sys.executable, "-c", _TEAM_SCRIPT], capture_output=True, text=True, timeout=300
    )
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("THREADS")).split()
    before, after, done = int(line[1]), int(line[2]), line[3]
    assert done == "True"
    assert after == before, out.stdout
