"""Run files in the window, the epoch slider beside the time slider, the text graph drawn,
and the status bar's list of running jobs."""

from __future__ import annotations

import subprocess

import numpy as np
import torch

from rnnviz.cli.main import main as cli_main
from rnnviz.document.training import TextSnapshot, history, shown_epoch


def _done(win) -> bool:
    hist = history(win.state)
    return hist is not None and hist.done


def _at(win, epoch: int) -> bool:
    snap = win.state.snapshot
    return isinstance(snap, TextSnapshot) and snap.epoch == epoch and not win.runner.busy


def test_open_cli_run_file_scrub_epochs_and_save(window, qtbot, tmp_path, capsys):
    win = window
    assert not win.epoch_slider.isVisible()  # nothing trained: no epoch slider
    path = tmp_path / "cli.pt"
    assert cli_main(["train", "--preset", "hello-ohlol-embedding", "--out", str(path)]) == 0
    file_losses = [h["loss"] for h in torch.load(path, weights_only=True)["history"]]
    capsys.readouterr()

    assert win.open_run_action.text() == "Open training run…"
    from rnnviz.app.run_files import open_training_run, save_training_run

    assert open_training_run(win, path)
    qtbot.waitUntil(lambda: _done(win), timeout=60_000)
    hist = history(win.state)
    # Retrained from the file's settings: every epoch equals the file's history.
    assert hist.reproduced, hist.reproduction
    assert "retrained its 15 epochs" in hist.reproduction
    np.testing.assert_allclose(hist.losses, file_losses, rtol=0, atol=1e-6)
    tv = win.training_view
    qtbot.waitUntil(lambda: "✓ cli.pt" in tv.file_label.text(), timeout=10_000)
    xs, ys = tv.curve.getData()
    np.testing.assert_allclose(ys, file_losses, atol=1e-6)
    # The epoch slider sits in the timeline dock beside the time slider and follows.
    qtbot.waitUntil(lambda: _at(win, 15), timeout=30_000)
    es = win.epoch_slider
    assert es.isVisible() and es.parent() is win.timeline.parent()
    assert es.slider.maximum() == 15 and es.slider.value() == 15
    assert es.label.text() == "epoch 15 of 1…15"
    # Moving it shows epoch 3 everywhere (and stops following the newest epoch).
    es.slider.setValue(3)
    assert shown_epoch(win.state) == 3
    qtbot.waitUntil(lambda: _at(win, 3), timeout=30_000)
    assert tv.epoch_slider.value() == 3
    scene = win.graph_view.scene
    preds = [scene.graph.nodes[f"pred{t}"]["predicted"] for t in range(5)]
    assert "".join(preds) == hist.epochs[2].predicted[0]
    assert scene.graph.nodes["enc0"]["label"] == "Embedding(4, 10)"
    assert scene.graph.nodes["head0"]["label"] == "Linear(8, 4)"
    assert [scene.graph.nodes[f"tok{t}"]["label"] for t in range(5)] == [
        "'h'",
        "'e'",
        "'l'",
        "'l'",
        "'o'",
    ]
    # Save: torch.load(weights_only=True) reads it, and rnnviz trace --run traces it.
    out = tmp_path / "window.pt"
    assert save_training_run(win, out)
    data = torch.load(out, weights_only=True)
    assert [h["predicted"] for h in data["history"]][-1] == ["ohlol"]
    for k, v in data["final"].items():
        np.testing.assert_array_equal(v.numpy(), hist.final[k])
    proc = subprocess.run(
        ["python", "-m", "rnnviz", "trace", "--run", str(out), "--text", "hello"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "RNN" in proc.stdout


def test_open_bad_run_file_is_refused(window, tmp_path):
    from rnnviz.app.run_files import open_training_run, save_training_run

    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a torch file")
    assert not open_training_run(window, bad)
    assert "not a readable run file" in window.status.currentMessage()
    assert history(window.state) is None
    assert not save_training_run(window, tmp_path / "x.pt")  # nothing trained
    assert "nothing trained" in window.status.currentMessage()


def test_status_bar_lists_training_and_trace(window):
    doc, status = window.state, window.status
    doc.set_job("tracing RNN …", 0.2)
    doc.set_kind_job("train", "training …", 0.4)
    doc.set_kind_job("trace", "tracing RNN(10, 8) on seq_len 5 × batch 1 …", 0.2)
    assert status.job_line() == "training … · tracing RNN(10, 8) on seq_len 5 × batch 1 …"
    assert status.busy.text() == status.job_line()
    doc.set_kind_job("trace", "")
    assert status.busy.text() == "training …"


def test_an_opened_run_shows_exactly_what_it_ran(window, qtbot, tmp_path, capsys):
    """A run file's lr and seed as the CLI took them (5e-05, 3,000,000,000: a 4-decimal box
    showed 0.0001 and Train then trained that; a C-int box refused the seed), and the preset
    box names the run's preset, or "(custom)"."""
    from rnnviz.app.run_files import open_training_run

    tv = window.training_view
    odd = tmp_path / "odd.pt"
    argv = ["train", "--lr", "0.00005", "--seed", "3000000000", "--epochs", "2", "--out"]
    assert cli_main([*argv, str(odd)]) == 0
    tagger = tmp_path / "tagger.pt"
    assert cli_main(["train", "--preset", "tagger", "--out", str(tagger)]) == 0  # as preset
    capsys.readouterr()
    assert open_training_run(window, tagger)
    qtbot.waitUntil(lambda: _done(window), timeout=60_000)
    assert tv.preset_combo.currentData() == "tagger"
    assert open_training_run(window, odd)
    qtbot.waitUntil(lambda: _done(window), timeout=60_000)
    assert history(window.state).reproduced
    s = tv.settings()
    assert s.lr == 5e-05 and s.seed == 3_000_000_000
    assert tv.lr_spin.text() == "lr 5e-05" and tv.seed_spin.text() == "3000000000"
    assert tv.preset_combo.currentIndex() == 0 and tv.preset_combo.currentData() is None
