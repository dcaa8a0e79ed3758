"""The unrolled computation graph of a Spec, as a networkx DiGraph with a fixed layout.

One node per input x_t, per cell (layer, direction, t), per output y_t, and per initial and
final state (h0/c0 and h_n/c_n of every layer and direction). Edges carry `flow` (x, h, h+c, y)
and `shape`, the tensor shape as text. Every node has layout coordinates `x`, `y` in grid
units (time along x, layers upward), so every drawing and export places nodes identically.

Long sequences can be folded: the first and last `fold` steps are kept and a marker node per
row says how many steps stand in between. Data exports are unfolded unless asked.
"""

from __future__ import annotations

import networkx as nx

from rnnviz.config.api import CELL, MODULE, class_name, title
from rnnviz.config.spec import Spec

#: Drawn formats fold sequences longer than this by default.
DRAW_FOLD_ABOVE = 64
#: Steps kept at each end when folding by default.
DEFAULT_FOLD = 4


def cell_id(layer: int, direction: str, t: int) -> str:
    """Node id of the cell at (layer, direction, t)."""
    return f"cell_l{layer}_{direction}_t{t}"


def _fmt(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


def kept_steps(seq_len: int, fold: int | None) -> list[int | None]:
    """The timesteps drawn, left to right; None marks the folded gap."""
    if fold is None or fold < 1 or seq_len <= 2 * fold + 1:
        return list(range(seq_len))
    return [*range(fold), None, *range(seq_len - fold, seq_len)]


def build_graph(spec: Spec, fold: int | None = None, api: str = MODULE) -> nx.DiGraph:
    """The unrolled graph of `spec`; `fold=k` keeps k steps at each end of long sequences.

    For `api` "cell" it is the loop of Cell calls: x_t into call t, hx into the first call,
    each call's h_t out; there is no h_n node (a Cell returns none) and labels use the
    Cell's names (graph attribute `cell_name`, e.g. "RNNCell"; `title` "RNNCell(4, 2)").

    Node attributes: kind (input, cell, output, h0, c0, h_n, c_n, fold), label, x, y, and
    where they apply layer, direction ("fwd"/"bwd"), t, index (h_n slice), folded (count).
    Edge attributes: flow and shape.
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
    steps = kept_steps(spec.seq_len, fold)
    n_cols = len(steps)
    col_of = {t: i for i, t in enumerate(steps) if t is not None}
    gap_col = steps.index(None) if None in steps else None
    if gap_col is not None:
        g.graph["folded"] = spec.seq_len - 2 * (fold or 0)
    rows = spec.num_layers * spec.num_directions
    y_input, y_output = 0.0, float(rows + 1)
    state_shape = f"h {_fmt((b, hout))} + c {_fmt((b, hs))}" if lstm else _fmt((b, hout))
    state_flow = "h+c" if lstm else "h"

    def row_y(layer: int, d: int) -> float:
        return float(1 + layer * spec.num_directions + d)

    for t in steps:
        if t is None:
            continue
        c = float(col_of[t])
        g.add_node(f"x{t}", kind="input", t=t, label=f"x{t}", x=c, y=y_input)
        g.add_node(
            f"y{t}", kind="output", t=t, label=f"h_t[{t}]" if cell_api else f"y{t}", x=c, y=y_output
        )
    if gap_col is not None:
        for name, y in (("x", y_input), ("y", y_output)):
            g.add_node(
                f"fold_{name}",
                kind="fold",
                label=f"… {g.graph['folded']} steps …",
                folded=g.graph["folded"],
                x=float(gap_col),
                y=y,
            )

    for layer in range(spec.num_layers):
        in_shape = _fmt((b, spec.layer_input_size(layer)))
        for d, dname in enumerate(spec.directions):
            y = row_y(layer, d)
            idx = layer * spec.num_directions + d
            for t in steps:
                if t is None:
                    g.add_node(
                        f"fold_l{layer}_{dname}",
                        kind="fold",
                        layer=layer,
                        direction=dname,
                        label=f"… {g.graph['folded']} steps …",
                        folded=g.graph["folded"],
                        x=float(gap_col or 0),
                        y=y,
                    )
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
            # Layer input: x_t for layer 0, else both directions of the layer below at t.
            for t in steps:
                if t is None:
                    continue
                dst = cell_id(layer, dname, t)
                if layer == 0:
                    g.add_edge(f"x{t}", dst, flow="x", shape=in_shape)
                else:
                    for below in spec.directions:
                        g.add_edge(
                            cell_id(layer - 1, below, t), dst, flow="h", shape=_fmt((b, hout))
                        )
            # Recurrence, drawn in the direction time runs for this direction.
            order = steps if d == 0 else list(reversed(steps))
            nodes = [
                cell_id(layer, dname, t) if t is not None else f"fold_l{layer}_{dname}"
                for t in order
            ]
            for a, z in zip(nodes, nodes[1:]):
                g.add_edge(a, z, flow=state_flow, shape=state_shape)
            # Initial state enters where the direction starts, final state leaves where it ends.
            first_x, last_x = (-1.0, float(n_cols)) if d == 0 else (float(n_cols), -1.0)
            label_sfx = f"[{idx}]"
            g.add_node(
                f"h0_l{layer}_{dname}",
                kind="h0",
                layer=layer,
                direction=dname,
                index=idx,
                label=("hx" + (" cx" if lstm else ""))
                if cell_api
                else f"h0{label_sfx}" + (" c0" if lstm else ""),
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
                    label=f"h_n{label_sfx}" + (" c_n" if lstm else ""),
                    x=last_x,
                    y=y,
                )
                g.add_edge(nodes[-1], f"hn_l{layer}_{dname}", flow=state_flow, shape=state_shape)
            if layer == spec.num_layers - 1:
                for t in steps:
                    if t is not None:
                        g.add_edge(
                            cell_id(layer, dname, t), f"y{t}", flow="y", shape=_fmt((b, hout))
                        )
    if gap_col is not None:
        g.add_edge(
            "fold_x", f"fold_l0_{spec.directions[0]}", flow="x", shape=_fmt((b, spec.input_size))
        )
    return g


def cell_nodes(g: nx.DiGraph) -> list[str]:
    """Ids of the cell nodes of `g`, in insertion (layer, direction, time) order."""
    return [n for n, k in g.nodes(data="kind") if k == "cell"]
