"""Gate exports in the gate view's colour-scale modes (`--scale-mode`, the export dialog's
"Colours"): an exploding run exported with signed-log shows its finite values in colour where
the fixed (own ±max) scale leaves them white, and the figure's caption names the mode."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before Qt loads

from PySide6.QtGui import QImage  # noqa: E402

from rnnviz.analysis.scales import DIVERGING, NONFINITE_COLOURS  # noqa: E402
from rnnviz.app.dialogs.export_dialog import ExportDialog  # noqa: E402
from rnnviz.app.window import MainWindow  # noqa: E402
from rnnviz.cli.main import main  # noqa: E402
from rnnviz.config.presets import preset  # noqa: E402
from rnnviz.document.document import Document  # noqa: E402
from rnnviz.document.snapshot import compute_snapshot  # noqa: E402
from rnnviz.io.export import ExportError, default_filename, export_bytes  # noqa: E402

pytestmark = pytest.mark.gui

MAGENTA = np.array(NONFINITE_COLOURS["NaN"])
WHITE_MID = np.array(dict(DIVERGING)[0.5])  # the colour of 0 on every scale


@pytest.fixture(scope="module")
def explode(qapp):
    p = preset("relu-explode")
    return p, compute_snapshot(p.spec, p.options)


def _rgb(data: bytes) -> np.ndarray:
    img = QImage.fromData(data, "PNG").convertToFormat(QImage.Format.Format_RGB888)
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    raw = np.frombuffer(bytes(img.constBits()), dtype=np.uint8).reshape(h, bpl)
    return raw[:, : w * 3].reshape(h, w, 3).astype(int)


def _finite_cells(rgb: np.ndarray) -> np.ndarray:
    """The pixels of the first heatmap's finite part: the rows its NaN block (drawn magenta,
    from t≈63 on) spans, from 40 px right of the image's left edge to 20 px before that block
    (clear of the axis, the cursor at t=2 and the last finite steps)."""
    left = rgb[:, : rgb.shape[1] // 2]
    nan = np.all(left == MAGENTA, axis=2)
    rows = np.flatnonzero(nan.sum(axis=1) > 20)
    start = int(np.flatnonzero(nan[rows[len(rows) // 2]])[0])
    assert len(rows) > 100 and start > 200, (len(rows), start)
    return left[rows[0] + 4 : rows[-1] - 4, 60 : start - 20]


def test_signed_log_colours_the_finite_values_fixed_leaves_white(explode):
    p, snap = explode
    got = {
        mode: _rgb(export_bytes(p.spec, "gates-png", snapshot=snap, timestep=2, scale_mode=mode))
        for mode in ("fixed", "signed-log")
    }
    cells = {mode: _finite_cells(rgb) for mode, rgb in got.items()}

    def coloured(px: np.ndarray) -> float:
        # Off the white middle of the map by more than antialiasing would make.
        return float((np.abs(px - WHITE_MID).max(axis=2) > 40).mean())

    # Fixed: one 3.2e38 sets the ±max scale, so every value below ~1e36 is drawn as 0.
    assert coloured(cells["fixed"]) < 0.05, coloured(cells["fixed"])
    # Signed log: the same finite cells spread over the map (blue and red both present).
    assert coloured(cells["signed-log"]) > 0.5, coloured(cells["signed-log"])
    sl = cells["signed-log"].reshape(-1, 3)
    assert (sl[:, 2] - sl[:, 0] > 60).any() and (sl[:, 0] - sl[:, 2] > 60).any()
    # and none of them is painted as non-finite: they are finite colours of the map
    for colour in NONFINITE_COLOURS.values():
        assert not np.all(cells["signed-log"] == np.array(colour), axis=2).any()
    # The NaN block itself is the same in both.
    assert np.array_equal(
        np.all(got["fixed"] == MAGENTA, axis=2), np.all(got["signed-log"] == MAGENTA, axis=2)
    )


@pytest.mark.parametrize(
    ("mode", "words"),
    [("fixed", "fixed colour scale"), ("signed-log", "signed-log colour scale")],
)
def test_the_figure_caption_names_the_scale_mode(explode, mode, words):
    p, snap = explode
    svg = export_bytes(p.spec, "gates-svg", snapshot=snap, scale_mode=mode).decode()
    texts = " ".join(re.findall(r">([^<]*)</text>", svg))
    assert words in texts, texts[:300]
    # The whole caption is in the figure (a figure has no tooltip to hold a cut one).
    assert "h = " in texts and "…" not in texts.split("colour scale")[0]


def test_scale_mode_is_refused_for_formats_without_colours(explode):
    p, snap = explode
    with pytest.raises(ExportError, match="gates-png, gates-svg"):
        export_bytes(p.spec, "svg", scale_mode="signed-log")
    with pytest.raises(ExportError, match="fixed, stretched, signed-log"):
        export_bytes(p.spec, "gates-png", snapshot=snap, scale_mode="log")


def _cli(capsys, argv):
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def test_cli_scale_mode_with_and_without_a_preset(capsys, tmp_path, explode):
    p, snap = explode
    # With the preset and no flag: the preset's own scale (signed-log for relu-explode).
    assert p.gate_scale == "signed-log"
    status, out, _ = _cli(
        capsys,
        ["export", "--preset", "relu-explode", "-f", "gates-png", "-o", str(tmp_path / "a.png")],
    )
    assert status == 0 and "signed-log colour scale" in out
    want = export_bytes(p.spec, "gates-png", snapshot=snap, scale_mode="signed-log")
    assert (tmp_path / "a.png").read_bytes() == want
    # The flag beats the preset.
    status, out, _ = _cli(
        capsys,
        [
            "export",
            "--preset",
            "relu-explode",
            "-f",
            "gates-png",
            "--scale-mode",
            "fixed",
            "-o",
            str(tmp_path / "b.png"),
        ],
    )
    assert status == 0 and "fixed colour scale" in out
    want = export_bytes(p.spec, "gates-png", snapshot=snap, scale_mode="fixed")
    assert (tmp_path / "b.png").read_bytes() == want
    # Without a preset: flags alone, default fixed, and the flag is honoured.
    flags = ["--cell", "gru", "--input-size", "3", "--hidden-size", "4", "--seq-len", "5"]
    for mode, name in ((None, "c.svg"), ("stretched", "d.svg")):
        argv = ["export", *flags, "-f", "gates-svg", "-o", str(tmp_path / name)]
        if mode:
            argv += ["--scale-mode", mode]
        status, out, _ = _cli(capsys, argv)
        assert status == 0, out
        svg = (tmp_path / name).read_text()
        assert f"{mode or 'fixed'} colour scale" in svg and f"{mode or 'fixed'} colour" in out
    assert "stretched to the data" in (tmp_path / "d.svg").read_text()  # the bars say it too
    # A mode for a format without colours is an error, not silently ignored.
    status, _, err = _cli(
        capsys,
        [
            "export",
            *flags,
            "-f",
            "png",
            "--scale-mode",
            "signed-log",
            "-o",
            str(tmp_path / "x.png"),
        ],
    )
    assert status == 2 and "no colour scale" in err and not (tmp_path / "x.png").exists()


def test_dialog_offers_the_scale_mode_and_starts_at_the_windows(qtbot, tmp_path, explode):
    p, snap = explode
    state = Document(p.spec, p.options)
    state.set_snapshot(snap)
    dialog = ExportDialog(state, directory=str(tmp_path), scale_mode="signed-log")
    qtbot.addWidget(dialog)
    dialog.set_format("svg")
    assert not dialog.scale_mode_box.isEnabled() and dialog.choices()["scale_mode"] is None
    dialog.set_format("gates-png")
    assert dialog.scale_mode_box.isEnabled()
    assert dialog.choices()["scale_mode"] == "signed-log"
    assert dialog.path_edit.text().endswith("-gates-t0-signed-log.png")
    dialog.set_scale_mode("stretched")
    assert dialog.path_edit.text().endswith("-gates-t0-stretched.png")
    dialog.set_scale_mode("signed-log")
    dialog.export_button.click()
    written = Path(dialog.path_edit.text()).read_bytes()
    assert written == export_bytes(
        p.spec, "gates-png", snapshot=snap, timestep=0, scale_mode="signed-log"
    )
    assert default_filename(p.spec, "gates-png", 0, None, "fixed").endswith("-gates-t0.png")


def test_window_preset_picks_its_scale_and_the_dialog_follows_the_view(qtbot, monkeypatch):
    from rnnviz.app.dialogs import export_dialog

    start = preset("bilstm-2")
    state = Document(start.spec, start.options)
    window = MainWindow(state)
    window.persist = False
    qtbot.addWidget(window)
    assert window.gate_view.scale_mode() == "fixed"
    window.load_preset("relu-explode")
    assert window.gate_view.scale_mode() == "signed-log"
    seen: list = []

    def fake_exec(self):  # the dialog as the window opens it, not shown modally
        seen.append(self.scale_mode_box.currentData())
        return 0

    monkeypatch.setattr(export_dialog.ExportDialog, "exec", fake_exec)
    window.export_dialog()
    window.gate_view.set_scale_mode("stretched")
    window.export_dialog()
    assert seen == ["signed-log", "stretched"]
    # A preset that sets no scale leaves the user's choice alone.
    window.load_preset("bilstm-2")
    assert window.gate_view.scale_mode() == "stretched"


def test_a_presets_scale_goes_with_it(qtbot):
    """relu-explode's signed log was the preset's choice, not the user's: the next preset
    without a scale of its own opens on the default, built view or not."""
    for build_first in (True, False):
        start = preset("bilstm-2")
        window = MainWindow(Document(start.spec, start.options))
        window.persist = False
        qtbot.addWidget(window)
        if build_first:
            assert window.gate_view.scale_mode() == "fixed"
        window.load_preset("relu-explode")
        assert window.gate_scale() == "signed-log"
        window.load_preset("lstm-5-6-2")
        assert window.gate_scale() == "fixed"
        assert window.gate_view.scale_mode() == "fixed"
        window.load_preset("bilstm-2")  # and it stays so
        assert window.gate_view.scale_mode() == "fixed"
