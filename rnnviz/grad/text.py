"""Words and tables for gradient results: the badge, the chain explained with its numbers, the
comparison's decay ratios and CSV of the norms. Shared by the window and the CLI; numpy only.
"""

from __future__ import annotations

import csv
import io
import math
from typing import Any

import numpy as np

from rnnviz.config.spec import Spec
from rnnviz.engine.verdict import HUGE
from rnnviz.grad.reach import decay_kind, reached, reached_initial, state_grad_norms
from rnnviz.grad.record import GradTrace

_DIR = {"fwd": "forward", "bwd": "backward"}


def lane_name(spec: Spec, layer: int, direction: str) -> str:
    """'layer 0' or 'layer 0 backward' (the direction only when the spec has two)."""
    return f"layer {layer}" + (f" {_DIR[direction]}" if spec.bidirectional else "")


def grad_badge_text(gt: GradTrace) -> str:
    """'gradients match torch: max |Δ| = 2.4e-07' (plus the relative Δ and mismatches when
    the verdict is not "ok" or the gradients are huge); for `grad_state` "amber", 'gradients
    agree with torch up to float32's limit: …', in the forward verdict's words."""
    state = gt.grad_state
    d = f"max |Δ| = {gt.grad_max_abs_diff:.3g}"
    if state == "amber":
        # "0 values overflowed" when amber came from finite values near the limit alone.
        over = (
            f"{gt.grad_mismatch} values overflowed in one summation order only, "
            if gt.grad_mismatch
            else "values near float32's maximum differ by summation order, "
        )
        return (
            f"gradients agree with torch up to float32's limit: {over}finite {d} "
            f"(rel {gt.grad_max_rel_diff:.2g}, tolerance {gt.grad_rtol:g})"
        )
    head = "gradients match torch" if state == "ok" else "gradients DIFFER from torch"
    text = f"{head}: {d}"
    if state != "ok" or gt.grad_max_abs_diff > HUGE or not math.isfinite(gt.grad_max_abs_diff):
        text += f", max rel Δ = {gt.grad_max_rel_diff:.3g} (tolerance {gt.grad_rtol:g})"
    if gt.grad_mismatch:
        text += f", {gt.grad_mismatch} non-finite mismatches"
    return text


#: What each gradient state means, for the badge's tooltip (as `Verdict.explanation`).
GRAD_EXPLANATION = {
    "ok": "rnnviz's backward recursion through the recorded gates gives torch's autograd "
    "gradients (∂L/∂x, ∂L/∂h0, ∂L/∂θ) to float32 round-off.",
    "amber": "Only the summation order differs: the values reach float32's maximum "
    "(3.4e38), and rnnviz's recursion and torch's autograd add the same terms in another "
    "order, so one side overflows to Inf (or NaN) where the other does not. Where both are "
    "finite they agree to the tolerance.",
    "differs": "rnnviz's backward recursion does not reproduce torch's autograd gradients.",
}


def norms_note(norms: list[np.ndarray], dtype: Any = np.float32) -> str:
    """What a log plot of gradient `norms` (one array per curve) cannot show, in words: the
    values that are exactly 0 (no place on a log axis; in float32 a gradient below 1.4e-45
    rounds to 0), and those below the dtype's smallest normal number, where it keeps only a
    few significant bits. "" when neither occurs. A vanishing gradient over a long run
    reaches both: grad-vanishing at seq_len 400 is 0 from t = 234 back."""
    finfo = np.finfo(dtype)
    zero = sum(int(np.count_nonzero(n == 0)) for n in norms)
    tiny = sum(int(np.count_nonzero((n > 0) & (n < finfo.tiny))) for n in norms)
    parts = []
    if zero:
        parts.append(
            f"{zero} norm{'s' if zero != 1 else ''} exactly 0, not drawn (a log axis has no 0; "
            f"below {finfo.smallest_subnormal:.2g} a {finfo.dtype} gradient rounds to 0)"
        )
    if tiny:
        parts.append(
            f"{tiny} below {finfo.tiny:.2g}, where {finfo.dtype} keeps only a few significant bits"
        )
    return "; ".join(parts)


def _g(v: float) -> str:
    return f"{v:.3g}"


