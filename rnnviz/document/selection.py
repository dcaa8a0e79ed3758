"""What the user is looking at, and the one mapping from (layer, direction) to torch's index."""

from __future__ import annotations

from dataclasses import dataclass

from rnnviz.config.spec import Spec


@dataclass(frozen=True)
class Selection:
    """What the user is looking at: a cell (layer, direction, t), a hidden unit and a batch row."""

    layer: int = 0
    direction: str = "fwd"
    t: int = 0
    unit: int = 0
    batch: int = 0


def clamp_selection(sel: Selection, spec: Spec) -> Selection:
    """`sel` moved into `spec`'s ranges (a direction the spec lacks becomes "fwd")."""

    def clamp(v: int, hi: int) -> int:
        return max(0, min(int(v), hi))

    direction = sel.direction if sel.direction in spec.directions else "fwd"
    units = spec.out_hidden if spec.cell != "lstm" else spec.hidden_size
    return Selection(
        layer=clamp(sel.layer, spec.num_layers - 1),
        direction=direction,
        t=clamp(sel.t, spec.seq_len - 1),
        unit=clamp(sel.unit, units - 1),
        batch=clamp(sel.batch, spec.batch_size - 1),
    )
