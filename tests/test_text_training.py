"""rnnviz.text training against tutorial-style loops written out by hand, on real torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from rnnviz.text.pipeline import run_pipeline
from rnnviz.text.presets import TEXT_PRESETS, text_preset
from rnnviz.text.training import model_at, trace_epoch, train

IDX2CHAR = ["e", "h", "l", "o"]
X_DATA = [1, 0, 2, 2, 3]  # h e l l o
Y_DATA = [3, 1, 2, 3, 2]  # o h l o l


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # Tiny models: on a shared 2-core machine torch's thread pool only adds contention.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def runs():
    return {p.key: train(p.settings) for p in TEXT_PRESETS}


def _load(module: nn.Module, state: dict[str, np.ndarray], prefix: str) -> None:
    module.load_state_dict(
        {
            k[len(prefix) :]: torch.from_numpy(v.copy())
            for k, v in state.items()
            if k.startswith(prefix)
        }
    )


def _check(run, losses: list[float], predicted: list[str], final: dict[str, torch.Tensor]):
    assert len(run.epochs) == len(losses)
    for rec, loss, pred in zip(run.epochs, losses, predicted):
        assert rec.loss == pytest.approx(loss, abs=1e-5), rec.epoch
        assert " | ".join(rec.predicted) == pred, rec.epoch
    for k, v in final.items():
        np.testing.assert_allclose(run.final[k], v.detach().numpy(), atol=1e-5)


def test_hello_cell_matches_hand_loop(runs):
    run = runs["hello-ohlol-cell"]
    cell = nn.RNNCell(4, 4)
    _load(cell, run.initial, "cell.")
    inputs = torch.eye(4)[X_DATA].view(-1, 1, 4)
    labels = torch.LongTensor(Y_DATA).view(-1, 1)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(cell.parameters(), lr=0.1)
    losses, preds = [], []
    for _ in range(15):
        loss = 0
        optimizer.zero_grad()
        hidden = torch.zeros(1, 4)
        word = ""
        for x, y in zip(inputs, labels):
            hidden = cell(x, hidden)
            loss += criterion(hidden, y)
            word += IDX2CHAR[hidden.max(dim=1)[1].item()]
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        preds.append(word)
    _check(run, losses, preds, {"cell." + k: v for k, v in cell.state_dict().items()})


def test_hello_rnn_matches_hand_loop(runs):
    run = runs["hello-ohlol-rnn"]
    rnn = nn.RNN(4, 4, num_layers=1)
    _load(rnn, run.initial, "rnn.")
    inputs = torch.eye(4)[X_DATA].view(5, 1, 4)
    labels = torch.LongTensor(Y_DATA)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(rnn.parameters(), lr=0.1)
    losses, preds = [], []
    for _ in range(15):
        optimizer.zero_grad()
        out, _ = rnn(inputs, torch.zeros(1, 1, 4))
        outputs = out.view(-1, 4)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        preds.append("".join(IDX2CHAR[i] for i in outputs.max(dim=1)[1].tolist()))
    _check(run, losses, preds, {"rnn." + k: v for k, v in rnn.state_dict().items()})


class _EmbModel(nn.Module):
    """Tutorial 001's Embedding + RNN + Linear model, written out."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(4, 10)
        self.rnn = nn.RNN(10, 8, num_layers=2, batch_first=True)
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        hidden = torch.zeros(2, x.size(0), 8)
        x = self.emb(x)
        x, _ = self.rnn(x, hidden)
        return self.fc(x).view(-1, 4)


