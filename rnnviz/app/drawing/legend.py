"""The title and legend of a drawn export of the unrolled graph (the window draws neither).

Kept apart from the scene so that module stays about nodes, edges and the cursor."""

from __future__ import annotations

from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsRectItem, QGraphicsSimpleTextItem

from rnnviz.app.drawing.scene import (
    EDGE_PT,
    HIGHLIGHT,
    NODE_COLOURS,
    TITLE_PT,
    GraphScene,
)
from rnnviz.app.drawing.scene_parts import NODE_PT, font, pen
from rnnviz.text.notes import epoch_note, with_note


def draw_title(scene: GraphScene) -> None:
    """The title line above the diagram: the module, its input and what the graph shows."""
    spec = scene.spec
    if scene.graph.graph.get("api") == "cell":
        text = (
            f"{scene.graph.graph['title']} called {_times(spec.seq_len)} — x "
            f"{tuple(spec.input_shape())}, batch {spec.batch_size}"
            + (", stepped as x[:, t]" if spec.batch_first else "")
        )
    else:
        text = (
            f"{spec.title()} unrolled over {spec.seq_len} step{'' if spec.seq_len == 1 else 's'} — input "
            f"{tuple(spec.input_shape())}, batch {spec.batch_size}"
            + (", batch_first" if spec.batch_first else "")
        )
    g = scene.graph.graph
    note = scene.note
    if g.get("text"):
        text += f" — {g.get('encoder', '')} → " + (
            "RNN" if g.get("head", "").startswith("none") else f"RNN → {g.get('head', '')}"
        )
        # The epoch in the trace's own words; a scene built without its snapshot's note
        # still has the frame's epoch to name.
        note = note or epoch_note(g.get("epoch", 0))
    text = with_note(text, note)
    item = QGraphicsSimpleTextItem(text)
    item.setFont(font(TITLE_PT, bold=True))
    item.setBrush(QColor("#0f172a"))
    body = scene.itemsBoundingRect()
    item.setPos(body.left(), body.top() - item.boundingRect().height() - 12)
    scene.addItem(item)


def draw_legend(scene: GraphScene) -> None:
    """The legend under the diagram: a swatch per node kind drawn, and what edge labels say."""
    body = scene.itemsBoundingRect()
    x, y = body.left(), body.bottom() + 18
    entries: list[tuple[str, str, str]] = [
        ("fwd", "forward cell (time runs →)", "box"),
    ]
    if scene.spec.num_directions == 2:
        entries.append(("bwd", "backward cell (time runs ←)", "box"))
    # Only what this diagram has: an RNN or GRU has no c, and a Cell loop returns h_t from
    # each call and starts from hx (no h_n box, no slice).
    lstm = scene.spec.cell == "lstm"
    if scene.graph.graph.get("api") == "cell":
        state = "hx, cx in (the first call's state)" if lstm else "hx in (the first call's state)"
        entries += [("input", "input x_t", "box"), ("output", "h_t: what each call returns", "box")]
    else:
        state = "h0/c0 in, h_n/c_n out [slice]" if lstm else "h0 in, h_n out [slice]"
        entries += [("input", "input x_t", "box"), ("output", "output y_t", "box")]
    entries.append(("state", state, "box"))
    if scene.spec.num_directions == 2:
        entries.append(("concat", "cat: both directions joined, (batch, 2·H)", "box"))
    if scene.graph.graph.get("text"):
        entries += [
            ("token", "token", "box"),
            ("encode", "Embedding / one-hot", "box"),
        ]
        if any(k == "head" for _, k in scene.graph.nodes(data="kind")):
            entries.append(("head", "Linear head", "box"))
        entries.append(("pred", "predicted token", "box"))
    if scene._fold_col is not None:
        entries.append(("fold", "folded steps", "box"))
    if scene.highlight:
        entries.append(("highlight", "current timestep", "band"))
    for key, text, _ in entries:
        if key == "highlight":
            fill, border = HIGHLIGHT, HIGHLIGHT
        else:
            fill, border = NODE_COLOURS[key]
        swatch = QGraphicsRectItem(QRectF(0, 0, 22, 14))
        swatch.setBrush(QColor(fill))
        swatch.setPen(pen(border, 1.2, dash=key == "fold"))
        swatch.setPos(x, y)
        scene.addItem(swatch)
        label = QGraphicsSimpleTextItem(text)
        label.setFont(font(NODE_PT))
        label.setBrush(QColor("#0f172a"))
        label.setPos(x + 28, y - 1)
        scene.addItem(label)
        x += 28 + label.boundingRect().width() + 22
    note = QGraphicsSimpleTextItem(
        "edge labels: tensor shape (batch, features) carried by the arrow"
        + ("; state arrows carry h (above) and c (below)" if lstm else "")
    )
    note.setFont(font(EDGE_PT))
    note.setBrush(QColor("#475569"))
    note.setPos(body.left(), y + 22)
    scene.addItem(note)


def _times(n: int) -> str:
    """ "once", "twice", or "n times" (a one-step Cell read "called 1 times")."""
    return {1: "once", 2: "twice"}.get(n, f"{n} times")
