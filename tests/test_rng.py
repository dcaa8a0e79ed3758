"""Seeding torch's global generator is one locked block per thread: the window builds
modules on the trace lane and the training lane at once, and the same seed must still give
the same weights on both (and the caller's generator must come back as it was)."""

from __future__ import annotations

import threading

import torch

from rnnviz.config.options import RunOptions
from rnnviz.config.rng import seeded_global
from rnnviz.config.spec import Spec
from rnnviz.engine.inputs import make_run
from rnnviz.text.presets import text_preset
from rnnviz.text.training import train


def test_seeded_blocks_restore_the_callers_generator():
    torch.manual_seed(123)
    want = torch.randn(3)
    torch.manual_seed(123)
    with seeded_global(7):
        torch.randn(100)
    assert torch.equal(torch.randn(3), want)


def test_concurrent_seeded_builds_give_the_same_weights_as_alone():
    spec = Spec("lstm", 8, 16, num_layers=2, seq_len=4)
    options = RunOptions(seed=3, seeding="tutorial", init="randn")
    settings = text_preset("hello-ohlol-embedding").settings
    alone_module, alone_x, _ = make_run(spec, options)
    alone_losses = train(settings, epochs=3).losses
    results: dict[str, object] = {}

    def traces() -> None:
        for _ in range(30):
            module, x, _ = make_run(spec, options)
            ok = torch.equal(x, alone_x) and all(
                torch.equal(a, b) for a, b in zip(module.parameters(), alone_module.parameters())
            )
            results.setdefault("trace", True)
            results["trace"] = results["trace"] and ok

    def trainings() -> None:
        results["train"] = all(train(settings, epochs=3).losses == alone_losses for _ in range(5))

    threads = [threading.Thread(target=traces), threading.Thread(target=trainings)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {"trace": True, "train": True}
