"""Waiting for the complete trace (Document.complete_trace), without Qt: the runner verifies only
the pending lanes from the recorded forward, bit for bit the full trace, and every way the
wait could hang ends it with a reason (sigTraceUnfinished) instead."""

from __future__ import annotations

import dataclasses
import re

import pytest
from test_lanes import assert_same_trace

import rnnviz.document.jobs as jobs
from rnnviz.config.options import RunOptions
from rnnviz.config.spec import Spec
from rnnviz.document.document import GRAD, TRACE, Document
from rnnviz.document.snapshot import compute_snapshot
from rnnviz.engine.tracing import trace_spec

SPEC = Spec("lstm", 5, 6, 3, bidirectional=True, seq_len=8, batch_size=2)

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # oneDNN's proj_size notice


def partial_doc(*wanted: str) -> tuple[Document, object]:
    """A document holding what the window holds after its trace was cancelled: one lane of
    six verified, nothing running."""
    doc = Document(SPEC, RunOptions())
    part = compute_snapshot(SPEC, RunOptions(), lanes=[(0, "fwd")])
    doc.set_snapshot(part)
    for kind in wanted:
        doc.want(kind)
    return doc, part


def unfinished(doc: Document) -> list[str]:
    why: list[str] = []
    doc.sigTraceUnfinished.connect(why.append)
    return why


def test_an_idle_partial_trace_is_finished_from_its_forward_bit_for_bit(calls, runs):
    doc, part = partial_doc()
    runner, loop = runs(doc)
    calls.clear()
    doc.complete_trace()
    loop.pump(lambda: doc.snapshot.trace.complete and not runner.busy)
    # Only the five pending lanes were computed: no second forward, no lane twice.
    assert calls == ["complete"] * 5
    done = doc.snapshot.trace
    assert done.tensors is part.trace.tensors  # torch's forward, as recorded
    assert done.verified and doc.finishing is None
    assert_same_trace(done, trace_spec(SPEC))


def test_a_missing_gradient_does_not_keep_the_trace_from_finishing(calls, runs):
    doc, _ = partial_doc(GRAD)  # the Gradients view is open and has no result yet
    runner, loop = runs(doc)
    why = unfinished(doc)
    doc.complete_trace()
    loop.pump(lambda: doc.snapshot.trace.complete and not runner.busy, timeout=30)
    assert doc.result(GRAD) is not None and not why
    assert "compute" not in calls


def test_a_budget_refusal_ends_the_wait_with_its_reason(calls, runs, monkeypatch):
    doc, part = partial_doc()
    runner, loop = runs(doc)
    why = unfinished(doc)
    monkeypatch.setenv("RNNVIZ_MEMORY_BUDGET", "1K")
    doc.complete_trace()
    loop.pump(lambda: bool(why) and not runner.busy)
    assert why[0].startswith("the trace was refused: ") and "memory budget" in why[0]
    assert doc.snapshot is part and doc.finishing is None


def test_a_failing_job_ends_the_wait_with_its_error(calls, runs):
    def out_of_memory(snap, progress, cancel, focus):
        first = jobs._resume_trace(snap, progress, cancel, focus)
        yield next(first)
        raise MemoryError  # what a too large allocation raises on the worker

    trace_job = dataclasses.replace(jobs.JOBS[TRACE], resume=out_of_memory)
    doc, part = partial_doc()
    runner, loop = runs(doc, jobs={TRACE: trace_job})
    why, failed = unfinished(doc), []
    doc.sigFailed.connect(failed.append)
    doc.complete_trace()
    loop.pump(lambda: bool(why) and not runner.busy)
    assert why == failed and "out of memory" in why[0]
    assert doc.snapshot is part  # the last result stays


def test_the_users_cancel_ends_the_wait_and_keeps_the_lanes_verified(calls, runs):
    doc, part = partial_doc()
    runner, loop = runs(doc)
    why = unfinished(doc)
    doc.complete_trace()
    doc.cancel()  # before the first lane lands: Cancel wins
    loop.pump(lambda: not runner.busy)
    assert len(why) == 1 and "cancelled" in why[0]
    assert doc.snapshot is part and not doc.snapshot.trace.complete
    assert doc.finishing is None


def test_an_edit_while_waiting_ends_the_wait_and_traces_the_new_spec(calls, runs):
    doc, _ = partial_doc()
    runner, loop = runs(doc)
    why = unfinished(doc)
    doc.complete_trace()
    assert doc.edit_spec(hidden_size=7)
    assert why == ["the configuration changed while waiting for every lane"]
    loop.pump(lambda: doc.snapshot.spec.hidden_size == 7 and not runner.busy)
    assert doc.snapshot.trace.complete and len(why) == 1


def test_status_line_and_progress_count_the_same_lanes(calls, runs):
    """Every status the trace job posts while verifying lanes says k of n done with a
    progress in [share of those k lanes, share of k + 1): the count and the percentage never
    disagree. Shares weigh each lane by its multiply-adds (layer 0 reads 5 features, the
    upper layers 12) and the forward (done before any lane) by its own, as many as every
    lane together, in the order the job takes the lanes (the pending ones in order, as the
    selection is on the verified lane (0, fwd))."""
    doc, _ = partial_doc()
    runner, loop = runs(doc)
    seen = []
    doc.sigJobChanged.connect(lambda _job: seen.append(doc.jobs.get(TRACE)))
    doc.complete_trace()
    loop.pump(lambda: doc.snapshot.trace.complete and not runner.busy)
    order = [(0, "fwd")] + sorted(set(doc.snapshot.trace.lanes) - {(0, "fwd")})
    work = SPEC.macs + SPEC.macs  # the forward, then every lane's recompute
    macs = [SPEC.macs + sum(SPEC.lane_macs(layer) for layer, _ in order[:k]) for k in range(7)]
    counted = []
    for status in filter(None, seen):
        m = re.search(r"\((\d+) of 6 done, \d+ on screen\)", status.text)
        assert m, status.text
        k = int(m[1])
        assert macs[k] / work <= status.progress < macs[k + 1] / work, status
        counted.append(k)
    assert counted == sorted(counted) and set(counted) == {1, 2, 3, 4, 5}


def test_switching_the_trace_to_another_source_ends_the_wait():
    """The document's trace moves to a text model (its key gains a source): what was waited
    for will not come, and nothing needs a runner to say so."""
    doc, part = partial_doc()
    why = unfinished(doc)
    doc.complete_trace()
    assert doc.finishing is not None
    doc.set_source(TRACE, ("a training", 3))
    assert why == ["the configuration changed while waiting for every lane"]
    assert doc.finishing is None and doc.snapshot is part
