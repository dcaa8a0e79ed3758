"""The graph around the RNN as plain data: nodes and edges labelled with real tensor shapes.

A graph builder (the window's) draws these; nothing here knows about Qt or layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from rnnviz.text.model import Forward, TextModel


@dataclass(frozen=True)
class GraphNode:
    """A node of the graph around the RNN: `id`, `kind` (data/op/module/loss), label."""

    id: str
    kind: str
    label: str


@dataclass(frozen=True)
class GraphEdge:
    """An edge `src` → `dst` carrying a tensor of `shape` (e.g. "(1, 5, 10)")."""

    src: str
    dst: str
    shape: str


def _shape(t: Any) -> str:
    return "(" + ", ".join(str(int(d)) for d in t.shape) + ")"


def graph_around(
    model: TextModel,
    indices: torch.Tensor,
    lengths: torch.Tensor,
    targets: torch.Tensor | None,
    fwd: Forward,
    loss: Any,
) -> tuple[tuple[GraphNode, ...], tuple[GraphEdge, ...]]:
    """Nodes and edges around the RNN for one forward pass `fwd` of `model` on (B, T)
    `indices`; returns (nodes, edges), each edge's shape string taken from the real tensor
    (packed edges give the PackedSequence's data shape). `loss` None leaves out the loss."""
    s = model.settings
    nodes = [GraphNode("indices", "data", "token indices")]
    edges: list[GraphEdge] = []
    if model.embedding is not None:
        nodes.append(
            GraphNode("embedding", "module", f"Embedding({model.vocab_size}, {s.embedding_dim})")
        )
    else:
        nodes.append(GraphNode("embedding", "op", f"one_hot({model.vocab_size})"))
    edges.append(GraphEdge("indices", "embedding", _shape(indices)))
    rnn_label = (
        f"{type(model.cell).__name__}({model.input_size}, {s.hidden_size}) × T"
        if model.cell is not None
        else repr(model.rnn).replace("\n", "")
    )
    prev = "embedding"
    if fwd.batch_sizes is not None and model.rnn is not None:
        nodes.append(GraphNode("pack", "op", "pack_padded_sequence"))
        edges.append(GraphEdge("embedding", "pack", _shape(fwd.encoded)))
        prev = "pack"
    nodes.append(GraphNode("rnn", "module", rnn_label))
    edges.append(
        GraphEdge(
            prev,
            "rnn",
            f"PackedSequence data ({int(lengths.sum())}, {model.input_size})"
            if prev == "pack"
            else _shape(fwd.encoded),
        )
    )
    prev, shape = "rnn", _shape(fwd.rnn_output)
    if fwd.batch_sizes is not None and model.rnn is not None:
        nodes.append(GraphNode("unpack", "op", "pad_packed_sequence"))
        edges.append(
            GraphEdge(
                "rnn",
                "unpack",
                f"PackedSequence data ({int(lengths.sum())}, {s.hidden_size})",
            )
        )
        prev = "unpack"
    if model.cell is not None:
        # A Cell returns h of (B, H); the (1, B, H) h_n is only rnnviz's stacking of it.
        nodes.append(GraphNode("h_n", "data", "last h"))
        edges.append(GraphEdge("rnn", "h_n", _shape(fwd.h_n[0])))
    else:
        nodes.append(GraphNode("h_n", "data", "h_n"))
        edges.append(GraphEdge("rnn", "h_n", _shape(fwd.h_n)))
    if model.head is not None:
        nodes.append(GraphNode("head", "module", f"Linear({s.hidden_size}, {model.num_classes})"))
        if s.head == "last":
            edges.append(GraphEdge("h_n", "head", f"({int(fwd.h_n.shape[1])}, {s.hidden_size})"))
        else:
            edges.append(GraphEdge(prev, "head", shape))
        prev, shape = "head", _shape(fwd.logits)
    if s.loss == "nll":
        nodes.append(GraphNode("log_softmax", "op", "log_softmax(dim=-1)"))
        edges.append(GraphEdge(prev, "log_softmax", shape))
        prev = "log_softmax"
    if loss is not None:
        nodes.append(
            GraphNode(
                "loss",
                "loss",
                "NLLLoss"
                if s.loss == "nll"
                else "CrossEntropyLoss"
                + (" per step, summed" if s.reduction == "sum_steps" else ""),
            )
        )
        edges.append(GraphEdge(prev, "loss", shape))
        nodes.append(GraphNode("targets", "data", "targets"))
        assert targets is not None
        edges.append(GraphEdge("targets", "loss", _shape(targets)))
    return tuple(nodes), tuple(edges)