def chain_text(res: Any, layer: int, direction: str, batch: int, t: int) -> str:
    """The chain back from step t in words (HTML), with this module's numbers: what the
    factors, their running product and the bound are, and what they say here.

    Counting: from t to s = steps[k] the gradient passes k step Jacobians; the bound and
    what reached are both given after the same k steps, and after all len(steps) into the
    initial state."""
    spec = res.spec
    cf = res.chains[(layer, direction, batch)]
    steps = cf.steps(t, direction)
    n = len(steps)
    factors = cf.factor[steps]
    prod = cf.running_product(t, direction)
    st = "(h, c)" if spec.cell == "lstm" else "h"
    init = "(h₀, c₀)" if spec.cell == "lstm" else "h₀"
    far = int(steps[-1])
    where = f"{lane_name(spec, layer, direction)}, batch row {batch}"
    back = (
        "back"
        if direction == "fwd"
        else "forward through the input positions (this direction reads the input backwards)"
    )
    prev = "s+1" if direction == "bwd" else "s−1"
    lines = [
        f"<b>From t = {t} ({where}), going {back}: {n - 1} step(s) to s = {far}, "
        f"then one more into the initial state {init}.</b>",
    ]
    if spec.cell == "rnn":
        phi = (
            "tanh′ = 1 − h²"
            if spec.nonlinearity == "tanh"
            else "relu′ = 1 unless h ≤ 0 (so 1 at NaN, as torch's autograd)"
        )
        lines.append(
            "Each step multiplies ∂L/∂h by the step Jacobian J<sub>s</sub> = "
            f"diag(φ′(a<sub>s</sub>))·W<sub>hh</sub> ({phi}); its size is the step factor "
            "‖J<sub>s</sub>‖₂ (largest singular value)."
        )
    elif spec.cell == "gru":
        lines.append(
            "Each step multiplies ∂L/∂h by the step Jacobian J<sub>s</sub> = "
            f"∂h<sub>s</sub>/∂h<sub>{prev}</sub> = diag(z) + (terms through r, z, n and "
            "W<sub>hh</sub>); its size is ‖J<sub>s</sub>‖₂. The diag(z) part is a direct path: "
            "with z ≈ 1 the state is copied."
        )
    else:
        lines.append(
            "The state is (h, c); J<sub>s</sub> is the Jacobian of (h<sub>s</sub>, "
            f"c<sub>s</sub>) w.r.t. (h<sub>{prev}</sub>, c<sub>{prev}</sub>). Its c → c block is "
            "diag(f<sub>s</sub>): with the forget gate near 1 the error passes through c "
            "unchanged (the constant-error carousel), with no W<sub>hh</sub> in the way."
        )
    below = int((factors < 1).sum())
    lines.append(
        f"Step factors ‖J<sub>s</sub>‖₂ for s = {t} … {far}: {_g(factors.min())} to "
        f"{_g(factors.max())} (median {_g(float(np.median(factors)))}; {below} of {n} below 1)."
    )
    marks = sorted({k for k in (1, 5, 10, 20, 50, 100, n - 1) if 1 <= k <= n - 1})
    at = [f"{k} step(s) (s = {steps[k]}): " for k in marks] + [f"{n} step(s) ({init}): "]
    bounds = [_g(prod[k]) for k in marks] + [_g(cf.initial_product(t, direction))]
    lines.append(
        "Running product ∏‖J‖₂ of the step factors passed, after "
        + ", ".join(a + b for a, b in zip(at, bounds))
        + f". It bounds how much of ∂L/∂{st} at t can reach s "
        f"(‖∂{st}<sub>t</sub>/∂{st}<sub>s</sub>‖ ≤ ∏‖J‖₂) — only a bound: the product of the "
        "matrices can be far smaller than the product of their norms when their directions "
        "do not line up."
    )
    got = reached(res.grads, layer, direction, batch, steps)
    ratio = f"‖∂L/∂{st}<sub>s</sub>‖ ÷ ‖∂L/∂{st}<sub>t</sub>‖"
    at_t = float(state_grad_norms(res.grads, layer, direction, batch)[t]) if n else 0.0
    if not n or not np.isfinite(got[0]):
        if n and not math.isfinite(at_t):
            # Overflow is not absence: relu-explode's gradients are Inf/NaN, not 0.
            lines.append(
                f"What actually reached: no ratio — ‖∂L/∂{st}<sub>t</sub>‖ is not finite "
                "(the gradient overflowed float32 on its way here), so no ratio means anything."
            )
        else:
            lines.append(
                f"What actually reached: no ratio — ‖∂L/∂{st}<sub>t</sub>‖ = 0: under loss "
                f'"{res.grads.loss}" no gradient reaches t in this lane, so nothing leaves t.'
            )
    else:
        shown = [_g(got[k]) for k in marks] + [
            _g(reached_initial(res.grads, layer, direction, batch, t))
        ]
        if decay_kind(spec, res.grads.loss, layer, direction) != "mixed":
            why = (
                "only this lane's recursion carries the gradient from t on (top layer, loss "
                f'"{res.grads.loss}" read at one step), so this is the true '
                f"‖(J⋯J)ᵀ ∂L/∂{st}<sub>t</sub>‖ and never exceeds the bound"
            )
        else:
            src = "the layer above" if layer < spec.num_layers - 1 else "the loss at other steps"
            why = (
                f"{src} also feeds the steps in between, so this total gradient can exceed "
                "the bound"
            )
        state_note = (
            " The state gradient is (∂L/∂h<sub>s</sub>, the part of ∂L/∂c<sub>s</sub> that "
            "arrives from the next step, f·∂L/∂c there), the vector J<sub>s</sub>ᵀ acts on."
            if spec.cell == "lstm"
            else ""
        )
        lines.append(
            f"What actually reached: {ratio} after "
            + ", ".join(a + b for a, b in zip(at, shown))
            + f" ({why}).{state_note}"
        )
    if cf.bound is not None:
        b = cf.bound
        verdict = (
            f"below 1, so the gradient must shrink at least as fast as {_g(b)}<sup>k</sup>: "
            "it vanishes over long spans whatever the input"
            if b < 1
            else f"at least 1, so the bound {_g(b)}<sup>k</sup> does not force vanishing; "
            "whether it vanishes or explodes depends on φ′ along the path (the step factors)"
        )
        lines.append(
            f"Bound: ‖W<sub>hh</sub>‖₂·max φ′ = {_g(cf.w_hh_norm)} × 1 = {_g(b)} "
            f"(max tanh′ = max relu′ = 1) — {verdict}."
        )
    else:
        lines.append(
            f"‖W<sub>hh</sub>‖₂ = {_g(cf.w_hh_norm)}; no ‖W<sub>hh</sub>‖·max φ′ bound is drawn "
            "for gated cells: their gates, not one weight matrix, decide the factors."
        )
    return "<br>".join(lines)


