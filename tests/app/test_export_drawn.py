"""Drawn exports (SVG, PNG, PDF of the diagram; gate heatmaps): parsed, measured and compared.

They are painted by the window's own GraphScene/GateView; here we check what came out.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before Qt loads

from PySide6.QtCore import QByteArray
from PySide6.QtGui import QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

from rnnviz.cli.main import main
from rnnviz.config.presets import preset
from rnnviz.config.spec import Spec
from rnnviz.io.export import export_bytes

pytestmark = pytest.mark.gui

SMALL = preset("bilstm-2").spec
LARGE = Spec("gru", 5, 6, 4, bidirectional=True, seq_len=2000)
SVG_NS = "{http://www.w3.org/2000/svg}"


def svg_texts(data: bytes) -> list[str]:
    """Every text run of an SVG, parsed with xml.etree."""
    root = ET.fromstring(data)
    assert root.tag == SVG_NS + "svg"
    return ["".join(el.itertext()).strip() for el in root.iter(SVG_NS + "text")]


def image_array(data: bytes) -> np.ndarray:
    """A PNG as an (h, w, 4) uint8 array."""
    img = QImage.fromData(data, "PNG").convertToFormat(QImage.Format.Format_RGBA8888)
    assert not img.isNull()
    arr = np.frombuffer(img.constBits(), np.uint8, img.sizeInBytes())
    # Copied: the buffer belongs to `img`, which is freed when this function returns.
    return (
        arr.reshape(img.height(), img.bytesPerLine())[:, : img.width() * 4]
        .reshape(img.height(), img.width(), 4)
        .copy()
    )


def pdf_pages(data: bytes) -> int:
    """Page count, from the page objects of the PDF."""
    return len(re.findall(rb"/Type\s*/Page\b", data))


@pytest.fixture(scope="module")
def scene_module():
    # The diagram is drawn by the window's GraphScene; these tests need it.
    return pytest.importorskip("rnnviz.app.drawing.scene")


@pytest.fixture(scope="module")
def small(qapp, scene_module):
    return {f: export_bytes(SMALL, f) for f in ("svg", "png", "pdf")}


def test_svg_is_xml_with_the_title_and_a_label_per_cell(small):
    texts = svg_texts(small["svg"])
    assert SMALL.title() in " ".join(texts)
    n_cells = SMALL.num_layers * SMALL.num_directions * SMALL.seq_len
    assert len(texts) >= n_cells + 1
    # Every timestep is named on the diagram (x_t below and y_t above each column).
    for t in range(SMALL.seq_len):
        assert any(re.search(rf"(^|\D){t}(\D|$)", s) for s in texts), t


def test_svg_renders_back_through_qt(small, qapp):
    renderer = QSvgRenderer(QByteArray(small["svg"]))
    assert renderer.isValid()
    size = renderer.defaultSize()
    img = QImage(size, QImage.Format.Format_ARGB32)
    img.fill(0xFFFFFFFF)
    p = QPainter(img)
    renderer.render(p)
    p.end()
    buf = QByteArray()
    from PySide6.QtCore import QBuffer, QIODevice

    b = QBuffer(buf)
    b.open(QIODevice.OpenModeFlag.WriteOnly)
    img.save(b, "PNG")
    arr = image_array(bytes(buf.data()))
    assert len(np.unique(arr.reshape(-1, 4), axis=0)) > 10


def test_png_is_not_blank_and_scale_sets_its_size(small):
    one = QImage.fromData(small["png"], "PNG")
    two = QImage.fromData(export_bytes(SMALL, "png", scale=2.0), "PNG")
    assert one.width() > 300 and one.height() > 200
    assert abs(two.width() - 2 * one.width()) <= 1 and abs(two.height() - 2 * one.height()) <= 1
    arr = image_array(small["png"])
    assert arr[..., :3].std() > 10  # drawn, not a flat fill
    assert len(np.unique(arr.reshape(-1, 4), axis=0)) > 20


def test_pdf_has_one_page_and_renders(small, tmp_path):
    data = small["pdf"]
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert pdf_pages(data) == 1
    # The clock's date is replaced by a fixed one, so two runs give the same bytes.
    assert b"(D:20000101000000" in data
    if shutil.which("pdftoppm"):
        (tmp_path / "d.pdf").write_bytes(data)
        subprocess.run(
            ["pdftoppm", "-png", "-r", "50", str(tmp_path / "d.pdf"), str(tmp_path / "page")],
            check=True,
            capture_output=True,
        )
        page = tmp_path / "page-1.png"
        arr = image_array(page.read_bytes())
        assert arr[..., :3].std() > 10


@pytest.mark.parametrize("fmt", ["svg", "png", "pdf"])
def test_same_spec_same_bytes(small, fmt):
    assert export_bytes(SMALL, fmt) == small[fmt]


def test_the_current_timestep_is_highlighted(small):
    at2 = image_array(export_bytes(SMALL, "png", timestep=2))
    at4 = image_array(export_bytes(SMALL, "png", timestep=4))
    plain = image_array(small["png"])
    assert at2.shape == at4.shape == plain.shape
    assert (at2 != plain).any() and (at2 != at4).any()


def test_large_sequence_folds_and_stays_small(qapp, scene_module):
    data = export_bytes(LARGE, "svg")
    assert len(data) < 3_000_000
    texts = " ".join(svg_texts(data))
    assert "1992" in texts  # the fold marker says how many steps it stands for
    assert "1999" in texts  # the last step is drawn


def test_cli_png_with_scale(tmp_path, qapp, scene_module, capsys):
    out = tmp_path / "d.png"
    assert (
        main(
            [
                "export",
                "--preset",
                "bilstm-2",
                "--format",
                "png",
                "-o",
                str(out),
                "--scale",
                "2",
                "--timestep",
                "3",
            ]
        )
        == 0
    )
    assert out.read_bytes() == export_bytes(SMALL, "png", timestep=3, scale=2.0)


def test_cli_timestep_out_of_range_for_a_drawn_format(tmp_path, qapp, capsys):
    out = tmp_path / "d.svg"
    assert (
        main(
            ["export", "--preset", "bilstm-2", "--format", "svg", "-o", str(out), "--timestep", "6"]
        )
        == 2
    )
    assert "timestep must be from 0 to 5" in capsys.readouterr().err
    assert not out.exists()


def test_cli_draws_headless_without_a_display(tmp_path, scene_module):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    out = tmp_path / "d.svg"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "rnnviz",
            "export",
            "--preset",
            "bilstm-2",
            "--format",
            "svg",
            "-o",
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes() == export_bytes(SMALL, "svg")


@pytest.mark.parametrize("fmt", ["gates-png", "gates-svg"])
def test_gate_heatmaps_export(qapp, fmt):
    pytest.importorskip("rnnviz.app.views.gate_view")
    data = export_bytes(SMALL, fmt, timestep=1)
    assert data == export_bytes(SMALL, fmt, timestep=1)
    if fmt == "gates-png":
        arr = image_array(data)
        assert arr.shape[0] > 200 and arr[..., :3].std() > 10
    else:
        root = ET.fromstring(data)
        assert root.tag == SVG_NS + "svg"
        assert len(list(root.iter(SVG_NS + "image"))) + len(svg_texts(data)) > 0
