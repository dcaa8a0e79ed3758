"""Issue 12, "every label tells the truth": Cells as Cells, one verdict, flags that take effect,
presets that say what they run, a budget per output, tutorial-exact seeding (core and CLI)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

import rnnviz
from rnnviz.analysis.graph import build_graph
from rnnviz.analysis.identities import output_identities
from rnnviz.analysis.shapes import shapes
from rnnviz.analysis.tables import shape_table_csv, shape_table_markdown, shape_table_text
from rnnviz.cli.main import main
from rnnviz.config.options import INPUT_KINDS, RunOptions
from rnnviz.config.presets import PRESETS, preset
from rnnviz.config.spec import Spec, SpecError
from rnnviz.engine.record import Trace
from rnnviz.engine.tracing import trace, trace_spec
from rnnviz.io.export import data_bytes
from rnnviz.io.trace_file import load_trace, save_trace

TUTORIAL_004 = Spec("lstm", 64, 128, seq_len=10, batch_size=3, batch_first=True)


def run(capsys, argv):
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out, err


# ---- 1. a Cell is shown as a Cell ---------------------------------------------------------------
def test_traced_rnncell_summary_names_the_cell_not_the_module():
    torch.manual_seed(0)
    tr = rnnviz.trace(torch.nn.RNNCell(4, 2), torch.randn(3, 1, 4))
    assert tr.api == "cell" and tr.title == "RNNCell(4, 2)"
    assert tr.summary().startswith("RNNCell(4, 2) called 3×") and "RNN(4, 2)" not in tr.summary()
    # What each call took and returned, under torch's names; no output, no h_n.
    assert tr.tensors["h0"].shape == (1, 2) and tr.tensors["h_t"].shape == (3, 1, 2)
    assert "output" not in tr.tensors and "h_n" not in tr.tensors
    assert set(tr.params) == {"weight_ih", "weight_hh", "bias_ih", "bias_hh"}


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_cell_shape_report_uses_the_cells_api(cell):
    spec = Spec(cell, 4, 2, seq_len=3)
    report = shapes(spec, "cell")
    name = cell.upper() + "Cell"
    assert report.title == f"{name}(4, 2)"
    assert report.tensors["x_t"] == (1, 4) and report.tensors["h0"] == (1, 2)
    assert report.tensors["h_t"] == (1, 2)
    assert "output" not in report.tensors and "h_n" not in report.tensors
    assert report.hn_slices == ()
    assert [p.name for p in report.parameters] == ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
    # torch agrees on every name and shape.
    module = getattr(torch.nn, name)(4, 2)
    assert {n: tuple(p.shape) for n, p in module.named_parameters()} == {
        p.name: p.shape for p in report.parameters
    }
    assert "for x_t in x:" in report.calls[-1]
    text = shape_table_text(report)
    assert f"{name}(4, 2)" in text and "weight_ih_l0" in text  # only in the RNN counterpart
    assert "h_n slices" not in text
    # Side by side with the module of the same weights.
    assert report.counterpart_title == f"{cell.upper()}(4, 2)"
    assert ("weight_ih", "weight_ih_l0") in [(a, b) for a, b, _ in report.counterpart]
    for out in (shape_table_markdown(report), shape_table_csv(report)):
        assert f"{name}(4, 2)" in out


def test_cell_and_module_give_the_same_numbers_side_by_side():
    spec = Spec("rnn", 4, 2, seq_len=3)
    cell = trace_spec(spec, RunOptions(stepper="cell", seeding="tutorial"))
    module = trace_spec(spec, RunOptions(seeding="tutorial"))
    np.testing.assert_array_equal(cell.tensors["h_t"], module.tensors["output"])
    np.testing.assert_array_equal(cell.params["weight_ih"], module.params["weight_ih_l0"])


def test_cell_graph_has_calls_and_no_h_n():
    g = build_graph(Spec("rnn", 4, 2, seq_len=3), api="cell")
    assert g.graph["title"] == "RNNCell(4, 2)" and g.graph["cell_name"] == "RNNCell"
    kinds = [k for _, k in g.nodes(data="kind")]
    assert "h_n" not in kinds and kinds.count("cell") == 3
    assert g.nodes["h0_l0_fwd"]["label"] == "hx"
    assert g.nodes["cell_l0_fwd_t1"]["label"] == "RNNCell call t1"
    dot = data_bytes(Spec("rnn", 4, 2, seq_len=3), "dot", api="cell").decode()
    assert "RNNCell(4, 2)" in dot and "h_n" not in dot


@pytest.mark.parametrize(
    ("change", "field"),
    [({"num_layers": 2}, "num_layers"), ({"bidirectional": True}, "bidirectional")],
)
def test_a_cell_refuses_layers_and_directions_naming_the_field(change, field):
    spec = Spec("rnn", 4, 2, **change)
    with pytest.raises(SpecError) as exc:
        RunOptions(stepper="cell").check(spec)
    assert exc.value.field == field
    with pytest.raises(SpecError):
        shapes(spec, "cell")


def test_cli_shapes_takes_stepper_and_preset_stepper(capsys):
    status, out, _ = run(capsys, ["shapes", "--preset", "rnncell-4-2", "--json"])
    d = json.loads(out)
    assert status == 0 and d["api"] == "cell" and d["title"] == "RNNCell(4, 2)"
    assert [p["name"] for p in d["parameters"]][0] == "weight_ih"
    status, out, _ = run(
        capsys,
        ["shapes", "--cell", "rnn", "--input-size", "4", "--hidden-size", "2", "--stepper", "cell"],
    )
    assert status == 0 and out.startswith("RNNCell(4, 2)") and "h_n slices" not in out
    assert "hx      (1, 2)" in out and "h_t     (1, 2)" in out
    status, out, _ = run(capsys, ["shapes", "--preset", "rnncell-4-2", "--stepper", "module"])
    assert status == 0 and out.startswith("RNN(4, 2)")
    status, _, err = run(capsys, ["shapes", "--stepper", "cell", "--num-layers", "2"])
    assert status == 2 and "num_layers" in err


def test_cli_export_of_a_cell_names_the_cell(capsys, tmp_path):
    out = tmp_path / "c.md"
    status, text, _ = run(capsys, ["export", "--preset", "rnncell-4-2", "-f", "md", "-o", str(out)])
    assert status == 0 and "RNNCell(4, 2)" in text
    md = out.read_text()
    assert md.startswith("# RNNCell(4, 2)") and "| weight_ih |" in md


# ---- 2. one verdict; batch_first Cell consistent ------------------------------------------------
def test_batch_first_cell_stores_input_in_the_layout_its_meta_says(tmp_path):
    tr = trace_spec(TUTORIAL_004, RunOptions(stepper="cell", input_kind="rand"))
    assert tr.spec.batch_first and tr.tensors["input"].shape == (3, 10, 64)
    assert shapes(tr.spec, "cell").tensors["input"] == (3, 10, 64)
    assert tr.verdict.state == "ok" and output_identities(tr) == []
    save_trace(tr, tmp_path / "t.npz")
    back = load_trace(tmp_path / "t.npz")
    assert back.spec.batch_first and back.tensors["input"].shape == (3, 10, 64)
    assert back.api == "cell" and back.verdict == tr.verdict
    # The loop x[:, t] over the stored input reproduces every h_t, as tutorial 004 writes it.
    torch.manual_seed(0)
    cell = torch.nn.LSTMCell(64, 128)
    x = torch.rand(3, 10, 64)
    tr2 = trace(cell, x, batch_first=True)
    h = c = torch.zeros(3, 128)
    with torch.no_grad():
        for t in range(10):
            h, c = cell(x[:, t, :], (h, c))
    np.testing.assert_array_equal(tr2.tensors["h_t"][-1], h.numpy())


def test_one_verdict_is_the_text_everywhere(capsys):
    tr = trace_spec(preset("rnn-5-6-2").spec, preset("rnn-5-6-2").options)
    assert tr.verdict.state == "ok" and tr.verified
    assert tr.verdict is tr.verdict  # computed once
    assert tr.verdict.text in tr.summary()
    status, out, _ = run(capsys, ["trace", "--preset", "rnn-5-6-2"])
    assert status == 0 and "matches torch: max |Δ| =" in out


def test_a_failed_identity_makes_the_verdict_differ():
    tr = trace_spec(Spec("gru", 3, 4, seq_len=3), RunOptions())
    bad = dict(tr.tensors)
    bad["h_n"] = bad["h_n"] + 1.0
    broken = Trace(tr.spec, bad, tr.gates, tr.params, tr.max_abs_diff, tr.max_rel_diff)
    assert broken.verdict.state == "differs" and not broken.verified
    assert "fails h_n[0] == output[-1, :, :]" in broken.verdict.text


# ---- 4. relu-explode: amber with words, exit status ---------------------------------------------
def test_relu_explode_is_amber_in_words_and_exits_zero(capsys):
    p = preset("relu-explode")
    tr = trace_spec(p.spec, p.options)
    assert tr.verdict.state == "amber" and tr.verified
    assert "float32's limit" in tr.verdict.text and "summation order" in tr.verdict.explanation
    status, out, _ = run(capsys, ["trace", "--preset", "relu-explode"])
    assert status == 0 and tr.verdict.text in out and "summation order" in out
    assert p.gate_scale == "signed-log"


def test_trace_exits_nonzero_on_a_real_disagreement(capsys, monkeypatch):
    from rnnviz.engine import verdict as verdict_mod

    real = verdict_mod.judge

    def differs(*args, **kwargs):
        v = real(*args, **kwargs)
        return verdict_mod.Verdict("differs", v.max_abs_diff, 1.0, 0, 0)

    monkeypatch.setattr("rnnviz.engine.record.judge", differs)
    status, out, _ = run(capsys, ["trace", "--preset", "rnn-5-6-2"])
    assert status == 1 and "DIFFERS from torch" in out


# ---- 5. flags that vanish -----------------------------------------------------------------------
SPEC_FLAG_CASES = [
    (["--cell", "gru"], lambda s, o: s.cell == "gru"),
    (["--nonlinearity", "relu", "--cell", "rnn"], lambda s, o: s.nonlinearity == "relu"),
    (["--input-size", "7"], lambda s, o: s.input_size == 7),
    (["--hidden-size", "10"], lambda s, o: s.hidden_size == 10),
    (["--num-layers", "3"], lambda s, o: s.num_layers == 3),
    (["--bidirectional"], lambda s, o: s.bidirectional),
    (["--batch-first"], lambda s, o: s.batch_first),
    (["--no-bias"], lambda s, o: not s.bias),
    (["--dropout", "0.5"], lambda s, o: s.dropout == 0.5),
    (["--cell", "lstm", "--proj-size", "2"], lambda s, o: s.proj_size == 2),
    (["--seq-len", "7"], lambda s, o: s.seq_len == 7),
    (["--batch-size", "4"], lambda s, o: s.batch_size == 4),
]
RUN_FLAG_CASES = [
    (["--seed", "5"], lambda s, o: o.seed == 5),
    (["--input", "ones"], lambda s, o: o.input_kind == "ones"),
    (["--input", "rand"], lambda s, o: o.input_kind == "rand"),
    (["--init", "zeros"], lambda s, o: o.init == "zeros"),
    (["--weight-scale", "2"], lambda s, o: o.weight_scale == 2.0),
    (["--seeding", "separate"], lambda s, o: o.seeding == "separate"),
]


def status_of(argv):
    """main's exit status, also for argparse's own refusals (SystemExit)."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


