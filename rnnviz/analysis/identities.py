"""The output ↔ h_n identities and the h_n slice labels, checked on a trace's numbers.

`rnnviz.analysis.shapes` states them from arithmetic ("h_n[2] is layer 1, forward"; "the last layer's
forward h_n equals output[-1, :, :H]"); here they are checked on what torch returned, so the
Shapes view can say "holds, max |Δ| = 0" rather than merely assert it. numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnviz.engine.record import Trace
from rnnviz.engine.verdict import exact_diff, identity_diffs


@dataclass(frozen=True)
class IdentityCheck:
    """One equality between two slices of torch's results, and how far apart they are."""

    lhs: str
    rhs: str
    note: str
    max_abs_diff: float
    #: False where one side is rnnviz's recomputation (LSTM c_t: torch's kernel returns only
    #: c_n), which agrees with torch to round-off rather than bit for bit.
    exact: bool = True
    scale: float = 0.0  # largest finite |value| compared, for the round-off tolerance
    #: For slice checks: which state ("h"/"c"), its h_n/c_n row, and the final step compared
    #: (views read these instead of parsing lhs/rhs).
    state: str = "h"
    index: int | None = None
    step: int | None = None

    @property
    def holds(self) -> bool:
        """True when the two sides are equal (NaN matching NaN, Inf matching Inf) — or, for a
        recomputed side, agree within float32 round-off (1e-5 relative, as the trace)."""
        if self.exact:
            return self.max_abs_diff == 0.0
        return self.max_abs_diff <= 1e-5 * (1.0 + self.scale)

    @property
    def text(self) -> str:
        """E.g. 'h_n[2] == output[-1, :, :6]'."""
        return f"{self.lhs} == {self.rhs}"


def _diff(a: np.ndarray, b: np.ndarray) -> float:
    """max |a − b| with equal non-finite values counting as equal (exact equality wanted)."""
    return exact_diff(a, b)


def output_identities(trace: Trace) -> list[IdentityCheck]:
    """The last layer's h_n slices against the output's first/last step — the same checks
    the trace's verdict counts (`rnnviz.engine.verdict.identity_diffs`). A Cell has none."""
    return [
        IdentityCheck(c.lhs, c.rhs, c.note, c.max_abs_diff)
        for c in identity_diffs(trace.spec, trace.tensors, trace.api)
    ]


def slice_checks(trace: Trace) -> list[IdentityCheck]:
    """Every h_n[k] (and c_n[k]) against the final step of the (layer, direction) its label
    names — the recorded h (c) at t = T−1 forward, at t = 0 backward. A Cell returns no
    h_n, so it has none."""
    spec, t = trace.spec, trace.tensors
    out: list[IdentityCheck] = []
    if trace.api == "cell":
        return out
    for layer in range(spec.num_layers):
        for d, name in enumerate(spec.directions):
            k = spec.state_index(layer, d)
            step = 0 if d else spec.seq_len - 1
            for state in ("h", "c") if spec.cell == "lstm" else ("h",):
                if (layer, name, state) not in trace.gates:
                    continue  # a lane not recomputed yet has torch's h only, no c
                final = trace.gates[(layer, name, state)][step]
                finite = final[np.isfinite(final)]
                out.append(
                    IdentityCheck(
                        f"{state}_n[{k}]",
                        f"{state} of layer {layer} {name} at t={step}",
                        f"layer {layer}, {'backward' if d else 'forward'}",
                        _diff(t[f"{state}_n"][k], final),
                        exact=state == "h",
                        scale=float(np.abs(finite).max()) if finite.size else 0.0,
                        state=state,
                        index=k,
                        step=step,
                    )
                )
    return out
