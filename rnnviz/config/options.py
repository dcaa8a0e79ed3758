"""How a Spec is run: seeds, input, initial state, weight scale, module or cell.

Kept apart from rnnviz.engine.tracing (and free of torch) so the window can hold and edit run
options before torch has been imported.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from rnnviz.config.spec import Spec, SpecError, check_keys

INPUT_KINDS = ("randn", "zeros", "ones")
INIT_KINDS = ("zeros", "randn")
STEPPERS = ("module", "cell")


@dataclass(frozen=True)
class RunOptions:
    """How a Spec is run: weight seed, input and initial state, and optional extras.

    - `input_kind`: randn (seeded normal), zeros or ones;
    - `init`: zeros (torch's default h0/c0) or randn (seeded, as the tutorials do);
    - `weight_scale`: multiplies every weight after init (> 1 shows exploding activations);
    - `stepper`: "module" runs nn.RNN/LSTM/GRU, "cell" steps nn.RNNCell/LSTMCell/GRUCell
      (one layer, one direction only).
    """

    seed: int = 0
    input_kind: str = "randn"
    init: str = "zeros"
    weight_scale: float = 1.0
    stepper: str = "module"

    def __post_init__(self) -> None:
        if (
            isinstance(self.seed, bool)
            or not isinstance(self.seed, int)
            or not 0 <= self.seed < 2**63
        ):
            raise SpecError(
                "seed", f"must be a whole number from 0 to 2**63 - 1, got {self.seed!r}"
            )
        if self.input_kind not in INPUT_KINDS:
            raise SpecError(
                "input_kind", f"must be one of {', '.join(INPUT_KINDS)}, got {self.input_kind!r}"
            )
        if self.init not in INIT_KINDS:
            raise SpecError("init", f"must be one of {', '.join(INIT_KINDS)}, got {self.init!r}")
        ws = self.weight_scale
        # The range test comes before isfinite: math.isfinite of a huge int overflows.
        if (
            isinstance(ws, bool)
            or not isinstance(ws, (int, float))
            or not 0 < ws <= 1e6
            or not math.isfinite(ws)
        ):
            raise SpecError("weight_scale", f"must be a number in (0, 1e6], got {ws!r}")
        object.__setattr__(self, "weight_scale", float(ws))
        if self.stepper not in STEPPERS:
            raise SpecError(
                "stepper", f"must be one of {', '.join(STEPPERS)}, got {self.stepper!r}"
            )

    def check(self, spec: Spec) -> None:
        """Raise SpecError if these options cannot run `spec` (a cell has one layer, one way)."""
        if self.stepper == "cell":
            if spec.num_layers != 1:
                raise SpecError("num_layers", "a *Cell is one layer: must be 1 with stepper cell")
            if spec.bidirectional:
                raise SpecError("bidirectional", "a *Cell runs forward only with stepper cell")
            if spec.proj_size:
                raise SpecError(
                    "proj_size", "LSTMCell has no projection: must be 0 with stepper cell"
                )

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of the fields, for session files."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> RunOptions:
        """Inverse of to_dict; unknown keys raise SpecError."""
        return cls(**check_keys(cls, data, "options", "run option"))
