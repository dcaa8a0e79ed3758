"""`rnnviz grad --run FILE [--text T]`: the gradients of a trained text model's RNN (final
weights) on a text, the same core as the window's Gradients tab for an epoch; and flags
that `--run` would ignore (the model comes from the file) are refused, for trace as well."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnviz.cli.main import main
from rnnviz.io.run_file import load_run
from rnnviz.io.trace_file import load_gradients
from rnnviz.text.pipeline import run_pipeline


@pytest.fixture(scope="module")
def run_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("run") / "r.pt"
    assert main(["train", "--preset", "hello-ohlol-embedding", "--out", str(path)]) == 0
    return path


def _run(capsys, argv):
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def test_grad_run_is_torch_autograd_through_the_trained_rnn(capsys, tmp_path, run_file):
    out_file, csv_file = tmp_path / "g.npz", tmp_path / "g.csv"
    argv = ["grad", "--run", str(run_file), "--loss", "sum", "--out", str(out_file)]
    status, out, err = _run(capsys, [*argv, "--csv", str(csv_file)])
    assert status == 0, err
    assert "gradients match torch" in out and "loss sum" in out
    assert "Input: 'hello'  (the run's final weights" in out
    gt = load_gradients(out_file)
    # Independently: the file's final weights on "hello", torch's autograd through the RNN.
    saved = load_run(run_file)
    prun = run_pipeline(saved.pipeline, saved.final)
    x = prun.rnn_input.detach().clone().requires_grad_(True)
    output, _ = prun.model.recurrent(x, prun.hx)
    (dx,) = torch.autograd.grad(output.sum(), [x])
    np.testing.assert_allclose(gt.dx, dx.numpy(), rtol=0, atol=1e-6)  # input's own layout
    for name, w in prun.model.recurrent.named_parameters():
        np.testing.assert_array_equal(gt.trace.params[name], w.detach().numpy())
    header = csv_file.read_text().splitlines()[0]
    assert header.startswith("t,h_l0_fwd")


def test_grad_run_on_another_text_and_its_refusals(capsys, run_file):
    status, out, err = _run(capsys, ["grad", "--run", str(run_file), "--text", "hell"])
    assert status == 0, err
    assert "Input: 'hell'" in out and "seq_len" not in err
    status, out, err = _run(capsys, ["grad", "--run", str(run_file), "--text", "xyz"])
    assert status == 2 and "not in the vocabulary" in err
    status, out, err = _run(capsys, ["grad", "--text", "hello"])
    assert status == 2 and err == "rnnviz: --text needs --run FILE (a trained text model)\n"


@pytest.mark.parametrize("command", ["trace", "grad"])
def test_flags_run_would_ignore_are_refused(capsys, run_file, command):
    # Before: `trace --run r.pt --hidden-size 9 --seed 3` traced the file's RNN(10, 8) and
    # said nothing of the two flags it had dropped.
    argv = [command, "--run", str(run_file), "--hidden-size", "9", "--seed", "3"]
    status, out, err = _run(capsys, argv)
    assert status == 2 and out == ""
    assert err == "rnnviz: --run takes the model from the file; drop --hidden-size, --seed\n"


def test_grad_run_refuses_compare(capsys, run_file):
    status, _, err = _run(capsys, ["grad", "--run", str(run_file), "--compare"])
    assert status == 2 and "drop --compare" in err


def test_grad_run_plot_says_it_is_the_text_models_final_weights(capsys, tmp_path, run_file):
    """`grad --run FILE --plot` drew the trained model's gradients under a title naming only
    the module, as if of a fresh seeded one. Its caption now names module, lanes and loss and,
    in the trace's own words (epoch_note), that these are the text model's final weights on
    which text, above the plot and as the file's title; the PNG is the plot plus it."""
    import xml.etree.ElementTree as ET

    from PySide6.QtGui import QImage

    from rnnviz.app.drawing.grad_render import PLOT_SIZE
    from rnnviz.text.notes import epoch_note

    svg, png = tmp_path / "g.svg", tmp_path / "g.png"
    for path in (svg, png):
        argv = ["grad", "--run", str(run_file), "--loss", "sum", "--plot", str(path)]
        status, _, err = _run(capsys, argv)
        assert status == 0, err
    ns = "{http://www.w3.org/2000/svg}"
    root = ET.parse(svg).getroot()
    title = root.findtext(f"{ns}title") or ""
    texts = " ".join("".join(t.itertext()) for t in root.iter(f"{ns}text"))
    note = f"{epoch_note(None)}, text 'hello'"  # "text model: epoch final weights, …"
    assert "text model: epoch final weights" in note
    for words in ("RNN(", "‖∂L/∂h_t‖₂ per step", "loss sum", note):
        assert words in title and words in texts, (words, title, texts[:300])
    img = QImage(str(png))
    assert img.width() == PLOT_SIZE[0] and img.height() > PLOT_SIZE[1]  # caption above
