"""Training overhead: one epoch of rnnviz's training job ÷ the same loop in plain torch.

Both sides train tutorial 001's Embedding → RNN(10, 8, 2) → Linear model on hello → ohlol from
the same initial weights, one torch thread, and both keep a numpy copy of the weights every
epoch (the per-epoch snapshot the epoch slider replays). The rnnviz side is the document's
training job (`rnnviz.document.training.run_training`) with its partial histories, so the
ratio is everything the window adds around torch's loop. Alternated, medians.
"""

from __future__ import annotations

from typing import Any

from rnnviz.bench.measure import Measure, alternate


def _plain_loop(epochs: int, init: dict[str, Any]) -> None:
    import torch
    from torch import nn

    emb, rnn, fc = nn.Embedding(4, 10), nn.RNN(10, 8, 2, batch_first=True), nn.Linear(8, 4)
    net = nn.ModuleDict({"embedding": emb, "rnn": rnn, "head": fc})
    net.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in init.items()})
    x, y = torch.tensor([[1, 0, 2, 2, 3]]), torch.tensor([3, 1, 2, 3, 2])
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    crit = nn.CrossEntropyLoss()
    snaps = []
    for _ in range(epochs):
        snaps.append({k: v.detach().numpy().copy() for k, v in net.state_dict().items()})
        opt.zero_grad()
        out, _ = rnn(emb(x), torch.zeros(2, 1, 8))
        logits = fc(out).reshape(-1, 4)
        loss = crit(logits, y)
        loss.backward()
        opt.step()
        loss.item(), logits.max(dim=1).indices.tolist()


def training_ratio(quick: bool = False) -> list[Measure]:
    """Training-epoch time of the window's job ÷ the plain torch loop (target ≤ 1.2)."""
    import torch

    from rnnviz.document.document import ResultKey
    from rnnviz.document.jobs import JobContext
    from rnnviz.document.training import TRAIN, TrainRequest, run_training
    from rnnviz.text.presets import text_preset
    from rnnviz.text.training import train

    epochs = 100 if quick else 300
    settings = text_preset("hello-ohlol-embedding").settings.replace(epochs=epochs)
    init = train(settings, epochs=1).initial
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        key = ResultKey(TRAIN, None, None, TrainRequest(settings))  # type: ignore[arg-type]
        ctx = JobContext(lambda p: None, lambda: False, lambda r: None, lambda: False)
        ours, plain = alternate(
            lambda: run_training(key, ctx), lambda: _plain_loop(epochs, init), 3 if quick else 7
        )
    finally:
        torch.set_num_threads(threads)
    return [
        Measure(
            "training epoch ÷ plain torch loop (Embedding+RNN+Linear, hello)",
            ours / plain,
            "×",
            1.2,
            f"{ours / epochs * 1000:.3f} vs {plain / epochs * 1000:.3f} ms/epoch, "
            f"{epochs} epochs, weights kept every epoch, 1 thread",
        )
    ]
