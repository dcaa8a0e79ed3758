"""output ↔ h_n identities and h_n slice labels, checked on real traces."""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz.analysis.identities import output_identities, slice_checks
from rnnviz.analysis.shapes import shapes
from rnnviz.config.presets import preset
from rnnviz.config.spec import Spec
from rnnviz.document.snapshot import compute_snapshot


@pytest.mark.parametrize(
    "spec",
    [
        Spec("lstm", 5, 6, 2, bidirectional=True, batch_first=True, seq_len=4, batch_size=2),
        Spec("lstm", 5, 6, 2, bidirectional=True, proj_size=3, seq_len=3),
        Spec("gru", 3, 4, 3, seq_len=5, batch_size=3),
        Spec("rnn", 3, 4, 1, bidirectional=True, batch_first=True, seq_len=2),
    ],
)
def test_identities_and_slices_hold_on_torchs_numbers(spec):
    tr = compute_snapshot(spec).trace
    ids = output_identities(tr)
    assert len(ids) == spec.num_directions and all(c.holds for c in ids)
    # the identity texts are the shape report's own statements
    report = shapes(spec)
    for check, stated in zip(ids, report.identities):
        assert stated.startswith(check.text)
    slices = slice_checks(tr)
    per = 2 if spec.cell == "lstm" else 1
    assert len(slices) == spec.num_layers * spec.num_directions * per
    assert all(c.holds for c in slices)
    assert all(c.exact for c in slices if c.lhs.startswith("h_n"))
    # each label names the slice rnnviz.analysis.shapes assigns to it
    for s in report.hn_slices:
        check = next(c for c in slices if c.lhs == f"h_n[{s.index}]")
        assert f"layer {s.layer} {s.direction}" in check.rhs


def test_a_wrong_label_is_caught():
    spec = Spec("gru", 3, 4, 2, bidirectional=True, seq_len=3)
    tr = compute_snapshot(spec).trace
    tr.tensors["h_n"] = tr.tensors["h_n"][[1, 0, 2, 3]].copy()  # swap layer 0's directions
    bad = [c for c in slice_checks(tr) if not c.holds]
    assert {c.lhs for c in bad} == {"h_n[0]", "h_n[1]"}
    assert all(c.max_abs_diff > 0 for c in bad)


def test_nonfinite_values_compare_equal_to_themselves():
    p = preset("relu-explode")
    tr = compute_snapshot(p.spec, p.options).trace
    assert not np.isfinite(tr.tensors["h_n"]).all()
    assert all(c.holds for c in output_identities(tr) + slice_checks(tr))
