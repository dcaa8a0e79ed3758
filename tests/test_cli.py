"""The `rnnviz` command: the shapes/trace contracts and one-line errors with exit status 2."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from rnnviz.cli.main import main
from rnnviz.config.presets import PRESETS
from rnnviz.config.spec import Spec
from rnnviz.io.trace_file import load_trace

HUGE = ["--hidden-size", "65536", "--num-layers", "64", "--seq-len", "100000"]


def run(capsys, argv):
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize(
    "argv",
    [
        ["--cell", "lstm", "--input-size", "5", "--hidden-size", "6", "--num-layers", "2"],
        [
            "--cell",
            "gru",
            "--bidirectional",
            "--batch-first",
            "--seq-len",
            "4",
            "--batch-size",
            "2",
        ],
        ["--cell", "rnn", "--nonlinearity", "relu", "--no-bias", "--num-layers", "3"],
        ["--cell", "lstm", "--proj-size", "2", "--bidirectional", "--num-layers", "2"],
    ],
)
@pytest.mark.filterwarnings("ignore:LSTM with projections:UserWarning")
def test_shapes_json_contract(capsys, argv):
    status, out, err = run(capsys, ["shapes", *argv, "--json"])
    assert status == 0 and err == ""
    d = json.loads(out)
    spec = Spec.from_dict(d["spec"])
    assert set(d["tensors"]) == {"input", "h0", "c0", "output", "h_n", "c_n"}
    for k, v in d["tensors"].items():
        if k in ("c0", "c_n") and spec.cell != "lstm":
            assert v is None
        else:
            assert isinstance(v, list) and all(type(n) is int for n in v)
    module = spec.build()
    named = [(n, list(p.shape)) for n, p in module.named_parameters()]
    assert [(p["name"], p["shape"]) for p in d["parameters"]] == named
    for p in d["parameters"]:
        assert p["count"] == int(np.prod(p["shape"]))
    assert d["total_parameters"] == sum(p.numel() for p in module.parameters())
    kp = d["keras_parameters"]
    assert (kp is None) == bool(spec.proj_size) and (kp is None or type(kp) is int)
    x = torch.zeros(spec.input_shape())
    with torch.no_grad():
        out_t, state = module(x)
    assert d["tensors"]["output"] == list(out_t.shape)
    h_n = state[0] if spec.cell == "lstm" else state
    assert d["tensors"]["h_n"] == list(h_n.shape)


def test_shapes_text_mentions_totals(capsys):
    status, out, _ = run(capsys, ["shapes", "--input-size", "28", "--hidden-size", "128"])
    assert status == 0 and "80,896" in out and "80,384" in out


def test_trace_out_npz(capsys, tmp_path):
    path = tmp_path / "t.npz"
    status, out, err = run(
        capsys,
        [
            "trace",
            "--cell",
            "gru",
            "--num-layers",
            "2",
            "--bidirectional",
            "--init",
            "randn",
            "--out",
            str(path),
        ],
    )
    assert status == 0, err
    lines = out.strip().splitlines()
    # The one verdict, in the window's words (issue 12): "matches torch: max |Δ| = …".
    assert len(lines) == 1 and "matches torch: max |Δ| = " in lines[0] and str(path) in lines[0]
    diff = float(re.search(r"max \|Δ\| = ([0-9.e+-]+)", lines[0]).group(1).rstrip(","))
    assert diff <= 1e-5
    tr = load_trace(path)
    assert tr.spec == Spec("gru", num_layers=2, bidirectional=True)
    with np.load(path) as npz:
        assert {"input", "h0", "output", "h_n"} <= set(npz.files)
        assert "c0" not in npz.files and "c_n" not in npz.files
        assert npz["gates/l1/bwd/n"].shape == (3, 1, 6)


def test_preset_with_explicit_override(capsys):
    status, out, _ = run(capsys, ["shapes", "--preset", "lstm-5-6-2", "--seq-len", "4", "--json"])
    d = json.loads(out)
    assert status == 0
    assert d["tensors"]["input"] == [4, 3, 5] and d["tensors"]["h_n"] == [2, 3, 6]
    status, out, _ = run(capsys, ["trace", "--preset", "relu-explode"])
    assert status == 0 and "float32's limit" in out and "Inf/NaN" in out
    status, out, _ = run(capsys, ["presets"])
    assert status == 0 and "rnncell-4-2" in out


ERRORS = [  # (argv, field named in the message)
    (["shapes", "--hidden-size", "0"], "hidden_size"),
    (["shapes", "--input-size", "-3"], "input_size"),
    (["shapes", "--num-layers", "0"], "num_layers"),
    (["shapes", "--seq-len", "0"], "seq_len"),
    (["shapes", "--batch-size", "0"], "batch_size"),
    (["shapes", "--cell", "gru", "--proj-size", "2"], "proj_size"),
    (["shapes", "--cell", "rnn", "--proj-size", "2"], "proj_size"),
    (["shapes", "--proj-size", "6"], "proj_size"),
    (["shapes", "--cell", "lstm", "--nonlinearity", "relu"], "nonlinearity"),
    (["shapes", "--cell", "gru", "--nonlinearity", "relu"], "nonlinearity"),
    (["shapes", "--dropout", "1"], "dropout"),
    (["shapes", "--dropout", "-0.5"], "dropout"),
    (["shapes", "--dropout", "nan"], "dropout"),
    (["shapes", "--preset", "nope"], "preset"),
    (["shapes", "--memory-budget", "lots"], "memory_budget"),
    (["shapes", "--memory-budget", "inf"], "memory_budget"),
    (["trace", "--stepper", "cell", "--num-layers", "2"], "num_layers"),
    (["trace", "--stepper", "cell", "--bidirectional"], "bidirectional"),
    (["trace", "--weight-scale", "0"], "weight_scale"),
    (["trace", "--seed", "-1"], "seed"),
    (["trace", "--hidden-size", "0", "--out", "/nonexistent/x.npz"], "hidden_size"),
]


@pytest.mark.parametrize(("argv", "field"), ERRORS)
def test_errors_exit_2_with_one_line_naming_the_field(capsys, argv, field):
    status, out, err = run(capsys, argv)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"rnnviz: invalid {field}: "), err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "argv",
    [
        ["shapes", "--hidden-size", "six"],
        ["shapes", "--cell", "cnn"],
        ["shapes", "--hidden-size", "2.5"],
        ["trace", "--dropout", "x"],
        ["shapes", "--unknown"],
        ["frobnicate"],
        ["export", "--cell", "gru"],
    ],
)
def test_argparse_errors_exit_2(capsys, argv):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and ": error: " in err
    assert err.count("\n") == 1 and err.startswith("rnnviz") and "--help" in err


def test_unwritable_out_is_one_line(capsys, tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    status, out, err = run(capsys, ["trace", "--out", str(f / "t.npz")])
    assert status == 2 and err.count("\n") == 1 and "cannot write" in err


@pytest.mark.parametrize("budget", [["--memory-budget", "8G"], []], ids=["8G", "default"])
@pytest.mark.parametrize(
    "command",
    # gates-png needs the whole trace; a table or a folded drawing would not (issue 12 item 7).
    [["trace"], ["export", "--format", "gates-png", "-o", "g.xml"]],
    ids=["trace", "export"],
)
def test_huge_configuration_is_refused_quickly(capsys, command, budget, monkeypatch, tmp_path):
    monkeypatch.delenv("RNNVIZ_MEMORY_BUDGET", raising=False)
    monkeypatch.chdir(tmp_path)
    started = time.perf_counter()
    status, out, err = run(capsys, [*command, *HUGE, *budget])
    elapsed = time.perf_counter() - started
    assert status == 2 and out == ""
    assert err.startswith("rnnviz: refused: ") and "needs about" in err
    # A trace records every gate (TiB here); GraphML needs the graph, not a trace (GiB).
    assert ("TiB" if command[0] == "trace" else "GiB") in err
    assert err.count("\n") == 1
    print(f"\n{command[0]} refusal: {elapsed * 1e3:.1f} ms")  # reported, not asserted
    assert not (tmp_path / "g.xml").exists()


def test_unfolded_graph_data_is_checked_for_the_graph_alone(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    argv = ["export", "--format", "graphml", "-o", "g.xml", *HUGE, "--memory-budget", "8G"]
    status, out, err = run(capsys, argv)
    assert status == 2 and "refused" in err and "TiB" not in err  # no trace is counted


def test_shapes_of_a_huge_configuration_are_answered_with_the_refusal_noted(capsys, monkeypatch):
    # Shapes are arithmetic: the answer is given, and the note says a trace would be refused.
    monkeypatch.delenv("RNNVIZ_MEMORY_BUDGET", raising=False)
    status, out, err = run(capsys, ["shapes", *HUGE])
    assert status == 0 and err == ""
    assert "(64, 1, 65536)" in out.replace("[", "(").replace("]", ")") or "65536" in out
    assert "would be refused" in out and "TiB" in out
    status, out, _ = run(capsys, ["shapes", *HUGE, "--json"])
    assert status == 0 and json.loads(out)["tensors"]["h_n"] == [64, 1, 65536]


def test_memory_budget_flag_reaches_the_trace(capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("RNNVIZ_MEMORY_BUDGET", raising=False)
    status, _, err = run(capsys, ["trace", "--hidden-size", "64", "--memory-budget", "1K"])
    assert status == 2 and "budget of 1.0 KiB" in err
    # Raised above the environment's limit, the flag holds inside the core's own check too.
    monkeypatch.setenv("RNNVIZ_MEMORY_BUDGET", "1K")
    status, out, err = run(capsys, ["trace", "--hidden-size", "64", "--memory-budget", "1G"])
    assert status == 0 and "max |Δ| = " in out, err


def test_torch_warning_is_one_line(capsys, tmp_path):
    status, out, err = run(capsys, ["trace", "--dropout", "0.5", "--out", str(tmp_path / "t.npz")])
    assert status == 0 and "max |Δ| = " in out
    assert err.startswith("rnnviz: warning: dropout") and err.count("\n") == 1


# ---- as a real process -------------------------------------------------------------------------
def _proc(*argv):
    return subprocess.run(
        [sys.executable, "-m", "rnnviz", *argv], capture_output=True, text=True, timeout=120
    )


def test_subprocess_shapes_json():
    p = _proc(
        "shapes",
        "--cell",
        "rnn",
        "--input-size",
        "5",
        "--hidden-size",
        "6",
        "--num-layers",
        "2",
        "--seq-len",
        "1",
        "--batch-size",
        "3",
        "--json",
    )
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert d["tensors"]["output"] == [1, 3, 6] and d["tensors"]["c0"] is None


def test_subprocess_trace_and_errors(tmp_path):
    p = _proc("trace", "--cell", "lstm", "--out", str(tmp_path / "x.npz"))
    assert p.returncode == 0 and p.stdout.count("\n") == 1 and "max |Δ| = " in p.stdout
    assert load_trace(tmp_path / "x.npz").spec.cell == "lstm"
    started = time.perf_counter()
    p = _proc("trace", *HUGE)
    print(f"\nsubprocess refusal: {time.perf_counter() - started:.2f} s")
    assert p.returncode == 2 and "refused" in p.stderr and "Traceback" not in p.stderr
    p = _proc("shapes", "--proj-size", "9")
    assert p.returncode == 2 and p.stderr.strip().count("\n") == 0
    assert "proj_size" in p.stderr and "Traceback" not in p.stderr


# ---- golden files: `rnnviz shapes --preset KEY --json` for every tutorial preset --------------
GOLDEN = Path(__file__).parent / "golden"


@pytest.mark.parametrize("key", [p.key for p in PRESETS])
def test_shapes_json_golden(capsys, request, key):
    """Any change to the JSON contract or a figure shows up as a diff here. After an intended
    change, rewrite with `python -m pytest tests/test_cli.py --regen-golden` and review it."""
    status, out, _ = run(capsys, ["shapes", "--preset", key, "--json"])
    assert status == 0
    path = GOLDEN / f"shapes_{key}.json"
    if request.config.getoption("--regen-golden"):
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(out)
    assert path.exists(), f"missing {path}; run with --regen-golden"
    assert json.loads(out) == json.loads(path.read_text())


def test_the_console_script_is_the_cli_entry_point():
    """`rnnviz` (pyproject's [project.scripts]) must load a callable: the CLI is a package,
    so the entry point names its module, rnnviz.cli.main:main."""
    from importlib.metadata import entry_points

    (ep,) = [e for e in entry_points(group="console_scripts") if e.name == "rnnviz"]
    assert ep.value == "rnnviz.cli.main:main"
    assert callable(ep.load())
