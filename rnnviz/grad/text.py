"""Words and tables for gradient results: the badge, the chain explained with its numbers, the
comparison's decay ratios and CSV of the norms. Shared by the window and the CLI; numpy only.
"""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np

from rnnviz.config.spec import Spec
from rnnviz.engine.verdict import HUGE
from rnnviz.grad.record import GradTrace
from rnnviz.grad.result import reached

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
        return (
            "gradients agree with torch up to float32's limit: "
            f"{gt.grad_mismatch} values overflowed in one summation order only, finite {d} "
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


def _g(v: float) -> str:
    return f"{v:.3g}"


def chain_text(res: Any, layer: int, direction: str, batch: int, t: int) -> str:
    """The chain back from step t in words (HTML), with this module's numbers: what the
    factors, their running product and the bound are, and what they say here."""
    spec = res.spec
    cf = res.chains[(layer, direction, batch)]
    steps = cf.steps(t, direction)
    factors = cf.factor[steps]
    prod = cf.running_product(t, direction)
    where = f"{lane_name(spec, layer, direction)}, batch row {batch}"
    back = "back" if direction == "fwd" else "forward (this direction reads the input backwards)"
    lines = [
        f"<b>From t = {t} ({where}), going {back} through {len(steps)} step(s).</b>",
    ]
    if spec.cell == "rnn":
        phi = "tanh′ = 1 − h²" if spec.nonlinearity == "tanh" else "relu′ = [h > 0]"
        lines.append(
            "Each step multiplies ∂L/∂h by the step Jacobian J<sub>s</sub> = "
            f"diag(φ′(a<sub>s</sub>))·W<sub>hh</sub> ({phi}); its size is the step factor "
            "‖J<sub>s</sub>‖₂ (largest singular value)."
        )
    elif spec.cell == "gru":
        lines.append(
            "Each step multiplies ∂L/∂h by the step Jacobian J<sub>s</sub> = "
            "∂h<sub>s</sub>/∂h<sub>s−1</sub> = diag(z) + (terms through r, z, n and "
            "W<sub>hh</sub>); its size is ‖J<sub>s</sub>‖₂. The diag(z) part is a direct path: "
            "with z ≈ 1 the state is copied."
        )
    else:
        lines.append(
            "The state is (h, c); J<sub>s</sub> is the Jacobian of (h<sub>s</sub>, "
            "c<sub>s</sub>) w.r.t. (h<sub>s−1</sub>, c<sub>s−1</sub>). Its c → c block is "
            "diag(f<sub>s</sub>): with the forget gate near 1 the error passes through c "
            "unchanged (the constant-error carousel), with no W<sub>hh</sub> in the way."
        )
    lines.append(
        f"Step factors here: {_g(factors.min())} to {_g(factors.max())} "
        f"(median {_g(float(np.median(factors)))})."
    )
    marks = sorted({k for k in (0, 4, 9, 19, 49, 99, len(steps) - 1) if k < len(steps)})
    lines.append(
        "Running product ∏‖J‖₂ after "
        + ", ".join(f"{k + 1} step(s): {_g(prod[k])}" for k in marks)
        + ". It bounds how much of ∂L/∂h at t can reach that far "
        "(‖∂h<sub>t</sub>/∂h<sub>s</sub>‖ ≤ ∏‖J‖₂) — only a bound: the product of the "
        "matrices can be far smaller than the product of their norms when their directions "
        "do not line up."
    )
    got = reached(res.grads, layer, direction, batch, steps)
    lines.append(
        "What actually reached: ‖∂L/∂h<sub>s</sub>‖ ÷ ‖∂L/∂h<sub>t</sub>‖ after "
        + ", ".join(f"{k + 1} step(s): {_g(got[k])}" for k in marks)
        + " (the total gradient at s from the norms, which also carries what later losses "
        "and the layers above added)."
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


def decay_lines(comparison: Any) -> list[str]:
    """One line per cell of a Comparison: the decay ratio ‖∂L/∂h_first‖ / ‖∂L/∂h_last‖ of
    every lane (first and last step of the direction), and ‖∂L/∂θ‖ before/after clipping."""
    out = []
    for e in comparison.entries:
        parts = []
        for (layer, d), v in sorted(e.decay.items(), key=lambda kv: (kv[0][0], kv[0][1] != "fwd")):
            name = f"l{layer}" + (f" {d}" if e.spec.bidirectional else "")
            parts.append(f"{name} {v:.3g}")
        grad = f"‖∂L/∂θ‖ = {e.grad_norm:.4g}"
        if e.clipped_norm is not None:
            grad += f" → {e.clipped_norm:.4g} after clipping to {comparison.clip:g}"
        out.append(f"{e.label}: decay " + ", ".join(parts) + f"; {grad}")
    return out


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


def table_csv(cols: list[tuple[str, np.ndarray]]) -> bytes:
    """Columns of equal length as CSV with a leading t column (repr precision)."""
    buf = io.StringIO()
    buf.write(",".join(["t"] + [name for name, _ in cols]) + "\n")
    n = len(cols[0][1]) if cols else 0
    for t in range(n):
        buf.write(",".join([str(t)] + [repr(float(c[t])) for _, c in cols]) + "\n")
    return buf.getvalue().encode("utf-8")
