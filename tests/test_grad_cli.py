"""`rnnviz grad`: the .npz keys, the one-line verdicts, --json norms, --compare (golden),
and the plots drawn through Qt (PNG decoded, SVG rendered by librsvg) and written as CSV."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from rnnviz.cli.main import main
from rnnviz.config.options import RunOptions
from rnnviz.config.presets import preset
from rnnviz.config.spec import Spec
from rnnviz.grad.gradients import gradients_spec
from rnnviz.io.trace_file import load_gradients

GOLDEN = Path(__file__).parent / "golden"
SMALL = ["--cell", "lstm", "--num-layers", "2", "--bidirectional", "--seq-len", "5"]


def run(capsys, argv):
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def test_grad_out_writes_trace_and_grad_keys(capsys, tmp_path):
    path = tmp_path / "g.npz"
    status, out, err = run(capsys, ["grad", *SMALL, "--loss", "sum", "--out", str(path)])
    assert status == 0, err
    assert out.count("\n") == 1
    assert "forward matches torch" in out and "gradients match torch: max |Δ| = " in out
    assert "loss sum = " in out
    with np.load(path) as npz:
        keys = set(npz.files)
    for layer in (0, 1):
        for d in ("fwd", "bwd"):
            assert {f"grad/l{layer}/{d}/h", f"grad/l{layer}/{d}/c"} <= keys
    assert {"grad/input", "grad/h0", "grad/c0", "loss", "input", "h0", "c0"} <= keys
    assert "grad/param/weight_hh_l1_reverse" in keys
    gt = load_gradients(path)
    ref = gradients_spec(Spec("lstm", 5, 6, 2, bidirectional=True, seq_len=5), RunOptions(), "sum")
    assert gt.loss == "sum" and gt.grad_verified
    np.testing.assert_array_equal(gt.dh[(1, "bwd")], ref.dh[(1, "bwd")])
    assert float(np.load(path)["loss"]) == pytest.approx(ref.loss_value)


def test_grad_json_gives_the_per_timestep_norms(capsys):
    status, out, _ = run(capsys, ["grad", *SMALL, "--json"])
    assert status == 0
    d = json.loads(out)
    ref = gradients_spec(Spec("lstm", 5, 6, 2, bidirectional=True, seq_len=5), RunOptions())
    assert d["loss"] == "last" and d["grad_verified"] is True
    assert set(d["norms"]) == {
        f"l{la}/{dd}/{k}" for la in (0, 1) for dd in ("fwd", "bwd") for k in "hc"
    }
    np.testing.assert_allclose(d["norms"]["l0/bwd/h"], ref.norms(0, "bwd"), rtol=1e-12)
    np.testing.assert_allclose(d["norms"]["l1/fwd/c"], ref.c_norms(1, "fwd"), rtol=1e-12)
    assert len(d["norms"]["l0/fwd/h"]) == 5


@pytest.mark.parametrize(
    "name, argv",
    [
        ("grad-vanishing", ["--preset", "grad-vanishing"]),
        ("bilstm-clip", [*SMALL, "--forget-bias", "1", "--clip", "1"]),
    ],
)
def test_grad_compare_golden(capsys, request, name, argv):
    """Decay ratios per cell and lane. Regenerate with --regen-golden after an intended change."""
    status, out, _ = run(capsys, ["grad", "--compare", *argv])
    assert status == 0
    path = GOLDEN / f"grad_compare_{name}.txt"
    if request.config.getoption("--regen-golden"):
        path.write_text(out)
    assert path.exists(), f"missing {path}; run with --regen-golden"
    assert out == path.read_text()
    rows = [line.split() for line in out.splitlines()[2:6]]
    assert [r[0] for r in rows] == ["RNN", "RNN", "LSTM", "GRU"]
    # The window's marks, never a raw nan; each mark used has its legend line.
    assert "nan" not in out
    for mark in ("°", "—"):
        if any(mark in cell for r in rows for cell in r):
            assert any(line.startswith(f"{mark}: ") for line in out.splitlines())


def test_compare_ratio_is_the_norm_ratio(capsys):
    status, out, _ = run(capsys, ["grad", "--compare", "--preset", "grad-vanishing", "--json"])
    assert status == 0
    d = json.loads(out)
    p = preset("grad-vanishing")
    gt = gradients_spec(p.spec.replace(cell="gru"), p.options)
    n = gt.norms(0, "fwd")
    assert d["GRU"]["l0/fwd"] == pytest.approx(n[0] / n[-1], rel=1e-12)


def test_grad_errors_are_one_line(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["grad", *SMALL, "--loss", "mean"])
    assert exc.value.code == 2 and "invalid choice" in capsys.readouterr().err
    status, _, err = run(capsys, ["grad", *SMALL, "--clip", "1"])
    assert status == 2 and "--compare" in err
    status, _, err = run(capsys, ["grad", *SMALL, "--plot", "x.pdf"])
    assert status == 2 and ".png or .svg" in err
    status, _, err = run(capsys, ["grad", *SMALL, "--no-bias", "--compare", "--forget-bias", "1"])
    assert status == 2 and "forget_bias" in err


def _png_pixels(path: Path) -> tuple[int, int, np.ndarray]:
    from PySide6.QtGui import QImage

    img = QImage(str(path)).convertToFormat(QImage.Format.Format_RGB888)
    w, h = img.width(), img.height()
    arr = np.frombuffer(img.constBits(), np.uint8, img.bytesPerLine() * h).reshape(h, -1)
    return w, h, arr[:, : 3 * w].reshape(h, w, 3).copy()  # the QImage owns the bytes


def _coloured(rgb: np.ndarray, colour: tuple[int, int, int]) -> int:
    return int((np.abs(rgb.astype(int) - np.array(colour)).sum(axis=2) < 40).sum())


def test_plot_png_svg_and_csv(capsys, tmp_path):
    png, svg, csv = tmp_path / "n.png", tmp_path / "n.svg", tmp_path / "n.csv"
    status, _, err = run(
        capsys, ["grad", "--preset", "grad-exploding", "--plot", str(png), "--csv", str(csv)]
    )
    assert status == 0, err
    w, h, rgb = _png_pixels(png)
    assert w == 900 and 520 < h < 600  # the 900 × 520 plot and its caption above it
    assert _coloured(rgb, (0, 114, 178)) > 300  # the layer-0 curve in its lane colour
    lines = csv.read_text().splitlines()
    assert lines[0] == "t,h_l0_fwd" and len(lines) == 61
    p = preset("grad-exploding")
    n = gradients_spec(p.spec, p.options).norms(0, "fwd")
    assert float(lines[1].split(",")[1]) == pytest.approx(n[0], rel=1e-12)
    status, _, _ = run(capsys, ["grad", "--compare", *SMALL, "--plot", str(svg)])
    assert status == 0
    text = svg.read_text()
    assert text.startswith("<?xml") and "<svg" in text
    if shutil.which("rsvg-convert"):
        out = tmp_path / "svg.png"
        subprocess.run(["rsvg-convert", str(svg), "-o", str(out)], check=True)
        _, _, rgb = _png_pixels(out)
        # Four cells, four lane colours; thin lines (a few thousand pixels each at most):
        # renderers that scale cosmetic strokes would paint tens of thousands.
        for colour in ((0, 114, 178), (213, 94, 0), (0, 158, 115), (204, 121, 167)):
            assert 50 < _coloured(rgb, colour) < 20_000


SVG_NS = "{http://www.w3.org/2000/svg}"


def svg_words(path: Path) -> tuple[str, str]:
    """(the SVG's <title>, every text it draws joined with spaces): what a reader of the
    file, or of its name in a viewer, is told."""
    import xml.etree.ElementTree as ET

    root = ET.parse(path).getroot()
    node = root.find(f"{SVG_NS}title")
    title = "" if node is None or node.text is None else node.text
    texts = " ".join("".join(t.itertext()) for t in root.iter(f"{SVG_NS}text"))
    return title, texts


def test_plot_files_carry_the_windows_caption(capsys, tmp_path):
    """`--plot` figures had only a file title ("… gradient norms"), naming neither lane nor
    loss: a file alone did not say what it plots. They now carry the window's export
    caption (plot_caption / compare caption), above the plot and as the file's title."""
    norms, cmp = tmp_path / "n.svg", tmp_path / "c.svg"
    status, _, err = run(capsys, ["grad", "--cell", "gru", "--loss", "sum", "--plot", str(norms)])
    assert status == 0, err
    title, texts = svg_words(norms)
    head = "GRU(5, 6) — ‖∂L/∂h_t‖₂ per step, layer 0, over batch × units, loss sum"
    assert title == head and head in texts, (title, texts[:300])
    status, _, err = run(capsys, ["grad", "--compare", *SMALL, "--loss", "hn", "--plot", str(cmp)])
    assert status == 0, err
    title, texts = svg_words(cmp)
    head = "‖∂L/∂h_t‖₂ of RNN tanh, RNN relu, LSTM and GRU — layer 0 forward, loss hn"
    assert title == head and head in texts, (title, texts[:300])
    assert "epoch" not in title  # fresh modules, no text model in sight