def _decay_lanes(comparison: Any) -> list[tuple[tuple[int, str], str, str]]:
    """((layer, dir), short name, decay_kind) of every lane, layer by layer, fwd first."""

    first = comparison.entries[0]
    spec = first.spec
    out = []
    for layer, d in sorted(first.decay, key=lambda k: (k[0], k[1] != "fwd")):
        name = f"l{layer}" + (f" {d}" if spec.bidirectional else "")
        out.append(((layer, d), name, decay_kind(spec, comparison.loss, layer, d)))
    return out


def decay_header(comparison: Any) -> str:
    """What the decay ratios of `decay_lines` are, and how to read the lanes where the ratio
    is a decay along the recursion (the gradient enters only at the lane's last step)."""
    lanes = _decay_lanes(comparison)
    text = "decay = ‖∂L/∂h‖ at a lane's first step ÷ at its last step, in the order the lane runs"
    if comparison.entries[0].spec.bidirectional:
        text += " (a backward lane runs from input T−1 down to 0)"
    pure = [name for _, name, kind in lanes if kind == "decay"]
    if pure:
        text += (
            f". {', '.join(pure)}: the loss enters only at the last step, so small means the "
            "gradient vanished on the way back and large that it exploded"
        )
    return text


def decay_cells(comparison: Any) -> tuple[list[str], list[list[str]], list[str]]:
    """The decay ratios of a Comparison as the window and `rnnviz grad --compare` both show
    them: (lane names, per cell one string per lane, legend lines). A ratio reads "0.228",
    "0.228°" for a lane the gradient enters at every step (not a pure decay), "—" where no
    ratio exists; a legend line explains each mark used."""
    lanes = _decay_lanes(comparison)
    cells: list[list[str]] = []
    mixed = none_lane = zero_end = overflow = False
    for e in comparison.entries:
        row = []
        for key, _, kind in lanes:
            v = e.decay[key]
            if kind == "none" or not math.isfinite(v):
                row.append("—")
                none_lane = none_lane or kind == "none"
                if kind != "none":
                    # 0/0 and x/0 are "nothing reached the end"; Inf or NaN norms overflowed.
                    finite = bool(np.isfinite(e.norms[key]).all())
                    zero_end = zero_end or finite
                    overflow = overflow or not finite
            else:
                row.append(f"{v:.3g}" + ("°" if kind == "mixed" else ""))
                mixed = mixed or kind == "mixed"
        cells.append(row)
    legend = []
    if mixed:
        layers = comparison.entries[0].spec.num_layers
        if comparison.loss != "sum":
            src = "the layer above"
        else:
            src = "the loss" + (" (or the layer above)" if layers > 1 else "")
        legend.append(
            f"°: gradient enters this lane from {src} at every step, so the ratio compares "
            "totals that include what entered on the way: not a pure decay."
        )
    notes = []
    if none_lane:
        notes.append(
            'loss "last" reads a top backward lane only at its first step (output[T−1]), so '
            "no gradient runs along it"
        )
    if zero_end:
        notes.append("‖∂L/∂h‖ is 0 at the lane's last step (nothing to divide by)")
    if overflow:
        notes.append("‖∂L/∂h‖ overflowed float32 (Inf/NaN) in the lane")
    if notes:
        legend.append("—: no ratio: " + "; ".join(notes) + ".")
    return [name for _, name, _ in lanes], cells, legend