def _captured(monkeypatch, command):
    """Run `command`'s handler as a spy: record the spec and options it would use."""
    seen = {}
    from rnnviz.cli import args as cli_args
    from rnnviz.cli import main as cli_main

    def handler(args, spec):
        seen["spec"] = spec
        seen["options"] = cli_args.options_from_args(args, args._explicit)
        return 0

    monkeypatch.setattr(cli_main, "_handler", lambda name: handler)
    return seen


@pytest.mark.parametrize("command", ["shapes", "trace", "export", "gui"])
@pytest.mark.parametrize("with_preset", [False, True])
@pytest.mark.parametrize(("flags", "holds"), SPEC_FLAG_CASES + RUN_FLAG_CASES)
def test_every_flag_takes_effect_with_and_without_a_preset(
    monkeypatch, command, with_preset, flags, holds
):
    if command == "shapes" and flags[0] in {f[0][0] for f in RUN_FLAG_CASES}:
        # shapes is arithmetic: run flags other than --stepper are refused, not ignored.
        assert status_of(["shapes", *flags]) == 2
        return
    seen = _captured(monkeypatch, command)
    # rnn-5-6-2 (2 layers, seq 1, batch 3, init randn, tutorial seeding): every flag above
    # changes something in it, so a flag the preset swallowed would fail here.
    base = ["--preset", "rnn-5-6-2"] if with_preset else []
    extra = ["-f", "md", "-o", "x.md"] if command == "export" else []
    assert main([command, *base, *flags, *extra]) == 0
    assert holds(seen["spec"], seen["options"]), (command, flags, seen)


