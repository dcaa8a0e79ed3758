"""The unrolled computation graph of a Spec, as a networkx DiGraph with a fixed layout.

One node per input x_t, per cell (layer, direction, t), per output y_t, and per initial and
final state (h0/c0 and h_n/c_n of every layer and direction). Edges carry `flow` (x, h, h+c, y)
and `shape`, the tensor shape as text. Every node has layout coordinates `x`, `y` in grid
units (time along x, layers upward), so every drawing and export places nodes identically.

Long sequences can be folded: the first and last `fold` steps are kept and a marker node per
row says how many steps stand in between. Data exports are unfolded unless asked.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

import networkx as nx

from rnnviz.config.api import CELL, MODULE, class_name, title
from rnnviz.config.spec import Spec

if TYPE_CHECKING:
    from rnnviz.analysis.text_graph import TextFrame

#: Drawn formats fold sequences longer than this by default.
DRAW_FOLD_ABOVE = 64
#: Steps kept at each end when folding by default.
DEFAULT_FOLD = 4


def cell_id(layer: int, direction: str, t: int) -> str:
    """Node id of the cell at (layer, direction, t)."""
    return f"cell_l{layer}_{direction}_t{t}"


def _fmt(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


#: Steps drawn on each side of the selected t when it falls inside a fold.
FOCUS_HALF = 2
#: Grid units from a bidirectional layer's backward row to its concat row, and from there
#: to the next row: the concat row is thinner than a cell row.
CAT_GAP = 0.7


def concat_id(layer: int, t: int) -> str:
    """Node id of the concat of layer `layer`'s two directions at t (bidirectional only)."""
    return f"cat_l{layer}_t{t}"


def kept_steps(seq_len: int, fold: int | None, focus: int | None = None) -> list[int | None]:
    """The timesteps drawn, left to right; None marks a folded gap.

    `fold=k` keeps k steps at each end; `focus=t` also keeps t and FOCUS_HALF steps on each
    side of it, so the selected step is always drawn (the fold then splits around it). A gap
    of a single step is drawn rather than folded.
    """
    if fold is None or fold < 1 or seq_len <= 2 * fold + 1:
        return list(range(seq_len))
    keep = set(range(fold)) | set(range(seq_len - fold, seq_len))
    if focus is not None and 0 <= focus < seq_len:
        keep |= set(range(max(0, focus - FOCUS_HALF), min(seq_len, focus + FOCUS_HALF + 1)))
    out: list[int | None] = []
    prev = -1
    for t in sorted(keep):
        if t - prev == 2:  # one hidden step: draw it rather than a marker for it
            out.append(t - 1)
        elif t - prev > 2:
            out.append(None)
        out.append(t)
        prev = t
    return out


def _gaps(steps: list[int | None], seq_len: int) -> list[tuple[int, int]]:
    """(column, number of steps folded) of each None in `steps`."""
    out = []
    for i, t in enumerate(steps):
        if t is None:
            before = steps[i - 1] if i > 0 else -1
            after = steps[i + 1] if i + 1 < len(steps) else seq_len
            assert before is not None and after is not None
            out.append((i, after - before - 1))
    return out


def _fold_suffix(k: int) -> str:
    # The first gap keeps the plain ids (fold_x, fold_l0_fwd); later ones are numbered.
    return "" if k == 0 else f"_{k + 1}"


#: `build_graph`'s graphs → what their layout depends on (`layout_key`). Kept beside the
#: graphs, not in their attributes, which every export writes out.
_LAYOUT_KEYS: weakref.WeakKeyDictionary[nx.DiGraph, tuple[str, str, tuple[bool, ...]]] = (
    weakref.WeakKeyDictionary()
)


def layout_key(g: nx.DiGraph) -> tuple[str, str, tuple[bool, ...]] | None:
    """Everything the drawing of a `build_graph` graph depends on but its node texts and ids
    (where its nodes sit, its edges and their shapes): the spec, the api and which columns
    are folds. Two graphs with equal keys differ in texts and ids only, so a view can
    relabel its scene without comparing them node by node. None for a graph `build_graph`
    did not make as it is (a copy, a text model's graph, an edited one)."""
    return _LAYOUT_KEYS.get(g)