def grad_norm_text(comparison: Any, entry: Any) -> str:
    """‖∂L/∂θ‖ of one cell, and after clipping when the comparison clips."""
    text = f"{entry.grad_norm:.4g}"
    if entry.clipped_norm is not None:
        text += f" → {entry.clipped_norm:.4g} after clipping to {comparison.clip:g}"
    return text


def decay_lines(comparison: Any) -> list[str]:
    """One line per cell of a Comparison: the decay ratio of every lane (see decay_header
    and `decay_cells`) and ‖∂L/∂θ‖ before/after clipping; then the legend lines."""
    names, cells, legend = decay_cells(comparison)
    out = []
    for e, row in zip(comparison.entries, cells):
        parts = ", ".join(f"{name} {cell}" for name, cell in zip(names, row))
        out.append(f"{e.label}: decay {parts}; ‖∂L/∂θ‖ = {grad_norm_text(comparison, e)}")
    return out + legend


def norms_csv(gt: GradTrace) -> bytes:
    """CSV: t, then ‖∂L/∂h_t‖ (and ‖∂L/∂c_t‖ for LSTM) for every lane, full precision."""
    spec = gt.spec
    cols: list[tuple[str, np.ndarray]] = []
    for layer in range(spec.num_layers):
        for d in spec.directions:
            cols.append((f"h_l{layer}_{d}", gt.norms(layer, d)))
            if spec.cell == "lstm":
                cols.append((f"c_l{layer}_{d}", gt.c_norms(layer, d)))
    return table_csv(cols)


def compare_csv(comparison: Any, layer: int = 0, direction: str = "fwd") -> bytes:
    """CSV: t, then ‖∂L/∂h_t‖ of one lane for every compared cell."""
    return table_csv(
        [(e.label.replace(" ", "_"), e.norms[(layer, direction)]) for e in comparison.entries]
    )


def _cell_int(v: Any) -> str:
    return str(int(v))


def _cell_float(v: Any) -> str:
    return repr(float(v))


def table_csv(cols: list[tuple[str, np.ndarray]], index: str | None = "t") -> bytes:
    """Columns of equal length as CSV (repr precision), after a leading row-number column
    named `index` (t, unit; None: no such column, when the rows are not numbered by it).
    Names are quoted where CSV needs it: an LSTM chain's "(h,c)" split its header."""
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    lead = [index] if index is not None else []
    out.writerow(lead + [name for name, _ in cols])
    n = len(cols[0][1]) if cols else 0
    cells = [_cell_int if np.asarray(c).dtype.kind in "iu" else _cell_float for _, c in cols]
    for k in range(n):
        row = [cell(c[k]) for cell, (_, c) in zip(cells, cols)]
        out.writerow(([str(k)] if index is not None else []) + row)
    return buf.getvalue().encode("utf-8")
