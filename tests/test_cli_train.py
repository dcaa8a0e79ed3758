"""`rnnviz train` and `rnnviz trace --run`: the tutorial's lines, JSON lines, run files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from rnnviz.cli.main import main
from rnnviz.io.run_file import load_run
from rnnviz.text.presets import text_preset
from rnnviz.text.training import train

GOLDEN = Path(__file__).parent / "golden"


def run(capsys, argv):
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def test_train_embedding_preset_golden(capsys, request):
    """The tutorial-style lines of the Embedding preset at its default seed. If the output
    should change, rewrite with `pytest tests/test_cli_train.py --regen-golden` and review."""
    status, out, err = run(capsys, ["train", "--preset", "hello-ohlol-embedding"])
    assert status == 0 and err == ""
    path = GOLDEN / "train_hello-ohlol-embedding.txt"
    if request.config.getoption("--regen-golden"):
        path.write_text(out, encoding="utf-8")
    assert out == path.read_text(encoding="utf-8")
    lines = out.splitlines()
    assert len(lines) == 15
    assert lines[-1].startswith("Predicted: ohlol, Epoch [15/15] loss=")


def test_train_json_lines_equal_the_core(capsys):
    status, out, _ = run(
        capsys, ["train", "--preset", "hello-ohlol-rnn", "--epochs", "6", "--seed", "3", "--json"]
    )
    assert status == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [set(r) for r in rows] == [{"epoch", "loss", "predicted"}] * 6
    core = train(text_preset("hello-ohlol-rnn").settings, epochs=6, seed=3)
    assert [r["loss"] for r in rows] == core.losses
    assert [r["predicted"] for r in rows] == [list(e.predicted) for e in core.epochs]


def test_train_flags_override_the_preset_and_out_loads(capsys, tmp_path):
    out_file = tmp_path / "run.pt"
    argv = [
        "train",
        "--text",
        "abcab",
        "--task",
        "next",
        "--embedding-size",
        "3",
        "--head",
        "step",
        "--hidden-size",
        "5",
        "--optimizer",
        "sgd",
        "--lr",
        "0.5",
        "--epochs",
        "4",
        "--out",
        str(out_file),
    ]
    status, out, err = run(capsys, argv)
    assert status == 0 and "run saved" in err
    assert len(out.splitlines()) == 4
    saved = load_run(out_file)
    s = saved.settings
    assert (s.texts, s.task, s.encoding, s.embedding_dim) == (("abcab",), "next", "embedding", 3)
    assert (s.head, s.hidden_size, s.optimizer, s.lr, s.epochs) == ("step", 5, "sgd", 0.5, 4)
    assert saved.initial["embedding.weight"].shape == (3, 3)
    data = torch.load(out_file, weights_only=True)
    assert [h["epoch"] for h in data["history"]] == [1, 2, 3, 4]


def test_trace_run_traces_the_trained_rnn(capsys, tmp_path):
    out_file = tmp_path / "run.pt"
    assert main(["train", "--preset", "hello-ohlol-rnn", "--out", str(out_file)]) == 0
    capsys.readouterr()
    status, out, err = run(capsys, ["trace", "--run", str(out_file), "--text", "hello"])
    assert status == 0, err
    first, second = out.splitlines()
    assert first.startswith("RNN(4, 4) seq_len=5 batch=1: matches torch: max |Δ| = ")
    assert second == "Input: 'hello'  Predicted: ohlol"
    status, out, err = run(capsys, ["trace", "--run", str(out_file), "--text", "hex"])
    assert status == 2 and "not in the vocabulary" in err
    status, _, err = run(capsys, ["trace", "--text", "hello"])
    assert status == 2 and "--run" in err


@pytest.mark.parametrize(
    "argv, field, words",
    [
        (["--hidden-size", "7"], "hidden_size", "number of classes (4), got 7"),
        (["--tokens", "words"], "hidden_size", "number of classes (2), got 4"),
        (["--preset", "tagger", "--head", "none"], "hidden_size", "number of classes (3)"),
        (["--text", "hi"], "target", "2 input tokens but 5 target tokens"),
    ],
)
def test_settings_training_refuses_are_one_line_not_a_traceback(capsys, argv, field, words):
    status, out, err = run(capsys, ["train", *argv, "--epochs", "2"])
    assert status == 2 and "Traceback" not in err and not out
    assert err.startswith(f"rnnviz: invalid {field}: ") and words in err