@pytest.mark.parametrize("command", ["shapes", "trace", "export", "gui"])
@pytest.mark.parametrize("with_preset", [False, True])
def test_stepper_flag_takes_effect(monkeypatch, command, with_preset):
    seen = _captured(monkeypatch, command)
    base = ["--preset", "rnncell-4-2"] if with_preset else ["--cell", "rnn"]
    extra = ["-f", "md", "-o", "x.md"] if command == "export" else []
    want = "module" if with_preset else "cell"
    assert main([command, *base, "--stepper", want, *extra]) == 0
    assert seen["options"].stepper == want


@pytest.mark.parametrize("command", ["shapes", "trace", "export", "gui"])
@pytest.mark.parametrize("abbrev", ["--hidden", "--bidir", "--seq", "--weight", "--no-b"])
def test_abbreviations_are_refused(capsys, command, abbrev):
    value = [] if abbrev in ("--bidir", "--no-b") else ["7"]
    extra = ["-f", "md", "-o", "x.md"] if command == "export" else []
    status = status_of([command, "--preset", "rnn-5-6-2", abbrev, *value, *extra])
    err = capsys.readouterr().err
    assert status == 2 and "unrecognized arguments" in err


def test_preset_no_bias_counts_what_torch_counts(capsys):
    status, out, _ = run(capsys, ["shapes", "--preset", "rnn-5-6-2", "--no-bias", "--json"])
    assert status == 0 and json.loads(out)["total_parameters"] == 138
    assert sum(p.numel() for p in torch.nn.RNN(5, 6, 2, bias=False).parameters()) == 138