def build_graph(
    spec: Spec,
    fold: int | None = None,
    focus: int | None = None,
    text: TextFrame | None = None,
    api: str = MODULE,
) -> nx.DiGraph:
    """The unrolled graph of `spec`; `fold=k` keeps k steps at each end of long sequences,
    and `focus=t` keeps step t (and its neighbours) drawn when it would be folded. `text`
    (a text model's forward pass) adds the stages around the RNN: a token and an Embedding
    (or one-hot) node under every x_t, a Linear head and the predicted token over every y_t
    (rnnviz.analysis.text_graph.add_text_stages).

    For `api` "cell" it is the loop of Cell calls: x_t into call t, hx into the first call,
    each call's h_t out; there is no h_n node (a Cell returns none) and labels use the
    Cell's names (graph attribute `cell_name`, e.g. "RNNCell"; `title` "RNNCell(4, 2)").

    Node attributes: kind (input, cell, concat, output, h0, h_n, fold), label, x, y, and
    where they apply layer, direction ("fwd"/"bwd"), t, index (h_n slice), folded (count).
    A bidirectional layer's two directions meet in a concat node per step (torch.cat of
    h_fwd and h_bwd, shape (batch, 2·H_out)), which the next layer, or `output`, reads.
    Edge attributes: flow (x, h, h+c, cat, y) and shape.
    """
    cell_api = api == CELL
    g = nx.DiGraph(
        title=title(spec, api),
        spec=spec.to_json(),
        seq_len=spec.seq_len,
        folded=0,
        api=api,
        cell_name=class_name(spec, api),
    )
    b, hout, hs = spec.batch_size, spec.out_hidden, spec.hidden_size
    lstm = spec.cell == "lstm"
    bi = spec.num_directions == 2
    steps = kept_steps(spec.seq_len, fold, focus)
    n_cols = len(steps)
    col_of = {t: i for i, t in enumerate(steps) if t is not None}
    gaps = _gaps(steps, spec.seq_len)
    g.graph["folded"] = sum(n for _, n in gaps)
    if text is None:  # text stages add nodes of their own: no key
        _LAYOUT_KEYS[g] = (g.graph["spec"], api, tuple(t is None for t in steps))
    state_shape = f"h {_fmt((b, hout))} + c {_fmt((b, hs))}" if lstm else _fmt((b, hout))
    state_flow = "h+c" if lstm else "h"
    cat_shape = _fmt((b, 2 * hout))

    def row_y(layer: int, d: int) -> float:
        if not bi:
            return float(1 + layer)
        return 1.0 + layer * (1.0 + 2 * CAT_GAP) + d

    def cat_y(layer: int) -> float:
        return row_y(layer, 1) + CAT_GAP

    y_input = 0.0
    y_output = (cat_y(spec.num_layers - 1) + CAT_GAP + 0.1) if bi else float(spec.num_layers + 1)
    g.graph["rows"] = spec.num_layers * spec.num_directions

    def fold_label(n: int) -> str:
        return f"… {n} steps …"

    for t in steps:
        if t is None:
            continue
        c = float(col_of[t])
        g.add_node(f"x{t}", kind="input", t=t, label=f"x{t}", x=c, y=y_input)
        g.add_node(
            f"y{t}", kind="output", t=t, label=f"h_t[{t}]" if cell_api else f"y{t}", x=c, y=y_output
        )
    for k, (col, n) in enumerate(gaps):
        for name, y in (("x", y_input), ("y", y_output)):
            g.add_node(
                f"fold_{name}{_fold_suffix(k)}",
                kind="fold",
                label=fold_label(n),
                folded=n,
                x=float(col),
                y=y,
            )

    for layer in range(spec.num_layers):
        in_shape = _fmt((b, spec.layer_input_size(layer)))
        for d, dname in enumerate(spec.directions):
            y = row_y(layer, d)
            idx = spec.state_index(layer, d)
            gap_k = 0
            for t in steps:
                if t is None:
                    col, n = gaps[gap_k]
                    g.add_node(
                        f"fold_l{layer}_{dname}{_fold_suffix(gap_k)}",
                        kind="fold",
                        layer=layer,
                        direction=dname,
                        label=fold_label(n),
                        folded=n,
                        x=float(col),
                        y=y,
                    )
                    gap_k += 1
                    continue
                g.add_node(
                    cell_id(layer, dname, t),
                    kind="cell",
                    layer=layer,
                    direction=dname,
                    t=t,
                    label=(
                        f"{class_name(spec, api)} call t{t}"
                        if cell_api
                        else f"{spec.cell.upper()} l{layer} {dname} t{t}"
                    ),
                    x=float(col_of[t]),
                    y=y,
                )
            # Layer input: x_t for layer 0; above, the layer below's output at t (its concat
            # when bidirectional, its only direction otherwise).
            for t in steps:
                if t is None:
                    continue
                dst = cell_id(layer, dname, t)
                if layer == 0:
                    g.add_edge(f"x{t}", dst, flow="x", shape=in_shape)
                elif bi:
                    g.add_edge(concat_id(layer - 1, t), dst, flow="cat", shape=cat_shape)
                else:
                    g.add_edge(cell_id(layer - 1, dname, t), dst, flow="h", shape=_fmt((b, hout)))
            # Recurrence, drawn in the direction time runs for this direction.
            order = steps if d == 0 else list(reversed(steps))
            gap_ids = iter(range(len(gaps)) if d == 0 else reversed(range(len(gaps))))
            nodes = [
                cell_id(layer, dname, t)
                if t is not None
                else f"fold_l{layer}_{dname}{_fold_suffix(next(gap_ids))}"
                for t in order
            ]
            for a, z in zip(nodes, nodes[1:]):
                g.add_edge(a, z, flow=state_flow, shape=state_shape)
            # Initial state enters where the direction starts, final state leaves where it ends.
            first_x, last_x = (-1.0, float(n_cols)) if d == 0 else (float(n_cols), -1.0)
            g.add_node(
                f"h0_l{layer}_{dname}",
                kind="h0",
                layer=layer,
                direction=dname,
                index=idx,
                label=("hx" + (" cx" if lstm else ""))
                if cell_api
                else f"h0[{idx}]" + (f" c0[{idx}]" if lstm else ""),
                x=first_x,
                y=y,
            )
            g.add_edge(f"h0_l{layer}_{dname}", nodes[0], flow=state_flow, shape=state_shape)
            if not cell_api:  # a Cell returns no h_n: its last h_t is the final state
                g.add_node(
                    f"hn_l{layer}_{dname}",
                    kind="h_n",
                    layer=layer,
                    direction=dname,
                    index=idx,
                    label=f"h_n[{idx}]" + (f" c_n[{idx}]" if lstm else ""),
                    x=last_x,
                    y=y,
                )
                g.add_edge(nodes[-1], f"hn_l{layer}_{dname}", flow=state_flow, shape=state_shape)
        if bi:
            for t in steps:
                if t is None:
                    continue
                cat = concat_id(layer, t)
                g.add_node(
                    cat,
                    kind="concat",
                    layer=layer,
                    t=t,
                    label="cat",
                    x=float(col_of[t]),
                    y=cat_y(layer),
                )
                for dname in spec.directions:
                    g.add_edge(cell_id(layer, dname, t), cat, flow="h", shape=_fmt((b, hout)))
        if layer == spec.num_layers - 1:
            for t in steps:
                if t is None:
                    continue
                if bi:
                    g.add_edge(concat_id(layer, t), f"y{t}", flow="y", shape=cat_shape)
                else:
                    g.add_edge(cell_id(layer, "fwd", t), f"y{t}", flow="y", shape=_fmt((b, hout)))
    for k in range(len(gaps)):
        sfx = _fold_suffix(k)
        g.add_edge(
            f"fold_x{sfx}",
            f"fold_l0_{spec.directions[0]}{sfx}",
            flow="x",
            shape=_fmt((b, spec.input_size)),
        )
    if text is not None:
        from rnnviz.analysis.text_graph import add_text_stages

        add_text_stages(g, text, steps)
    return g
