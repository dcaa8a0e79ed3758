"""Golden files for every text output: the `rnnviz shapes` table, the trace summary line, DOT,
and the Markdown/CSV tables. A change to any of them shows up as a diff; after an intended
change, rewrite them with `python -m pytest tests/test_golden_text.py --regen-golden`."""

from __future__ import annotations

import pytest

from rnnviz.cli.main import main
from rnnviz.config.presets import preset
from rnnviz.engine.tracing import trace_spec
from rnnviz.io.export import data_bytes

KEYS = ("rnn-5-6-2", "bilstm-2", "lstm-28-128", "rnncell-4-2")


def _cli(capsys, argv: list[str]) -> str:
    status = main(argv)
    out = capsys.readouterr().out
    assert status == 0
    return out


@pytest.mark.parametrize("key", KEYS)
def test_shapes_table(capsys, golden, key):
    golden(f"shapes_{key}.txt", _cli(capsys, ["shapes", "--preset", key]))


@pytest.mark.parametrize("key", ("rnn-5-6-2", "gru-5-6-2"))
def test_trace_summary_line(golden, key):
    # The summary carries max_abs_diff; these small seeded traces recompute bit-exactly
    # (float32 kernels on the same CPU), so the line is stable.
    p = preset(key)
    golden(f"summary_{key}.txt", trace_spec(p.spec, p.options).summary() + "\n")


@pytest.mark.parametrize("fmt", ("dot", "md", "csv"))
@pytest.mark.parametrize("key", ("bilstm-2", "lstm-28-128"))
def test_data_exports(golden, key, fmt):
    golden(f"export_{key}.{fmt}", data_bytes(preset(key).spec, fmt).decode("utf-8"))