def test_gui_run_flags_without_a_spec_flag_reach_the_window(monkeypatch):
    got = {}

    def fake_launch(spec, options, **kw):
        got.update(kw, spec=spec, options=options)
        return 0

    monkeypatch.setattr("rnnviz.app.launch.launch", fake_launch)
    assert main(["gui", "--input", "ones", "--seed", "5", "--init", "randn"]) == 0
    assert got["spec"] is None
    assert got["overrides"] == {"input_kind": "ones", "seed": 5, "init": "randn"}


def test_gui_refuses_a_timestep_past_the_preset(capsys):
    status, _, err = run(capsys, ["gui", "--preset", "rnn-5-6-2", "--timestep", "9"])
    assert status == 2 and "timestep must be from 0 to 0" in err


def test_cli_choices_come_from_the_core():
    from rnnviz.cli.main import build_parser

    sub = build_parser()._subparsers._group_actions[0].choices["trace"]
    inputs = next(a for a in sub._actions if a.dest == "input_kind")
    assert tuple(inputs.choices) == INPUT_KINDS and "rand" in INPUT_KINDS


# ---- 6. presets say what they run ---------------------------------------------------------------
def test_no_preset_claims_one_hot_input():
    for p in PRESETS:
        if p.options.input_kind in ("randn", "rand"):
            assert "one-hot" not in p.description.replace("NOT the one-hot", "")
    p = preset("hello-ohlol-shapes")
    assert "random input" in p.name and "torch.randn" in p.description


