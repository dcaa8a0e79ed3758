"""The DOT export as graphviz draws it, with `dot` (its layout) and `neato -n` (ours): no label
printed over or against another, and every arrowhead at the node the data flows into. Before,
`dot -Tpng` of bilstm-2 printed "c (1, 6)" over "(1, 6)" and "h (1, 6)" over "(1, 5)" at every
step, and `neato -n` put "(1, 12)" 1 pt from "h (1, 6)". Skipped without graphviz."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import pytest

from rnnviz.config.presets import preset
from rnnviz.config.spec import Spec
from rnnviz.io.export import export_bytes

CASES = {
    "bilstm-2": (preset("bilstm-2").spec, preset("bilstm-2").options),
    "lstm-28-128": (preset("lstm-28-128").spec, preset("lstm-28-128").options),
    "rnncell-4-2": (preset("rnncell-4-2").spec, preset("rnncell-4-2").options),
    "gru-3bi": (Spec("gru", 5, 6, 3, bidirectional=True, seq_len=5), None),
    "rnn-bi-batch": (Spec("rnn", 4, 3, 1, bidirectional=True, seq_len=3, batch_size=16), None),
}
ENGINES = {"dot": ["dot"], "neato-n": ["neato", "-n"]}

Box = tuple[float, float, float, float]


def _layout(tmp_path, key: str, engine: list[str]) -> dict[str, Any]:
    if shutil.which(engine[0]) is None:
        pytest.skip(f"graphviz's {engine[0]} is not installed")
    spec, options = CASES[key]
    path = tmp_path / f"{key}.dot"
    path.write_bytes(export_bytes(spec, "dot", options=options))
    proc = subprocess.run([*engine, "-Tjson", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0 and not proc.stderr, proc.stderr
    return json.loads(proc.stdout)


def _text_boxes(obj: dict[str, Any]) -> list[tuple[str, Box]]:
    """Every text line graphviz draws for `obj` (label, xlabel, head/tail label), boxed.

    graphviz gives each line's baseline point, alignment and width; the height is the font
    size from 0.25 of it below the baseline to 0.85 above (DejaVu Sans' descent and ascent,
    rounded out), so the lines of one label, 1.125 sizes apart, do not meet each other."""
    out = []
    for key, ops in obj.items():
        if not key.endswith("draw_") or key in ("_draw_", "_hdraw_", "_tdraw_"):
            continue
        size = 14.0
        for op in ops:
            if op["op"] == "F":
                size = float(op["size"])
            elif op["op"] == "T":
                (x, y), w = op["pt"], float(op["width"])
                left = {"l": x, "c": x - w / 2, "r": x - w}[op["align"]]
                out.append((op["text"], (left, y - 0.25 * size, left + w, y + 0.85 * size)))
    return out


#: Clearance kept between two labels' boxes, in points: closer, one line of 8 pt text under
#: another reads as one label ("h (1, 6)" under "(1, 12)").
CLEAR = 2.0


def _meet(a: Box, b: Box) -> bool:
    return min(a[2], b[2]) + CLEAR > max(a[0], b[0]) and min(a[3], b[3]) + CLEAR > max(a[1], b[1])


@pytest.mark.parametrize("engine", list(ENGINES))
@pytest.mark.parametrize("key", list(CASES))
def test_no_label_is_drawn_over_another(tmp_path, key, engine):
    layout = _layout(tmp_path, key, ENGINES[engine])
    owners: list[tuple[str, list[tuple[str, Box]]]] = [("graph", _text_boxes(layout))]
    for obj in layout.get("objects", []):
        if "pos" in obj:  # a node (subgraphs have no position)
            owners.append((f"node {obj['name']}", _text_boxes(obj)))
    names = {o["_gvid"]: o["name"] for o in layout.get("objects", []) if "pos" in o}
    for e in layout.get("edges", []):
        owners.append((f"edge {names[e['tail']]} -> {names[e['head']]}", _text_boxes(e)))
    lines = [(owner, text, box) for owner, boxes in owners for text, box in boxes]
    assert sum(1 for _, text, _ in lines if text.startswith(("(", "h (", "c ("))) > 0
    clashes = [
        (oa, ta, ob, tb)
        for i, (oa, ta, a) in enumerate(lines)
        for ob, tb, b in lines[i + 1 :]
        if oa != ob and _meet(a, b)
    ]
    assert not clashes, clashes[:5]


@pytest.mark.parametrize("engine", list(ENGINES))
@pytest.mark.parametrize("key", list(CASES))
def test_every_arrowhead_is_at_the_node_the_data_flows_into(tmp_path, key, engine):
    # Ports on a `dir=back` flat edge can make dot draw its arrowhead at the wrong end;
    # the tip is the middle point of graphviz's three-point arrowhead polygon.
    layout = _layout(tmp_path, key, ENGINES[engine])
    nodes = {o["_gvid"]: o for o in layout.get("objects", []) if "pos" in o}

    def gap(node: dict[str, Any], x: float, y: float) -> float:  # points outside the box
        cx, cy = map(float, node["pos"].split(","))
        hw, hh = float(node["width"]) * 36, float(node["height"]) * 36
        return max(abs(x - cx) - hw, 0.0) + max(abs(y - cy) - hh, 0.0)

    wrong = []
    drawn = [e for e in layout.get("edges", []) if e.get("style") != "invis"]
    for e in drawn:
        into, other = nodes[e["head"]], nodes[e["tail"]]
        if e.get("dir") == "back":
            into, other = other, into
        tips = [
            op["points"][1]
            for key_ in ("_hdraw_", "_tdraw_")
            for op in e.get(key_, [])
            if op["op"] in ("P", "p") and len(op["points"]) == 3
        ]
        ok = len(tips) == 1 and gap(into, *tips[0]) <= 1.5 < gap(other, *tips[0])
        if not ok:
            wrong.append((other["name"], into["name"], tips))
    assert drawn and not wrong, wrong[:5]
