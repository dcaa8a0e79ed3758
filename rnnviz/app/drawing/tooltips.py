"""Tooltips of the unrolled graph's nodes: what a node computes and the shapes it reads.

Kept apart from the scene so the drawing code stays about placing and painting."""

from __future__ import annotations

from typing import Any

import networkx as nx

from rnnviz.config.spec import Spec


def node_tooltip(graph: nx.DiGraph, spec: Spec, node: str, attrs: dict[str, Any]) -> str:
    """The tooltip of graph node `node` (attributes `attrs`) drawn for `spec`: what it
    computes and the shapes it reads."""
    kind = attrs["kind"]
    if kind == "cell" and graph.graph.get("api") == "cell":
        name = graph.graph.get("cell_name")
        return (
            f"{name} call t = {attrs['t']}: h_t = cell(x_t, h_(t−1))\n"
            f"x_t ({spec.batch_size}, {spec.input_size}), h ({spec.batch_size}, "
            f"{spec.hidden_size})\nclick to select"
        )
    if kind == "cell":
        ins = spec.layer_input_size(attrs["layer"])
        return (
            f"{spec.cell.upper()} cell — layer {attrs['layer']}, {attrs['direction']}, "
            f"t = {attrs['t']}\nreads x ({spec.batch_size}, {ins}) and h_(t"
            f"{'−' if attrs['direction'] == 'fwd' else '+'}1)\nclick to select"
        )
    if kind in ("h0", "h_n"):
        return (
            f"{attrs['label']}: slice [{attrs['index']}] of {kind} "
            f"= layer {attrs['layer']}, {attrs['direction']} "
            f"(index = layer × {spec.num_directions} + direction)"
        )
    if kind == "fold":
        return f"{attrs['folded']} timesteps folded to keep the drawing small"
    if kind == "token":
        return f"token fed at t = {attrs['t']}: {attrs['label']} (its vocabulary index)"
    if kind == "encode":
        return f"{attrs['label']}: token index → the vector x_{attrs['t']} the RNN reads"
    if kind == "head":
        return f"{attrs['label']} on y_{attrs['t']}: hidden state → one score per class"
    if kind == "pred":
        target = attrs.get("target", "")
        return f"argmax of the scores at t = {attrs['t']}: {attrs['label'][2:]}" + (
            f" (target '{target}')" if target else ""
        )
    if kind == "concat":
        h = spec.out_hidden
        return (
            f"torch.cat([h_fwd, h_bwd], dim=-1) of layer {attrs['layer']} at t = "
            f"{attrs['t']}: ({spec.batch_size}, {h}) + ({spec.batch_size}, {h}) → "
            f"({spec.batch_size}, {2 * h}), what "
            + (
                "output[t] holds"
                if attrs["layer"] == spec.num_layers - 1
                else f"layer {attrs['layer'] + 1} reads"
            )
        )
    return str(attrs.get("label", node))
