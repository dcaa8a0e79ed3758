"""The one verdict on a trace: does what rnnviz recorded and recomputed agree with torch?

Computed once per Trace (`Trace.verdict`) from the comparison figures the trace recorded and
the output ↔ h_n identities on torch's own tensors, and written by one formatter
(`Verdict.text`), so the status badge, the Shapes tab, `rnnviz trace` and `Trace.verified`
can never tell different stories. numpy only.

States:
- "ok": every recomputed value agrees with torch to float32 round-off (≤ 1e-4 relative).
- "partial": agrees wherever both sides are finite; some values are Inf/NaN in torch and in
  the recomputation alike, and an Inf carries no digits to compare.
- "amber": agrees except at float's limit: values reach the largest float, and the
  recomputation (which adds the same terms in another order than torch's fused kernel)
  overflows where torch does not, or the reverse. Not a disagreement about the model.
- "differs": a real disagreement; `rnnviz trace` exits non-zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rnnviz.config.api import CELL
from rnnviz.config.spec import Spec

#: Relative agreement accepted as float32 round-off.
REL_TOL = 1e-4
#: From this magnitude on an absolute difference says little on its own ("matches torch:
#: max |Δ| = 4" read as a contradiction, for values of 2e8), so the relative one is shown too.
HUGE = 1.0
STATES = ("ok", "partial", "amber", "differs", "pending")


@dataclass(frozen=True)
class IdentityDiff:
    """One equality between two slices of torch's own returned tensors, and their distance."""

    lhs: str
    rhs: str
    note: str
    max_abs_diff: float


def exact_diff(a: np.ndarray, b: np.ndarray) -> float:
    """max |a − b| with equal non-finite values counting as equal (exact equality wanted)."""
    if a.shape != b.shape:
        return float("inf")
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    if same.all():
        return 0.0
    with np.errstate(invalid="ignore", over="ignore"):
        d = np.abs(a.astype(np.float64) - b.astype(np.float64))
    d = np.where(same, 0.0, d)
    return float(np.nanmax(d)) if not np.isnan(d).all() else float("nan")


def identity_diffs(spec: Spec, tensors: dict[str, np.ndarray], api: str) -> list[IdentityDiff]:
    """The output ↔ h_n identities of a module call, measured on its returned tensors.

    A Cell returns each h_t itself, so it has no such identity and the list is empty.
    """
    if api == CELL or "output" not in tensors or "h_n" not in tensors:
        return []
    out = tensors["output"]
    out_tm = out.transpose(1, 0, 2) if spec.batch_first else out
    h = spec.out_hidden
    last = (spec.num_layers - 1) * spec.num_directions
    end, start = ("[:, -1, ", "[:, 0, ") if spec.batch_first else ("[-1, :, ", "[0, :, ")
    checks = [
        IdentityDiff(
            f"h_n[{last}]",
            f"output{end}{':' + str(h) if spec.bidirectional else ':'}]",
            "last layer, forward: its final step is the last input position",
            exact_diff(tensors["h_n"][last], out_tm[-1, :, :h]),
        )
    ]
    if spec.bidirectional:
        checks.append(
            IdentityDiff(
                f"h_n[{last + 1}]",
                f"output{start}{h}:]",
                "last layer, backward: it ends at input position 0",
                exact_diff(tensors["h_n"][last + 1], out_tm[0, :, h:]),
            )
        )
    return checks


