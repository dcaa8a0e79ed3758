"""Data and table exports (GraphML, DOT, JSON, Markdown, CSV): parsed back and checked against
the spec, byte-stable, and written atomically by `rnnviz export`. No Qt here."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

from rnnviz.analysis.graph import build_graph
from rnnviz.analysis.shapes import shapes
from rnnviz.cli.main import main
from rnnviz.config.presets import preset
from rnnviz.config.spec import Spec
from rnnviz.io.export import FORMATS, data_bytes, default_filename, export_bytes

SPECS = [
    preset("bilstm-2").spec,
    Spec("gru", 3, 4, 3, seq_len=5, batch_size=2),
    Spec("rnn", 4, 2, 1, seq_len=1, nonlinearity="relu"),
    Spec("lstm", 7, 8, 2, bidirectional=True, proj_size=3, seq_len=4, batch_first=True),
]
IDS = ["bilstm-2", "gru-3layer", "rnn-1step", "lstm-proj-bf"]
DATA_FORMATS = [k for k, f in FORMATS.items() if f.kind in ("data", "table")]


def _cells_ok(g: nx.Graph, spec: Spec) -> None:
    cells = [
        (d["layer"], d["direction"], d["t"])
        for _, d in g.nodes(data=True)
        if d.get("kind") == "cell"
    ]
    expected = {
        (la, dn, t)
        for la in range(spec.num_layers)
        for dn in spec.directions
        for t in range(spec.seq_len)
    }
    assert len(cells) == spec.num_layers * spec.num_directions * spec.seq_len
    assert set(cells) == expected


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_graphml_reads_back_into_networkx(spec):
    g = nx.read_graphml(io.BytesIO(data_bytes(spec, "graphml")))
    assert isinstance(g, nx.DiGraph)
    _cells_ok(g, spec)
    assert all(
        isinstance(d["t"], int) and isinstance(d["layer"], int)
        for _, d in g.nodes(data=True)
        if d["kind"] == "cell"
    )
    assert g.number_of_edges() > 0
    assert all(
        re.fullmatch(r"h \(.*\) \+ c \(.*\)|\(\d+(, \d+)*\)", d["shape"])
        for *_, d in g.edges(data=True)
    )
    assert Spec.from_json(g.graph["spec"]) == spec
    # The input edge of layer 0 carries (batch, input_size).
    cell = next(n for n, d in g.nodes(data=True) if d.get("kind") == "cell" and d["layer"] == 0)
    x_edge = next(d for a, _, d in g.in_edges(cell, data=True) if d["flow"] == "x")
    assert x_edge["shape"] == f"({spec.batch_size}, {spec.input_size})"


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_json_round_trips_to_the_same_graph(spec):
    from rnnviz.analysis.graph import build_graph

    data = json.loads(data_bytes(spec, "json"))
    g = nx.node_link_graph(data, directed=True, multigraph=False, edges="edges")
    ref = build_graph(spec)
    assert list(g.nodes(data=True)) == list(ref.nodes(data=True))
    assert list(g.edges(data=True)) == list(ref.edges(data=True))
    _cells_ok(g, spec)


# A tiny DOT reader: enough of the grammar for what we write (quoted IDs, one statement a line).
_QUOTED = r'"(?:[^"\\]|\\.)*"'
_VALUE = rf"{_QUOTED}|-?[\d.]+(?:e-?\d+)?|true|false|\w+"
_NODE = re.compile(rf"^\s*({_QUOTED})\s*\[(.*)\];$")
_EDGE = re.compile(rf"^\s*({_QUOTED})\s*->\s*({_QUOTED})\s*\[(.*)\];$")
_ATTR = re.compile(rf"(\w+)=({_VALUE})")


def _unquote(s: str) -> str:
    if s.startswith('"'):
        return re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), s[1:-1])
    return s


def _attrs(text: str) -> dict[str, str]:
    return {k: _unquote(v) for k, v in _ATTR.findall(text)}


def parse_dot(text: str) -> tuple[dict[str, dict], list[tuple[str, str, dict]], dict[str, str]]:
    """(nodes, edges, graph attrs) of a DOT file as dot_bytes writes it."""
    nodes, edges, graph = {}, [], {}
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("//")]
    assert lines[0].startswith("digraph") and lines[-1] == "}"
    for ln in lines[1:-1]:
        if m := _EDGE.match(ln):
            edges.append((_unquote(m.group(1)), _unquote(m.group(2)), _attrs(m.group(3))))
        elif m := _NODE.match(ln):
            nodes[_unquote(m.group(1))] = _attrs(m.group(2))
        elif ln.strip().startswith("graph ["):
            graph = _attrs(ln)
        else:
            assert re.match(r"^\s*((node|edge) \[.*\];|\{ rank=same; .* \})$", ln), ln
    return nodes, edges, graph


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_dot_parses_back_to_the_graph(spec):
    from rnnviz.analysis.graph import build_graph

    text = data_bytes(spec, "dot").decode("utf-8")
    nodes, drawn, graph = parse_dot(text)
    ref = build_graph(spec)
    # The file says how to read it as data, not only the renderer's convention.
    assert 'edges with dir="back" are written head-first' in text.split("digraph")[0]
    # Invisible edges only hold the grid's order; `dir=back` edges are written head-first
    # (the backward recurrence, and edges up a column) and mean the arrow b → a.
    edges = [
        (b, a, attrs) if attrs.get("dir") == "back" else (a, b, attrs)
        for a, b, attrs in drawn
        if attrs.get("style") != "invis"
    ]
    for _a, _b, attrs in edges:
        assert attrs.get("label", attrs.get("xlabel")) == attrs["shape"].replace(" + ", "\n")
    assert set(nodes) == set(ref.nodes)
    assert {(a, b) for a, b, _ in edges} == set(ref.edges)
    assert len(edges) == ref.number_of_edges()
    for a, b, attrs in edges:
        assert attrs["shape"] == ref.edges[a, b]["shape"] == attrs["tooltip"]
        assert attrs["flow"] == ref.edges[a, b]["flow"]
    cells = [d for d in nodes.values() if d["kind"] == "cell"]
    assert len(cells) == spec.num_layers * spec.num_directions * spec.seq_len
    # The spec JSON is full of quotes: it survives DOT quoting intact.
    assert Spec.from_json(graph["spec"]) == spec
    assert graph["label"] == spec.title()


@pytest.mark.skipif(not shutil.which("neato"), reason="graphviz not installed")
def test_graphviz_accepts_the_dot_file(tmp_path):
    dot = tmp_path / "g.dot"
    dot.write_bytes(data_bytes(SPECS[0], "dot"))
    proc = subprocess.run(["neato", "-Tsvg", str(dot)], capture_output=True, text=True)
    assert proc.returncode == 0 and not proc.stderr, proc.stderr
    assert proc.stdout.count('class="node"') == build_graph(SPECS[0]).number_of_nodes()


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_markdown_and_csv_tables(spec):
    report = shapes(spec)
    md = data_bytes(spec, "md").decode("utf-8")
    assert md.splitlines()[0] == f"# {spec.title()}"
    table_rows = [ln for ln in md.splitlines() if ln.startswith("| ")]
    names = [p.name for p in report.parameters]
    assert all(any(f"| {n} |" in row for row in table_rows) for n in names)
    rows = list(csv.reader(io.StringIO(data_bytes(spec, "csv").decode("utf-8"))))
    assert rows[0] == ["section", "name", "shape", "count", "detail"]
    params = [r for r in rows if r[0] == "parameter"]
    assert [r[1] for r in params] == names
    assert sum(int(r[3]) for r in params) == report.total_parameters
    total = next(r for r in rows if r[:2] == ["total", "pytorch"])
    assert int(total[3]) == report.total_parameters


@pytest.mark.parametrize("fmt", DATA_FORMATS)
def test_same_spec_gives_same_bytes(fmt):
    spec = SPECS[0]
    assert export_bytes(spec, fmt) == export_bytes(spec, fmt)
    assert export_bytes(spec, fmt) != export_bytes(spec.replace(hidden_size=7), fmt)


def test_same_bytes_across_processes_with_different_hash_seeds(tmp_path):
    outs = []
    for seed in ("1", "2"):
        out = tmp_path / f"g{seed}.json"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        subprocess.run(
            [
                sys.executable,
                "-m",
                "rnnviz",
                "export",
                "--preset",
                "bilstm-2",
                "--format",
                "json",
                "-o",
                str(out),
            ],
            check=True,
            env=env,
            capture_output=True,
        )
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] == export_bytes(preset("bilstm-2").spec, "json")


def test_data_exports_are_unfolded_unless_asked():
    spec = Spec("gru", 2, 3, 2, bidirectional=True, seq_len=100)
    full = nx.read_graphml(io.BytesIO(data_bytes(spec, "graphml")))
    _cells_ok(full, spec)
    assert not any(d["kind"] == "fold" for _, d in full.nodes(data=True))
    folded = nx.read_graphml(io.BytesIO(data_bytes(spec, "graphml", fold=3)))
    ts = {d["t"] for _, d in folded.nodes(data=True) if d["kind"] == "cell"}
    assert ts == {0, 1, 2, 97, 98, 99}
    marks = [d for _, d in folded.nodes(data=True) if d["kind"] == "fold"]
    assert marks and all(d["folded"] == 94 for d in marks)


def test_default_filename_names_the_configuration():
    spec = preset("bilstm-2").spec
    assert default_filename(spec, "svg") == "lstm-5x6-l2-bi-T6.svg"
    assert default_filename(spec, "svg", timestep=3) == "lstm-5x6-l2-bi-T6-t3.svg"
    assert default_filename(spec, "gates-png") == "lstm-5x6-l2-bi-T6-gates.png"
    assert default_filename(spec, "md", timestep=3) == "lstm-5x6-l2-bi-T6.md"
    assert default_filename(spec, "png", fold=0) == "lstm-5x6-l2-bi-T6-unfolded.png"
    assert default_filename(spec, "dot", fold=2) == "lstm-5x6-l2-bi-T6-fold2.dot"


# ---- the CLI -----------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", DATA_FORMATS)
def test_cli_writes_each_data_format(tmp_path, capsys, fmt):
    out = tmp_path / f"g.{FORMATS[fmt].ext}"
    assert main(["export", "--preset", "bilstm-2", "--format", fmt, "-o", str(out)]) == 0
    assert out.read_bytes() == export_bytes(preset("bilstm-2").spec, fmt)
    assert str(out) in capsys.readouterr().out


@pytest.mark.parametrize("where", ["missing-dir/g.graphml", "a-file/g.graphml"])
def test_cli_unwritable_path_exits_2_with_one_line(tmp_path, capsys, where):
    (tmp_path / "a-file").write_text("not a directory")
    status = main(["export", "--format", "graphml", "-o", str(tmp_path / where)])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and "cannot write" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--timestep", "6"], "timestep must be from 0 to 5"),
        (["--timestep", "-1"], "timestep must be from 0 to 5"),
        (["--fold", "-2"], "fold must be"),
        (["--scale", "0"], "scale must be"),
    ],
)
def test_cli_bad_options_exit_2(tmp_path, capsys, flags, message):
    out = tmp_path / "g.dot"
    status = main(["export", "--preset", "bilstm-2", "--format", "dot", "-o", str(out), *flags])
    assert status == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def _limit_file_size() -> None:
    # A real failure part-way through the write: the kernel refuses to grow any file past
    # 2 KB (EFBIG), as a full disk would refuse.
    import resource

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))


def test_failure_mid_write_leaves_the_old_file_intact(tmp_path):
    out = tmp_path / "g.graphml"
    old = b"the previous export\n"
    out.write_bytes(old)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "rnnviz",
            "export",
            "--preset",
            "bilstm-2",
            "--format",
            "graphml",
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        preexec_fn=_limit_file_size,
    )
    assert proc.returncode == 2, proc.stderr
    assert "cannot write" in proc.stderr and "Traceback" not in proc.stderr
    assert out.read_bytes() == old
    assert [p.name for p in Path(tmp_path).iterdir()] == ["g.graphml"]  # no temp file left


def test_data_exports_do_not_import_qt():
    code = (
        "import sys; from rnnviz.io.export import data_bytes; from rnnviz.config.presets import preset;"
        "[data_bytes(preset('bilstm-2').spec, f) for f in ('graphml','dot','json','md','csv')];"
        "assert not any(m.startswith(('PySide6', 'pyqtgraph')) for m in sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_written_export_is_readable_by_others_like_a_plain_file(tmp_path):
    out = tmp_path / "g.csv"
    assert main(["export", "--format", "csv", "-o", str(out)]) == 0
    umask = os.umask(0o022)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask
    out.chmod(0o640)
    assert main(["export", "--format", "md", "-o", str(out)]) == 0
    assert out.stat().st_mode & 0o777 == 0o640
