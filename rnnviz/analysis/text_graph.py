"""The stages around the unrolled RNN of a text model: tokens → Embedding → x_t, y_t → Linear.

`build_graph(spec, text=frame)` adds these nodes to the unrolled graph when the views show a
text model's epoch. A `TextFrame` is plain data (strings only), made from a real forward pass
of the pipeline (rnnviz.document.training builds it from the PipelineRun), so every label is
that pass's token, shape or prediction; nothing here runs torch.

Rows, counted upward like the rest of the graph: tokens at y = -2, the encoder (Embedding or
one-hot) at y = -1, then the RNN's inputs x_t at 0 … outputs y_t on top, then the head
(Linear) and the predicted token above them.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

#: Grid rows of the stages below the inputs (y = 0) and above the outputs.
Y_TOKEN = -2.0
Y_ENCODE = -1.0


@dataclass(frozen=True)
class TextFrame:
    """One forward pass of a text model, as labels for the graph around the RNN.

    - `tokens[t]`: the token(s) fed at step t ("h"; several sequences joined with " | ").
    - `encoder`: "Embedding(4, 10)" or "one_hot(4)"; `index_shape` the indices at one step,
      "(B,)"; `encoded_shape` what the encoder hands x_t, "(B, I)".
    - `head`: "Linear(8, 4)", or "" when the RNN's h is the logits; `head_mode` "step"
      (a head on every y_t), "last" (on the last step only) or "none".
    - `head_in_shape` "(B, H)", `logits_shape` "(B, C)" of one step.
    - `predicted[t]` and `targets[t]`: argmax token and target token at step t ("" if none).
    - `epoch`: the training epoch whose weights made this pass (0: not from training).
    """

    tokens: tuple[str, ...]
    encoder: str
    index_shape: str
    encoded_shape: str
    head: str
    head_mode: str
    head_in_shape: str
    logits_shape: str
    predicted: tuple[str, ...]
    targets: tuple[str, ...] = ()
    epoch: int = 0

    def signature(self) -> tuple[object, ...]:
        """What a drawing of this frame shows (a view redraws when it changes)."""
        return (self.tokens, self.encoder, self.head, self.predicted, self.targets, self.epoch)


def _quote(token: str) -> str:
    return "'" + token + "'" if token else "''"


def add_text_stages(g: nx.DiGraph, frame: TextFrame, steps: list[int | None]) -> None:
    """Add token, encoder, head and prediction nodes to the unrolled graph `g` (in place).

    `steps` are the drawn timesteps from left to right (None = a folded gap, left empty in
    these rows). Node kinds: "token", "encode", "head", "pred"; edge flows "idx" (token
    index → encoder, shape (B,)), "x" (encoder → x_t, (B, I)), "y" (y_t → head, (B, H)) and
    "logits" (head → prediction, (B, C)). Graph attribute `text` = 1, `epoch` the frame's.
    """
    y_top = max(float(y) for _, y in g.nodes(data="y") if y is not None)
    # The outputs are the top row; head and prediction go above them.
    y_head, y_pred = y_top + 1.0, y_top + (2.0 if frame.head else 1.0)
    g.graph["text"] = 1
    g.graph["epoch"] = frame.epoch
    g.graph["encoder"] = frame.encoder
    g.graph["head"] = frame.head or "none (h is the logits)"
    kept = [t for t in steps if t is not None]
    last = max(kept) if kept else -1
    for col, t in enumerate(steps):
        if t is None or t >= len(frame.tokens):
            continue
        x = float(col)
        tok = frame.tokens[t]
        g.add_node(f"tok{t}", kind="token", t=t, label=_quote(tok), x=x, y=Y_TOKEN)
        g.add_node(f"enc{t}", kind="encode", t=t, label=frame.encoder, x=x, y=Y_ENCODE)
        g.add_edge(f"tok{t}", f"enc{t}", flow="idx", shape=frame.index_shape)
        g.add_edge(f"enc{t}", f"x{t}", flow="x", shape=frame.encoded_shape)
        if frame.head_mode == "last" and t != last:
            continue
        src = f"y{t}"
        if frame.head:
            g.add_node(f"head{t}", kind="head", t=t, label=frame.head, x=x, y=y_head)
            g.add_edge(src, f"head{t}", flow="y", shape=frame.head_in_shape)
            src = f"head{t}"
        pred = frame.predicted[t] if t < len(frame.predicted) else ""
        target = frame.targets[t] if t < len(frame.targets) else ""
        g.add_node(
            f"pred{t}",
            kind="pred",
            t=t,
            label=f"→ {_quote(pred)}",
            predicted=pred,
            target=target,
            x=x,
            y=y_pred,
        )
        g.add_edge(src, f"pred{t}", flow="logits", shape=frame.logits_shape)
