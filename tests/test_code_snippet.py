"""Item 10 of issue 12: Copy as code. The snippet runs in a fresh interpreter, imports only
torch, and its output / h_n / c_n equal the trace's tensors bit for bit."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from rnnviz.analysis.code import CodeError, code_for, constructor
from rnnviz.config.options import INIT_KINDS, INPUT_KINDS, RunOptions
from rnnviz.config.presets import PRESETS
from rnnviz.config.spec import Spec
from rnnviz.engine.tracing import trace_spec

#: Runs every snippet in its own namespace in one fresh interpreter and saves what each left
#: in output / h_n / c_n; it fails if anything imported rnnviz.
_DRIVER = r"""
import contextlib, io, json, sys
import numpy as np
snippets = json.load(open(sys.argv[1]))
out = {}
for k, code in enumerate(snippets):
    ns = {}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, f"snippet{k}", "exec"), ns)
    for name in ("output", "h_n", "c_n"):
        if name in ns:
            out[f"{k}/{name}"] = ns[name].detach().numpy()
    out[f"{k}/printed"] = np.array(printed.getvalue())
assert not any(m.startswith("rnnviz") for m in sys.modules), "a snippet imported rnnviz"
np.savez(sys.argv[2], **out)
"""

SMALL = dict(input_size=3, hidden_size=4, seq_len=3, batch_size=2)
CELLS = [("lstm", "tanh"), ("gru", "tanh"), ("rnn", "tanh"), ("rnn", "relu")]


def _cases() -> list[tuple[Spec, RunOptions]]:
    cases = []
    for (cell, nl), stepper, bf, init, kind, ws in itertools.product(
        CELLS, ("module", "cell"), (False, True), INIT_KINDS, INPUT_KINDS, (1.0, 1.7)
    ):
        spec = Spec(cell, nonlinearity=nl, batch_first=bf, **SMALL)  # type: ignore[arg-type]
        cases.append(
            (spec, RunOptions(seed=7, input_kind=kind, init=init, weight_scale=ws, stepper=stepper))
        )
    # Module-only features: layers, directions, projection, dropout, no bias, batch 3 seq 1.
    for spec in (
        Spec(
            "lstm",
            5,
            6,
            num_layers=2,
            bidirectional=True,
            proj_size=3,
            seq_len=4,
            batch_size=2,
            batch_first=True,
        ),
        Spec("gru", 5, 6, num_layers=3, dropout=0.3, seq_len=4, bias=False),
        Spec("rnn", 5, 6, num_layers=2, bidirectional=True, nonlinearity="relu", seq_len=5),
        Spec("rnn", 4, 2, seq_len=1, batch_size=3),
    ):
        cases.append((spec, RunOptions(seed=11, init="randn", weight_scale=0.5)))
    cases.append((Spec("lstm", 4, 2, seq_len=3, bias=False), RunOptions(stepper="cell")))
    cases += [(p.spec, p.options) for p in PRESETS]
    return cases


def _bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)


def test_every_snippet_reproduces_the_trace_bit_for_bit(tmp_path: Path) -> None:
    cases = _cases()
    snippets = [code_for(spec, opts) for spec, opts in cases]
    (tmp_path / "snippets.json").write_text(json.dumps(snippets))
    (tmp_path / "driver.py").write_text(_DRIVER)
    # -I: isolated, so neither PYTHONPATH nor the working directory can supply rnnviz.
    subprocess.run(
        [
            sys.executable,
            "-I",
            str(tmp_path / "driver.py"),
            str(tmp_path / "snippets.json"),
            str(tmp_path / "out.npz"),
        ],
        check=True,
        cwd=tmp_path,
        timeout=600,
    )
    got = np.load(tmp_path / "out.npz")
    for k, (spec, opts) in enumerate(cases):
        tr = trace_spec(spec, opts)
        where = f"case {k}: {spec.title()} {opts}"
        out = got[f"{k}/output"]
        cell = opts.stepper == "cell"
        # A Cell trace records each call's h_t (T, batch, H), and c_t; its last is h_n / c_n.
        want = {
            "output": tr.tensors["h_t"] if cell else tr.tensors["output"],
            "h_n": tr.tensors["h_t"][-1] if cell else tr.tensors["h_n"],
        }
        if spec.cell == "lstm":
            want["c_n"] = tr.tensors["c_t"][-1] if cell else tr.tensors["c_n"]
        assert out.shape == want["output"].shape, where
        assert np.array_equal(_bits(out), _bits(want["output"])), where
        for name in ("h_n", "c_n") if spec.cell == "lstm" else ("h_n",):
            mine = got[f"{k}/{name}"]
            assert np.array_equal(_bits(mine), _bits(want[name])), f"{where} {name}"
        # What it prints is torch's own print of those tensors.
        assert str(got[f"{k}/printed"]).startswith(str(torch.from_numpy(out))), where


def test_snippet_alone_runs_as_a_script_and_prints_the_trace() -> None:
    spec, opts = Spec("rnn", 4, 2, seq_len=3), RunOptions(stepper="cell", init="randn")
    code = code_for(spec, opts)
    assert "rnnviz" not in code.replace("# rnnviz:", "")
    assert "for x_t in x:" in code and "nn.RNNCell(4, 2)" in code
    run = subprocess.run(
        [sys.executable, "-I", "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    tr = trace_spec(spec, opts)
    expected = f"{torch.from_numpy(tr.tensors['h_t'])}\n{torch.from_numpy(tr.tensors['h_t'][-1])}\n"
    assert run.stdout == expected


def test_constructor_lists_only_non_default_arguments() -> None:
    spec = Spec("lstm", 5, 6, num_layers=2, bidirectional=True, batch_first=True, proj_size=3)
    assert constructor(spec, False) == (
        "nn.LSTM(5, 6, num_layers=2, batch_first=True, bidirectional=True, proj_size=3)"
    )
    assert constructor(Spec("rnn", 4, 2, nonlinearity="relu", bias=False), True) == (
        "nn.RNNCell(4, 2, bias=False, nonlinearity='relu')"
    )


def test_an_unknown_mode_is_refused_not_guessed() -> None:
    later = RunOptions()
    object.__setattr__(later, "seeding", "not-yet-written")  # a mode added to the core later

    with pytest.raises(CodeError, match="seeding mode 'not-yet-written'"):
        code_for(Spec("rnn", 2, 3), later)
