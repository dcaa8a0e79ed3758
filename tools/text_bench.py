"""Time rnnviz.text.train per epoch against the same loop in plain torch (snapshots kept).

    PYTHONPATH=. python tools/text_bench.py [rounds] [threads]

Both sides start from the same initial weights; the plain loop keeps a numpy copy of the
state_dict every epoch, as train does, so the ratio is the cost of rnnviz's bookkeeping
(pipeline batches, Forward record, predictions decoded, accuracy). Runs alternate so drift in
a shared machine's load hits both sides alike; the figures are medians.
"""

from __future__ import annotations

import statistics
import sys
import time

import torch
from torch import nn

from rnnviz.text.pipeline import build_pipeline
from rnnviz.text.presets import text_preset
from rnnviz.text.training import train


def plain_embedding(epochs: int, init: dict) -> None:
    """Tutorial 001's Embedding + RNN + Linear loop, with a state_dict copy per epoch."""
    emb, rnn, fc = nn.Embedding(4, 10), nn.RNN(10, 8, 2, batch_first=True), nn.Linear(8, 4)
    net = nn.ModuleDict({"embedding": emb, "rnn": rnn, "head": fc})
    net.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in init.items()})
    x, y = torch.LongTensor([[1, 0, 2, 2, 3]]), torch.LongTensor([3, 1, 2, 3, 2])
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    crit = nn.CrossEntropyLoss()
    snaps = []
    for _ in range(epochs):
        snaps.append({k: v.detach().numpy().copy() for k, v in net.state_dict().items()})
        opt.zero_grad()
        out, _ = rnn(emb(x), torch.zeros(2, 1, 8))
        logits = fc(out).view(-1, 4)
        loss = crit(logits, y)
        loss.backward()
        opt.step()
        loss.item(), logits.max(dim=1)[1].tolist()


def plain_tagger(epochs: int, init: dict, data: list) -> None:
    """Tutorial 003's tagger loop (one SGD step per sentence), with a state_dict copy per epoch."""
    emb, lstm, fc = (
        nn.Embedding(init["embedding.weight"].shape[0], 6),
        nn.LSTM(6, 6),
        nn.Linear(6, 3),
    )
    net = nn.ModuleDict({"embedding": emb, "rnn": lstm, "head": fc})
    net.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in init.items()})
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    crit = nn.NLLLoss()
    snaps = []
    for _ in range(epochs):
        snaps.append({k: v.detach().numpy().copy() for k, v in net.state_dict().items()})
        for idx, tags in data:
            opt.zero_grad()
            out, _ = lstm(emb(idx).view(len(idx), 1, -1))
            scores = torch.log_softmax(fc(out.view(len(idx), -1)), dim=1)
            loss = crit(scores, tags)
            loss.backward()
            opt.step()
            loss.item(), scores.argmax(dim=1).tolist()


def main(rounds: int = 7, threads: int = 1) -> None:
    torch.set_num_threads(threads)
    for key, epochs in (("hello-ohlol-embedding", 200), ("tagger", 50)):
        s = text_preset(key).settings.replace(epochs=epochs)
        init = train(s, epochs=1).initial
        p = build_pipeline(s)
        data = [(torch.tensor(i), torch.tensor(t)) for i, t in zip(p.inputs, p.targets)]
        ours, plain = [], []
        for _ in range(rounds):
            t = time.perf_counter()
            train(s)
            ours.append((time.perf_counter() - t) / epochs)
            t = time.perf_counter()
            if key == "tagger":
                plain_tagger(epochs, init, data)
            else:
                plain_embedding(epochs, init)
            plain.append((time.perf_counter() - t) / epochs)
        mo, mp = statistics.median(ours), statistics.median(plain)
        print(
            f"{key}: rnnviz {mo * 1e3:.3f} ms/epoch, plain torch {mp * 1e3:.3f} ms/epoch, "
            f"ratio {mo / mp:.2f} ({rounds} alternating rounds of {epochs} epochs, "
            f"{threads} thread(s))"
        )


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
