"""rnnviz.text tokens, vocabulary, padding/packing and recorded stages, on real torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnviz.config.spec import SpecError
from rnnviz.text.model import IGNORE_INDEX, compute_loss
from rnnviz.text.pipeline import build_pipeline, run_pipeline, seeded_model
from rnnviz.text.presets import text_preset
from rnnviz.text.settings import TextSettings
from rnnviz.text.tokens import PAD, UNK, Vocabulary, VocabularyError, tokenize
from rnnviz.text.training import trace_epoch, train


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_chinese_is_one_token_per_character():
    assert tokenize("我爱深度学习") == ["我", "爱", "深", "度", "学", "习"]
    assert tokenize("hi 你好") == ["h", "i", " ", "你", "好"]
    assert tokenize("the  dog\tate", "words") == ["the", "dog", "ate"]
    with pytest.raises(ValueError):
        tokenize("x", "bytes")
    p = build_pipeline(TextSettings(texts=("你好你",), targets=(), task="next", hidden_size=2))
    assert p.vocab.tokens == ("你", "好") and p.inputs == ((0, 1),) and p.targets == ((1, 0),)


def test_hello_vocabulary_is_the_tutorials():
    p = build_pipeline(text_preset("hello-ohlol-rnn").settings)
    assert p.vocab.tokens == ("e", "h", "l", "o")  # idx2char
    assert p.inputs == ((1, 0, 2, 2, 3),) and p.targets == ((3, 1, 2, 3, 2),)  # x/y_data
    assert p.vocab.rows() == [(0, "e", 1), (1, "h", 2), (2, "l", 4), (3, "o", 3)]  # hello + ohlol


def test_unk_pad_and_round_trip():
    v = Vocabulary.build([list("abca")], pad=True, unk=True)
    assert v.tokens == (PAD, UNK, "a", "b", "c") and v.pad_index == 0 and v.unk_index == 1
    assert v.encode("abz") == [2, 3, 1]
    assert v.decode([2, 4, 1]) == ["a", "c", UNK]
    assert Vocabulary.from_dict(v.to_dict()) == v
    plain = Vocabulary.build([list("ab")])
    with pytest.raises(VocabularyError):
        plain.index("z")
    with pytest.raises(VocabularyError):
        Vocabulary.from_dict({"tokens": ["a"], "counts": [True], "pad": False, "unk": False})
    with pytest.raises(VocabularyError):
        Vocabulary(("a", "a"), (1, 1))
    # A literal "<pad>" word never becomes a second pad.
    assert Vocabulary.build([[PAD, "x"]], pad=True).tokens == (PAD, "x")


def test_settings_validate_and_round_trip():
    s = text_preset("tagger").settings
    assert TextSettings.from_dict(s.to_dict()) == s
    with pytest.raises(SpecError, match="targets"):
        TextSettings(texts=("ab", "cd"), targets=("ab",))
    with pytest.raises(SpecError, match="lr"):
        TextSettings(lr=0)
    with pytest.raises(SpecError, match="num_layers"):
        TextSettings(stepper="cell", num_layers=2)
    with pytest.raises(SpecError):
        TextSettings.from_dict({**s.to_dict(), "bogus": 1})


RAGGED = ("hello world", "hi", "ohlol", "lol")
#: How many sequences still run at each step for lengths 10, 1, 4, 2.
STAIRCASE = [4, 3, 2, 2, 1, 1, 1, 1, 1, 1]


def _ragged(**kw) -> TextSettings:
    base = dict(
        texts=RAGGED,
        targets=(),
        task="next",
        encoding="embedding",
        embedding_dim=5,
        hidden_size=7,
        head="step",
    )
    base.update(kw)
    return TextSettings(**base)


CONFIGS = [
    dict(cell="rnn"),
    dict(cell="lstm", num_layers=2),
    dict(cell="gru", batch_first=True),
    dict(cell="lstm", stepper="cell"),
    dict(cell="gru", stepper="cell", encoding="onehot"),
]


@pytest.mark.parametrize("kw", CONFIGS)
def test_packed_batch_gives_each_sequence_its_own_outputs(kw):
    s = _ragged(**kw)
    p = build_pipeline(s)
    assert p.vocab.tokens[0] == PAD
    model = seeded_model(p)
    batch = p.batch()
    assert batch.mask.sum().item() == sum(p.lengths)
    with torch.no_grad():
        whole = model(batch.indices, batch.lengths)
        assert p.lengths == (10, 1, 4, 2)  # task next: n tokens give n - 1 steps
        assert whole.batch_sizes.tolist() == STAIRCASE
        for b, n in enumerate(p.lengths):
            alone = model(p.batch([b]).indices, p.batch([b]).lengths)
            assert alone.batch_sizes is None  # one sequence: no packing
            torch.testing.assert_close(whole.logits[b, :n], alone.logits[0], atol=1e-6, rtol=0)
            torch.testing.assert_close(whole.h_n[:, b], alone.h_n[:, 0], atol=1e-6, rtol=0)
            if whole.c_n is not None:
                torch.testing.assert_close(whole.c_n[:, b], alone.c_n[:, 0], atol=1e-6, rtol=0)
        # Padding contributes nothing: the batch loss is the per-token mean of the sequences'.
        loss = compute_loss(s, whole.scores, batch.targets)
        total = sum(
            compute_loss(
                s, model(p.batch([b]).indices, p.batch([b]).lengths).scores, p.batch([b]).targets
            )
            * n
            for b, n in enumerate(p.lengths)
        )
        assert loss.item() == pytest.approx(total.item() / sum(p.lengths), abs=1e-6)
        # Other tokens at padded positions change nothing.
        junk = batch.indices.clone()
        junk[~batch.mask] = 3
        again = model(junk, batch.lengths)
        assert compute_loss(s, again.scores, batch.targets).item() == loss.item()
        torch.testing.assert_close(again.h_n, whole.h_n, atol=0, rtol=0)
        # And targets there are ignore_index, whatever the logits there are.
        assert (batch.targets[~batch.mask] == IGNORE_INDEX).all()
        scores = whole.scores.clone()
        scores[~batch.mask] = 1e3
        assert compute_loss(s, scores, batch.targets).item() == loss.item()


def test_sum_steps_ignores_padding_too():
    s = _ragged(reduction="sum_steps", stepper="cell", cell="rnn")
    p = build_pipeline(s)
    model = seeded_model(p)
    b = p.batch()
    with torch.no_grad():
        scores = model(b.indices, b.lengths).scores
        loss = compute_loss(s, scores, b.targets)
        scores[~b.mask] = -1e3
        assert compute_loss(s, scores, b.targets).item() == loss.item()


def test_stages_and_graph_for_hello_embedding():
    run = run_pipeline(build_pipeline(text_preset("hello-ohlol-embedding").settings))
    names = [st.name for st in run.stages]
    assert names == [
        "tokens",
        "indices",
        "lengths",
        "mask",
        "encoded",
        "rnn_output",
        "h_n",
        "logits",
        "probabilities",
        "predicted",
        "targets",
        "loss",
    ]
    assert run.stage("encoded").shape == (1, 5, 10)
    assert run.stage("h_n").shape == (2, 1, 8)
    assert run.stage("logits").shape == (1, 5, 4)
    np.testing.assert_allclose(run.stage("probabilities").value.sum(-1), 1, atol=1e-6)
    assert list(run.stage("tokens").value[0]) == list("hello")
    edges = {(e.src, e.dst): e.shape for e in run.edges}
    assert edges[("indices", "embedding")] == "(1, 5)"
    assert edges[("embedding", "rnn")] == "(1, 5, 10)"
    assert edges[("rnn", "head")] == "(1, 5, 8)"
    assert edges[("head", "loss")] == "(1, 5, 4)"
    assert {n.id for n in run.nodes} >= {e.src for e in run.edges} | {e.dst for e in run.edges}
    assert not run.packed and run.rnn_input.shape == (1, 5, 10)


def test_packed_stages_and_trace_per_sequence():
    s = _ragged(cell="lstm", epochs=3, optimizer="sgd")
    run = train(s)
    prun = run_pipeline(run.pipeline, run.epochs[2].state)
    assert prun.packed and prun.stage("batch_sizes").value.tolist() == STAIRCASE
    assert ("embedding", "pack") in {(e.src, e.dst) for e in prun.edges}
    h_n = prun.stage("h_n").value
    for b, n in enumerate(run.pipeline.lengths):
        tr = trace_epoch(run, 3, sequence=b)
        assert tr.verified and tr.spec.seq_len == n
        np.testing.assert_allclose(tr.tensors["h_n"][:, 0], h_n[:, b], atol=1e-6)
    whole = trace_epoch(run, 3)
    assert whole.verified and any("padded batch" in n for n in whole.notes)


def test_last_step_head_reads_each_sequences_own_last_step():
    p = build_pipeline(_ragged(head="last"))
    run = run_pipeline(p)
    assert run.stage("logits").shape == (4, len(p.target_vocab))
    assert "loss" not in [st.name for st in run.stages]
    with pytest.raises(SpecError):
        train(_ragged(head="last"))


def test_stage_words_say_what_was_done():
    """'padded' only when something is; a Cell's h is (B, H), as the Cell returns it."""
    from rnnviz.text.pipeline import build_pipeline, run_pipeline
    from rnnviz.text.presets import text_preset

    cell = run_pipeline(build_pipeline(text_preset("hello-ohlol-cell").settings))
    words = {st.name: st.description for st in cell.stages}
    assert "nothing padded" in words["indices"] and "padded by" not in words["indices"]
    assert "as the Cell returns it" in words["h_n"]
    last = next(e for e in cell.edges if e.dst == "h_n")
    assert last.shape == "(1, 4)"  # not rnnviz's stacked (1, 1, 4)
    tagger = run_pipeline(build_pipeline(text_preset("tagger").settings))
    words = {st.name: st.description for st in tagger.stages}
    assert words["indices"].endswith("padded by pad_sequence(batch_first=True) with <pad> = 0")