# ---- 7. budget per output, refused before torch -------------------------------------------------
HUGE = ["--hidden-size", "65536", "--num-layers", "64", "--seq-len", "100000"]


@pytest.mark.parametrize("fmt", ["md", "csv"])
def test_tables_of_a_huge_spec_need_no_trace(capsys, tmp_path, fmt):
    out = tmp_path / f"x.{fmt}"
    status, _, err = run(capsys, ["export", *HUGE, "-f", fmt, "-o", str(out)])
    assert status == 0 and err == "" and out.stat().st_size > 0


def test_folded_svg_needs_no_recorded_gates():
    from rnnviz.config.budget import check_budget, estimate

    spec = Spec("lstm", 5, 4096, num_layers=8, seq_len=200_000)
    assert estimate(spec, trace=False, fold=4).gates == 0
    check_budget(spec, 1 << 30, trace=False, fold=4)  # a folded drawing is small
    with pytest.raises(SpecError):
        check_budget(spec, 1 << 30)  # the trace is not


@pytest.mark.parametrize("command", ["trace", "export", "gui"])
def test_a_refusal_answers_before_torch_is_imported(command):
    # gates-png needs the whole trace (a folded svg of it would be accepted: see above).
    extra = {"export": ["-f", "gates-png", "-o", "never.png"], "gui": [], "trace": []}[command]
    code = (
        "import sys; from rnnviz.cli.main import main; "
        f"s = main({[command, *HUGE, '--memory-budget', '1G', *extra]!r}); "
        "print(s, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["2", "False"], out.stderr
    assert "refused" in out.stderr


# ---- 8. the tutorial's own numbers --------------------------------------------------------------
def test_tutorial_001_rnncell_numbers_reproduced():
    """Tutorial 001's RNNCell loop under torch.manual_seed(0) prints h = (-0.6982, -0.2092)
    at its first call; the rnncell-4-2 preset at seed 0 shows the same."""
    torch.manual_seed(0)
    cell = torch.nn.RNNCell(input_size=4, hidden_size=2)
    dataset = torch.randn(3, 1, 4)
    hidden = torch.zeros(1, 2)
    printed = []
    with torch.no_grad():
        for x_t in dataset:
            hidden = cell(x_t, hidden)
            printed.append(hidden.numpy().copy())
    p = preset("rnncell-4-2")
    assert p.options.seeding == "tutorial" and p.options.seed == 0
    tr = trace_spec(p.spec, p.options)
    np.testing.assert_array_equal(tr.tensors["h_t"], np.stack(printed))
    np.testing.assert_allclose(tr.tensors["h_t"][0, 0], [-0.6982, -0.2092], atol=5e-5)
    # The caller's generator is left alone.
    torch.manual_seed(3)
    a = torch.randn(2)
    torch.manual_seed(3)
    trace_spec(p.spec, p.options)
    assert torch.equal(torch.randn(2), a)


def test_tutorial_seeding_follows_the_tutorials_order_for_modules():
    spec = Spec("rnn", 5, 6, 2, seq_len=1, batch_size=3)
    tr = trace_spec(spec, RunOptions(init="randn", seeding="tutorial", seed=1))
    torch.manual_seed(1)
    rnn = torch.nn.RNN(5, 6, 2)
    x = torch.randn(1, 3, 5)
    h0 = torch.randn(2, 3, 6)
    with torch.no_grad():
        out, hn = rnn(x, h0)
    np.testing.assert_array_equal(tr.tensors["input"], x.numpy())
    np.testing.assert_array_equal(tr.tensors["h0"], h0.numpy())
    np.testing.assert_allclose(tr.tensors["output"], out.numpy(), atol=1e-6)


def test_rand_input_kind_is_uniform():
    tr = trace_spec(TUTORIAL_004, RunOptions(stepper="cell", input_kind="rand"))
    x = tr.tensors["input"]
    assert x.min() >= 0.0 and x.max() < 1.0
