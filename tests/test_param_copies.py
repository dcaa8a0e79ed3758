"""The parameter copy a trace of a caller's module keeps: equal to the parameters, not
sharing their memory, one buffer for small models and one per tensor for large ones (see
rnnviz.engine.assemble.param_copies), and counted once each in the trace's memory."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from rnnviz.config.spec import Spec
from rnnviz.engine.assemble import ONE_BUFFER_BYTES, param_copies
from rnnviz.engine.tracing import make_inputs, trace

LARGE = Spec("lstm", 64, 256, 2, bidirectional=True, seq_len=3, batch_size=1)
SMALL = Spec("gru", 5, 7, 2, bias=False, seq_len=3, batch_size=1)


def _bytes(module: torch.nn.Module) -> int:
    return sum(p.numel() * p.element_size() for p in module.parameters())


@pytest.mark.parametrize("spec", [LARGE, SMALL], ids=["large", "small"])
def test_copies_equal_the_parameters_and_keep_them(spec: Spec) -> None:
    module = spec.build(0)
    copies = param_copies(module)
    assert list(copies) == [name for name, _ in module.named_parameters()]
    for name, p in module.named_parameters():
        assert copies[name].shape == tuple(p.shape)
        assert np.array_equal(copies[name], p.detach().numpy())
        assert not np.shares_memory(copies[name], p.detach().numpy())
    before = {k: v.copy() for k, v in copies.items()}
    with torch.no_grad():
        for p in module.parameters():
            p.add_(1.0)  # the user trains on: the copy keeps what the module was
    assert all(np.array_equal(copies[k], before[k]) for k in copies)


def test_large_models_copy_per_tensor_small_ones_into_one_buffer() -> None:
    large, small = LARGE.build(0), SMALL.build(0)
    assert _bytes(large) > ONE_BUFFER_BYTES >= _bytes(small)
    big = list(param_copies(large).values())
    assert not any(np.shares_memory(a, b) for a, b in zip(big, big[1:]))
    little = list(param_copies(small).values())
    assert all(np.shares_memory(little[0].base, a) for a in little)


def test_mixed_precision_is_copied_per_tensor() -> None:
    module = SMALL.build(0)
    module.weight_hh_l0.data = module.weight_hh_l0.data.double()
    copies = param_copies(module)
    assert copies["weight_hh_l0"].dtype == np.float64
    assert copies["weight_ih_l0"].dtype == np.float32


@pytest.mark.parametrize("spec", [LARGE, SMALL], ids=["large", "small"])
def test_trace_memory_counts_the_copy_once(spec: Spec) -> None:
    module = spec.build(0)
    x, _ = make_inputs(spec, 0)
    tr = trace(module, x)
    assert tr.nbytes - dataclasses.replace(tr, params={}).nbytes == _bytes(module)
