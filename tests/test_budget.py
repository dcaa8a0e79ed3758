"""The memory budget refuses absurd configurations before anything is allocated."""

from __future__ import annotations

import time

import pytest
import torch

from rnnviz.config.budget import BudgetError, check_budget, estimate, parse_bytes
from rnnviz.config.spec import Spec, SpecError

HUGE = Spec("lstm", 5, 65536, num_layers=64, seq_len=100_000)


def test_huge_spec_is_refused_with_the_estimate():
    started = time.perf_counter()
    with pytest.raises(BudgetError) as info:
        check_budget(HUGE, budget=8 << 30)
    elapsed = time.perf_counter() - started
    msg = info.value.message
    assert "needs about" in msg and "TiB" in msg and "8.0 GiB" in msg
    assert "hidden_size" in msg  # says what to reduce
    assert isinstance(info.value, SpecError)
    print(f"\nrefusal took {elapsed * 1e3:.2f} ms")  # reported, not asserted


def test_trace_of_a_user_module_is_refused_before_running(monkeypatch):
    # trace() checks the budget before any torch work: a tiny real module on a very long
    # input (an expanded view, so the test itself allocates nothing) is refused unrun.
    from rnnviz.engine.tracing import trace

    monkeypatch.setenv("RNNVIZ_MEMORY_BUDGET", "1M")
    m = torch.nn.RNN(1, 1)
    x = torch.zeros(1, 1, 1).expand(2_000_000, 1, 1)
    with pytest.raises(BudgetError) as info:
        trace(m, x)
    assert "1.0 MiB" in info.value.message


def test_estimate_parts_grow_with_the_spec():
    small, big = estimate(Spec()), estimate(Spec(seq_len=300))
    assert big.gates > small.gates and big.activations > small.activations
    assert big.parameters == small.parameters
    assert estimate(Spec(), graph_nodes=False).graph == 0
    assert small.total == small.parameters + small.activations + small.gates + small.graph
    check_budget(Spec())  # the default spec fits any real machine


def test_parameter_estimate_matches_inventory():
    from rnnviz.analysis.shapes import shapes
    from rnnviz.config.budget import _param_count

    for spec in (
        Spec("lstm", 3, 5, 3, bidirectional=True, proj_size=2),
        Spec("gru", 7, 2, 1),
        Spec("rnn", 4, 4, 2, bias=False),
    ):
        assert _param_count(spec) == shapes(spec).total_parameters


@pytest.mark.parametrize(
    ("text", "value"),
    [("4G", 4 << 30), ("512M", 512 << 20), ("1.5GiB", 3 << 29), ("100", 100), ("2kb", 2048)],
)
def test_parse_bytes(text, value):
    assert parse_bytes(text) == value


@pytest.mark.parametrize("text", ["", "G", "0", "-1", "nan", "inf", "1e400", "abc", "4X"])
def test_parse_bytes_rejects(text):
    with pytest.raises(ValueError):
        parse_bytes(text)


def test_env_budget(monkeypatch):
    monkeypatch.setenv("RNNVIZ_MEMORY_BUDGET", "1K")
    with pytest.raises(BudgetError):
        check_budget(Spec())
    monkeypatch.setenv("RNNVIZ_MEMORY_BUDGET", "lots")
    with pytest.raises(SpecError) as info:
        check_budget(Spec())
    assert info.value.field == "memory_budget"
