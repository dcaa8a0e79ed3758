"""The grad and compare jobs through the Qt-free document and runner, and the gradient
presets' descriptions checked against the numbers they quote."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from rnnviz.config.options import RunOptions
from rnnviz.config.presets import preset
from rnnviz.config.spec import Spec
from rnnviz.document.document import COMPARE, GRAD, TRACE, Document
from rnnviz.document.runner import Runner
from rnnviz.grad.chain import chain, compare
from rnnviz.grad.gradients import gradients_spec
from rnnviz.grad.result import GradResult

SPEC = Spec("rnn", 4, 8, 2, bidirectional=True, seq_len=7, batch_size=2)


def _run(doc: Document) -> Runner:
    done = threading.Event()
    runner = Runner(doc, debounce_s=0.0)
    runner.sigIdle.connect(done.set)
    return runner


def _wait(runner: Runner, timeout: float = 60) -> None:
    import time

    deadline = time.monotonic() + timeout
    while runner.busy and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not runner.busy


def test_grad_is_computed_only_while_wanted_and_keyed_by_loss():
    doc = Document(SPEC, RunOptions())
    runner = _run(doc)
    try:
        runner.start_now()
        _wait(runner)
        assert doc.result(TRACE) is not None and doc.result(GRAD) is None
        doc.want(GRAD)
        runner.start_now()
        _wait(runner)
        res = doc.result(GRAD)
        assert isinstance(res, GradResult) and res.grads.loss == "last"
        ref = gradients_spec(SPEC, RunOptions(), "last")
        np.testing.assert_array_equal(res.grads.dh[(1, "bwd")], ref.dh[(1, "bwd")])
        assert res.grads.grad_verified
        doc.set_params(GRAD, loss="hn")
        assert doc.result(GRAD) is None  # another loss is another result
        runner.start_now()
        _wait(runner)
        assert doc.result(GRAD).grads.loss == "hn"
        assert doc.key(GRAD).params == (("loss", "hn"),)
        # Nobody looks: an edit computes the trace but no gradients.
        doc.want(GRAD, False)
        doc.edit_spec(hidden_size=5)
        runner.start_now()
        _wait(runner)
        assert doc.snapshot.spec.hidden_size == 5
        assert doc.result(GRAD) is None
        assert all(k.spec.hidden_size == 8 for k in doc.results if k.kind == GRAD)
    finally:
        runner.shutdown()


def test_grad_result_chain_factors_match_the_core_chain():
    doc = Document(SPEC, RunOptions())
    doc.want(GRAD)
    runner = _run(doc)
    try:
        runner.start_now()
        _wait(runner)
    finally:
        runner.shutdown()
    res = doc.result(GRAD)
    assert set(res.chains) == {(la, d, b) for la in (0, 1) for d in ("fwd", "bwd") for b in (0, 1)}
    for t, d in ((6, "fwd"), (2, "bwd")):
        ref = chain(res.grads, 1, d, t, batch=1)
        cf = res.chains[(1, d, 1)]
        np.testing.assert_array_equal(cf.steps(t, d), ref.steps)
        np.testing.assert_allclose(cf.factor[ref.steps], ref.factor, rtol=1e-12)
        # k factors to reach steps[k] (1 at t itself); all of them into the initial state.
        want = np.r_[1.0, ref.bound_product[:-1]]
        np.testing.assert_allclose(cf.running_product(t, d), want, rtol=1e-12)
        assert cf.initial_product(t, d) == pytest.approx(ref.bound_product[-1], rel=1e-12)
        np.testing.assert_allclose(cf.step_bound[ref.steps], ref.step_bound, rtol=1e-12)
        assert cf.bound == pytest.approx(ref.bound)


def test_compare_job_uses_params_and_the_weight_scale_option():
    spec = Spec("lstm", 3, 4, 1, seq_len=6)
    doc = Document(spec, RunOptions(weight_scale=1.5))
    doc.want(COMPARE)
    doc.set_params(COMPARE, loss="sum", forget_bias=1.0, clip=0.5)
    runner = _run(doc)
    try:
        runner.start_now()
        _wait(runner)
    finally:
        runner.shutdown()
    res = doc.result(COMPARE)
    ref = compare(spec, RunOptions(weight_scale=1.5), "sum", None, 1.0, 0.5)
    assert (res.loss, res.weight_scale, res.forget_bias, res.clip) == ("sum", 1.5, 1.0, 0.5)
    for a, b in zip(res.entries, ref.entries):
        assert a.label == b.label and a.decay == b.decay
        assert a.clipped_norm == pytest.approx(0.5) and a.grad_norm > 0.5


def _ratio(spec: Spec, options: RunOptions, **kw) -> float:
    c = compare(spec, options, **kw)
    return {e.label: e.decay[(0, "fwd")] for e in c.entries}


def test_gradient_presets_show_what_they_say():
    p = preset("grad-vanishing")
    gt = gradients_spec(p.spec, p.options)
    n = gt.norms(0, "fwd")
    assert n[-1] == pytest.approx(np.sqrt(32)) and "5.7 at t = 99" in p.description
    assert 5.5e-28 < n[0] < 6.5e-28 and "about 6e-28 at t = 0" in p.description
    assert 5e-29 < n[0] / n[-1] < 1.5e-28 and "a ratio of about 1e-28" in p.description
    p = preset("grad-exploding")
    gt = gradients_spec(p.spec, p.options)
    n = gt.norms(0, "fwd")
    assert 3e7 < n[0] < 3e8 and "about 1e8" in p.description and gt.trace.verified
    assert np.isfinite(gt.trace.gates[(0, "fwd", "h")]).all()
    p = preset("grad-lstm-gru")
    plain = _ratio(p.spec, p.options)
    assert 3e-23 < plain["LSTM"] < 3e-22 and 2e-22 < plain["GRU"] < 2e-21
    assert 3e-29 < plain["RNN tanh"] < 3e-28
    assert 3e-10 < _ratio(p.spec, p.options, forget_bias=1.0)["LSTM"] < 3e-9
    assert 0.03 < _ratio(p.spec, p.options, forget_bias=3.0)["LSTM"] < 0.3
