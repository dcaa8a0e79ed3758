"""A trace made in a child process (rnnviz.engine.trace_child) is the trace this process makes,
bit for bit, and every way a child can fail ends in None with a reason, never a hang."""

from __future__ import annotations

import shutil
import threading
import time

import pytest
from test_lanes import assert_same_trace

from rnnviz.config.options import RunOptions
from rnnviz.config.spec import Spec, SpecError
from rnnviz.engine.threads import set_threads_for
from rnnviz.engine.trace_child import TraceChild
from rnnviz.engine.tracing import trace_spec

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # oneDNN's proj_size notice

CASES = [
    # (spec, options, lanes)
    (Spec("lstm", 5, 6, 2, bidirectional=True, seq_len=6, batch_size=1), RunOptions(), "all"),
    (
        Spec("gru", 3, 4, 2, batch_first=True, seq_len=5, batch_size=3),
        RunOptions(seed=7, init="randn"),
        [(1, "fwd")],
    ),
    (
        Spec("rnn", 4, 5, 1, nonlinearity="relu", bias=False, seq_len=4, batch_size=2),
        RunOptions(stepper="cell", weight_scale=3.0),
        "all",
    ),
    (
        Spec("lstm", 4, 6, 2, proj_size=3, bidirectional=True, seq_len=5, batch_size=2),
        RunOptions(input_kind="rand"),
        [(0, "bwd")],
    ),
]


def _here(spec: Spec, options: RunOptions, lanes) -> object:
    set_threads_for(spec)  # what the child and the window's worker do
    return trace_spec(spec, options, lanes=lanes)


@pytest.mark.parametrize("spec, options, lanes", CASES, ids=lambda c: getattr(c, "cell", None))
def test_the_childs_trace_is_this_process_trace_bit_for_bit(spec, options, lanes):
    child = TraceChild.start()
    assert child is not None
    child.request(spec, options, lanes)
    got = child.result(timeout=120)
    assert got is not None, child.error
    want = _here(spec, options, lanes)
    assert_same_trace(got, want)
    assert got.spec == spec and got.api == want.api and got.source == want.source
    assert got.params.keys() == want.params.keys()
    for name in want.params:
        assert (got.params[name] == want.params[name]).all(), name
    assert got.verified_lanes == want.verified_lanes
    child.close()


def test_a_refused_request_comes_back_as_its_error():
    child = TraceChild.start()
    assert child is not None
    # A Cell steps one layer only: trace_spec in the child refuses, as it does here.
    spec, options = Spec("lstm", 3, 4, 2, seq_len=3, batch_size=1), RunOptions(stepper="cell")
    child.request(spec, options)
    assert child.result(timeout=120) is None
    with pytest.raises(SpecError) as here:
        trace_spec(spec, options)
    assert child.error == f"SpecError: {here.value}"


def test_a_child_that_cannot_start_is_none():
    assert TraceChild.start("/nonexistent/python") is None


def test_a_child_that_dies_gives_none_with_its_exit_status():
    false = shutil.which("false")
    assert false is not None
    child = TraceChild.start(false)  # exits at once, status 1, whatever it is asked
    assert child is not None
    child.request(Spec("rnn", 2, 3, 1, seq_len=2, batch_size=1), RunOptions())
    assert child.result(timeout=30) is None
    assert child.error == "the child process ended without a trace (exit status 1)"


def test_a_cancelled_wait_returns_at_once_and_close_ends_the_child():
    child = TraceChild.start()
    assert child is not None
    child.request(Spec("rnn", 2, 3, 1, seq_len=2, batch_size=1), RunOptions())
    started = time.monotonic()
    assert child.result(cancel=lambda: True) is None
    assert child.error == "cancelled" and time.monotonic() - started < 1.0
    child.close()
    assert child._proc.poll() is not None  # no process left behind


def test_a_child_never_asked_exits_on_its_own():
    child = TraceChild.start()
    assert child is not None
    assert child._proc.stdin is not None
    child._proc.stdin.close()  # what a parent that went on without it leaves
    assert child._proc.wait(timeout=120) == 0
    assert child.result(timeout=5) is None and "exit status 0" in child.error


def test_what_libraries_print_cannot_break_the_answer(monkeypatch):
    """oneDNN and MKL write their diagnostics to stdout; the answer has a channel of its own
    (with ONEDNN_VERBOSE=1 the reader had taken their text for a frame length and the wait
    ran to its 300 s timeout)."""
    monkeypatch.setenv("ONEDNN_VERBOSE", "1")
    monkeypatch.setenv("MKL_VERBOSE", "1")
    spec = Spec("lstm", 5, 6, 2, bidirectional=True, seq_len=4, batch_size=1)
    child = TraceChild.start()
    assert child is not None
    child.request(spec, RunOptions())
    got = child.result(timeout=120)
    assert got is not None, child.error
    assert_same_trace(got, _here(spec, RunOptions(), "all"))


def test_anything_but_a_frame_ends_the_wait_at_once(tmp_path):
    fake = tmp_path / "fake-python"
    fake.write_text("#!/bin/sh\necho 'not a frame, just text a library printed'\nsleep 30\n")
    fake.chmod(0o755)
    child = TraceChild.start(str(fake))
    assert child is not None
    child.request(Spec("rnn", 2, 3, 1, seq_len=2, batch_size=1), RunOptions())
    started = time.monotonic()
    assert child.result(timeout=60) is None
    assert child.error == "the child's answer is not a trace frame"
    assert time.monotonic() - started < 10
    child.close()


def test_a_released_child_is_reaped_without_waiting_for_it():
    """`release` (the answer is in) returns at once; the child is reaped on a thread."""
    spec, options, lanes = CASES[0]
    child = TraceChild.start()
    assert child is not None
    child.request(spec, options, lanes)
    assert child.result(timeout=120) is not None, child.error
    # No timing: the reap is held until released, and release() must return meanwhile.
    real_close, held, reaper = child.close, threading.Event(), []

    def held_close() -> None:
        reaper.append(threading.current_thread())
        held.wait(30)
        real_close()

    child.close = held_close  # type: ignore[method-assign]
    child.release()  # returns with the reap still held: nothing waited for the exit
    assert not held.is_set()
    deadline = time.monotonic() + 10
    while not reaper and time.monotonic() < deadline:
        time.sleep(0.01)
    assert reaper and reaper[0] is not threading.current_thread()  # reaped on a thread
    held.set()
    while child._proc.returncode is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert child._proc.returncode == 0  # reaped: it exited on its own after answering
