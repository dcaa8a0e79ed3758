"""`rnnviz code`: every spec and run flag reaches the snippet, with and without a preset."""

from __future__ import annotations

import pytest

from rnnviz.analysis.code import code_for
from rnnviz.cli.main import main
from rnnviz.config.options import RunOptions
from rnnviz.config.presets import preset
from rnnviz.config.spec import Spec


def run(capsys, argv):
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def test_code_prints_the_snippet_for_the_flags(capsys) -> None:
    status, out, _ = run(
        capsys,
        [
            "code",
            "--cell",
            "gru",
            "--input-size",
            "3",
            "--hidden-size",
            "4",
            "--num-layers",
            "2",
            "--bidirectional",
            "--batch-first",
            "--seq-len",
            "5",
            "--batch-size",
            "2",
            "--dropout",
            "0.25",
            "--no-bias",
            "--seed",
            "9",
            "--input",
            "ones",
            "--init",
            "randn",
            "--weight-scale",
            "1.5",
        ],
    )
    spec = Spec(
        "gru",
        3,
        4,
        num_layers=2,
        bidirectional=True,
        batch_first=True,
        seq_len=5,
        batch_size=2,
        dropout=0.25,
        bias=False,
    )
    opts = RunOptions(seed=9, input_kind="ones", init="randn", weight_scale=1.5)
    assert status == 0
    assert out == code_for(spec, opts)
    for piece in (
        "nn.GRU(3, 4, num_layers=2, bias=False, batch_first=True, dropout=0.25, "
        "bidirectional=True)",
        "torch.manual_seed(9)",
        "manual_seed(10)",
        "torch.ones(2, 5, 3)",
        "torch.randn(4, 2, 4, generator=g)",
        "p.mul_(1.5)",
    ):
        assert piece in out, piece


def test_code_with_a_preset_uses_its_spec_and_options_and_flags_on_top(capsys) -> None:
    p = preset("rnncell-4-2")
    status, out, _ = run(capsys, ["code", "--preset", "rnncell-4-2"])
    assert status == 0 and out == code_for(p.spec, p.options)
    assert "nn.RNNCell(4, 2)" in out and "for x_t in x:" in out
    status, out, _ = run(
        capsys,
        ["code", "--preset", "rnncell-4-2", "--seed", "5", "--init", "randn", "--seq-len", "7"],
    )
    assert status == 0
    # The tutorial presets draw x and h0 on torch's global generator, as the tutorial does.
    assert "torch.manual_seed(5)" in out and "torch.randn(7, 1, 4)" in out
    assert "h = torch.randn(1, 2)" in out


def test_code_refuses_a_cell_with_two_layers(capsys) -> None:
    status, out, err = run(capsys, ["code", "--stepper", "cell", "--num-layers", "2"])
    assert status == 2 and out == "" and "num_layers" in err


def test_code_refuses_an_unknown_cell(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["code", "--cell", "nope"])
    assert exc.value.code == 2