def test_hello_embedding_matches_hand_loop(runs):
    run = runs["hello-ohlol-embedding"]
    net = _EmbModel()
    _load(net.emb, run.initial, "embedding.")
    _load(net.rnn, run.initial, "rnn.")
    _load(net.fc, run.initial, "head.")
    inputs, labels = torch.LongTensor([X_DATA]), torch.LongTensor(Y_DATA)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(net.parameters(), lr=0.05)
    losses, preds = [], []
    for _ in range(15):
        optimizer.zero_grad()
        outputs = net(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        preds.append("".join(IDX2CHAR[i] for i in outputs.max(dim=1)[1].tolist()))
    final = {
        "embedding.weight": net.emb.weight,
        "head.weight": net.fc.weight,
        "head.bias": net.fc.bias,
    }
    final.update({"rnn." + k: v for k, v in net.rnn.state_dict().items()})
    _check(run, losses, preds, final)


def test_tagger_matches_hand_loop(runs):
    run = runs["tagger"]
    p = run.pipeline
    word_to_ix = {w: i for i, w in enumerate(p.vocab.tokens)}
    tag_to_ix = {t: i for i, t in enumerate(p.target_vocab.tokens)}
    data = [(s.split(), t.split()) for s, t in zip(run.settings.texts, run.settings.targets)]
    emb, lstm, fc = nn.Embedding(len(word_to_ix), 6), nn.LSTM(6, 6), nn.Linear(6, 3)
    _load(emb, run.initial, "embedding.")
    _load(lstm, run.initial, "rnn.")
    _load(fc, run.initial, "head.")
    params = [*emb.parameters(), *lstm.parameters(), *fc.parameters()]
    loss_fn = nn.NLLLoss()
    optimizer = torch.optim.SGD(params, lr=0.1)
    ix_to_tag = {i: t for t, i in tag_to_ix.items()}
    losses, preds = [], []
    for _ in range(run.settings.epochs):
        step_losses, words = [], []
        for sentence, tags in data:
            optimizer.zero_grad()
            idx = torch.tensor([word_to_ix[w] for w in sentence])
            embeds = emb(idx)
            lstm_out, _ = lstm(embeds.view(len(sentence), 1, -1))
            tag_space = fc(lstm_out.view(len(sentence), -1))
            tag_scores = torch.log_softmax(tag_space, dim=1)
            loss = loss_fn(tag_scores, torch.tensor([tag_to_ix[t] for t in tags]))
            loss.backward()
            optimizer.step()
            step_losses.append(loss.item())
            words.append(" ".join(ix_to_tag[i] for i in tag_scores.argmax(dim=1).tolist()))
        losses.append(float(np.mean(step_losses)))
        preds.append(" | ".join(words))
    final = {"embedding.weight": emb.weight, "head.weight": fc.weight, "head.bias": fc.bias}
    final.update({"rnn." + k: v for k, v in lstm.state_dict().items()})
    _check(run, losses, preds, final)


def test_default_seed_draws_the_tutorial_modules_weights(runs):
    # The tutorial code has no manual_seed; with torch.manual_seed(0) before it, its model
    # starts from exactly our initial weights (same constructors, same order).
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(runs["hello-ohlol-embedding"].settings.seed)
        net = _EmbModel()
    init = runs["hello-ohlol-embedding"].initial
    np.testing.assert_array_equal(init["embedding.weight"], net.emb.weight.detach().numpy())
    np.testing.assert_array_equal(init["head.bias"], net.fc.bias.detach().numpy())
    np.testing.assert_array_equal(init["rnn.weight_hh_l1"], net.rnn.weight_hh_l1.detach().numpy())


def test_presets_learn(runs):
    emb = runs["hello-ohlol-embedding"]
    assert emb.epochs[14].predicted == ("ohlol",)
    assert train(emb.settings, epochs=16).final  # final weights exist after the last step
    for key in ("hello-ohlol-rnn", "hello-ohlol-cell"):
        run = runs[key]
        losses = run.losses
        assert all(b < a for a, b in zip(losses, losses[1:])), key
        # The default seed (1) reaches "ohlol" at epoch 15, the bar.
        assert run.settings.seed == 1, key
        assert run.epochs[14].predicted == ("ohlol",), key
    # Seed 0 stalls at "ohlll" (4 of 5), as the presets' descriptions and the README say.
    stalled = train(text_preset("hello-ohlol-rnn").settings, seed=0)
    assert stalled.epochs[14].predicted == ("ohlll",)
    tagger = runs["tagger"]
    assert tagger.epochs[-1].accuracy == 1.0
    assert tagger.losses[-1] < tagger.losses[0] / 3


def test_same_seed_same_losses_bit_for_bit():
    s = text_preset("hello-ohlol-embedding").settings
    a, b = train(s, seed=3), train(s, seed=3)
    assert a.losses == b.losses
    assert all(np.array_equal(a.final[k], b.final[k]) for k in a.final)
    assert train(s, seed=4).losses != a.losses


def test_callbacks_cancel_and_global_rng_untouched():
    seen = []
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    run = train(
        text_preset("hello-ohlol-rnn").settings,
        on_epoch=seen.append,
        cancel=lambda: len(seen) >= 3,
        pause=lambda: False,
    )
    assert torch.equal(torch.rand(3), expected)
    assert run.cancelled and len(run.epochs) == 3 and [r.epoch for r in seen] == [1, 2, 3]


@pytest.mark.parametrize("key", ["hello-ohlol-cell", "hello-ohlol-embedding", "tagger"])
def test_trace_epoch_is_the_recorded_forward(runs, key):
    run = runs[key]
    for epoch in (1, len(run.epochs)):
        tr = trace_epoch(run, epoch, sequence=0)
        assert tr.verified
        model = model_at(run, epoch)
        prun = run_pipeline(run.pipeline, {k: v.numpy() for k, v in model.state_dict().items()})
        n = run.pipeline.lengths[0]
        out = prun.stage("rnn_output").value
        mine = out[:n, 0] if model.time_major else out[0, :n]
        # A stepped Cell returns h_t per call, time-major (rnnviz.config.api).
        traced = tr.tensors["h_t" if tr.api == "cell" else "output"]
        traced = traced[:, 0] if model.time_major or tr.api == "cell" else traced[0]
        np.testing.assert_allclose(traced, mine, atol=1e-6)
    if run.settings.update == "batch":
        # One step per epoch: the loss of that epoch's weights is the recorded loss.
        prun = run_pipeline(run.pipeline, run.epochs[4].state)
        assert float(prun.stage("loss").value) == pytest.approx(run.epochs[4].loss, abs=1e-6)