@dataclass(frozen=True)
class Verdict:
    """The trace's agreement with torch: a state, the figures behind it, and its words."""

    state: str
    max_abs_diff: float
    max_rel_diff: float
    nonfinite: int
    nonfinite_mismatch: int
    failed_identities: tuple[str, ...] = ()
    #: For a trace whose other lanes are still being recomputed (state "pending"): what has
    #: been verified, e.g. "verified 1 of 8 lanes (layer 0 fwd); 7 not yet recomputed".
    lanes: str = ""

    @property
    def agrees(self) -> bool:
        """True unless the trace really disagrees with torch (state "differs")."""
        return self.state != "differs"

    @property
    def scale(self) -> float:
        """Largest finite |value| of the compared tensor where the biggest Δ arose."""
        if self.max_rel_diff <= 0 or not math.isfinite(self.max_abs_diff):
            return 0.0
        return max(0.0, self.max_abs_diff / self.max_rel_diff - 1.0)

    @property
    def text(self) -> str:
        """One line, the same wherever the verdict is shown."""
        d = f"max |Δ| = {self.max_abs_diff:.3g}"
        rel = f", max rel Δ = {self.max_rel_diff:.3g}"
        if self.state == "ok":
            return "matches torch: " + d + (rel if self.max_abs_diff > HUGE else "")
        if self.state == "pending":
            # Never "matches": only the lanes recomputed so far are checked.
            return f"{self.lanes}: {d} on those so far"
        if self.state == "partial":
            return (
                f"matches torch where finite: {d}{rel if self.max_abs_diff > HUGE else ''}; "
                f"{self.nonfinite} values are Inf/NaN in torch and rnnviz alike"
            )
        if self.state == "amber":
            # No "0 values overflowed": amber may come from finite values near the limit.
            over = (
                f"{self.nonfinite_mismatch} values overflowed in one summation order only, "
                if self.nonfinite_mismatch
                else "values near float32's maximum differ by summation order, "
            )
            return (
                f"agrees with torch up to float32's limit: {over}"
                f"finite {d} on values up to {self.scale:.2g} (rel {self.max_rel_diff:.2g})"
            )
        line = "DIFFERS from torch: " + d + rel
        if self.nonfinite_mismatch:
            line += f", {self.nonfinite_mismatch} non-finite mismatches"
        if self.failed_identities:
            line += "; fails " + ", ".join(self.failed_identities)
        return line

    @property
    def explanation(self) -> str:
        """Why the state is what it is, in a sentence or two (for tooltips and the CLI)."""
        if self.state == "pending":
            return (
                "torch's forward ran in full; the gates of the lane on screen were recomputed "
                "and checked first, and the other lanes are being checked now. Nothing is "
                "claimed for a lane until it is."
            )
        if self.state == "ok":
            return (
                "Every gate was recomputed from the module's weights; the recomputed h (and c) "
                "agree with torch's own to float32 round-off."
            )
        if self.state == "partial":
            return (
                "Where both sides are finite they agree to round-off; Inf and NaN sit in the "
                "same places in torch's run and the recomputation, and carry no digits."
            )
        if self.state == "amber":
            return (
                "Only the summation order differs: torch's fused kernel and rnnviz's "
                "recomputation add the same float32 terms in another order, and at float32's "
                "maximum (3.4e38) one order overflows to Inf where the other does not. Every "
                "h shown is torch's own; recomputed pre-activations are rnnviz's."
            )
        return (
            "The recomputation from the module's weights does not reproduce what torch "
            "returned: the module's forward is not the standard cell, or a value is wrong."
        )


def judge(
    max_abs_diff: float,
    max_rel_diff: float,
    nonfinite: int,
    nonfinite_mismatch: int,
    at_float_limit: bool,
    identities: list[IdentityDiff],
    pending: str = "",
) -> Verdict:
    """The Verdict for a trace's comparison figures and identity checks (see module doc);
    `pending` (the trace's lanes_text) makes an agreeing partial trace "pending"."""
    failed = tuple(f"{c.lhs} == {c.rhs}" for c in identities if c.max_abs_diff != 0.0)
    within = max_rel_diff <= REL_TOL and nonfinite_mismatch == 0
    if failed:
        state = "differs"
    elif within:
        state = "partial" if nonfinite else "ok"
    elif at_float_limit:
        state = "amber"
    else:
        state = "differs"
    if pending and state != "differs":
        state = "pending"
    return Verdict(
        state, max_abs_diff, max_rel_diff, nonfinite, nonfinite_mismatch, failed, pending
    )
