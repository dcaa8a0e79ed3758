"""Recompute every gate of one (layer, direction) from the module's own weights.

torch's fused CPU kernels return only h_t, never the gates. Given torch's own h_t for every
step, every h_{t-1} is known too, so all gate pre-activations over the whole sequence are two
batched matrix products instead of seq_len small ones; only the LSTM cell state needs a scan.
Because each step starts from torch's h_{t-1}, a recomputation error cannot compound over time:
the comparison of our h_t with torch's measures each step on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class DirectionWeights:
    """The parameters of one (layer, direction), as in `named_parameters()`; biases may be None."""

    w_ih: torch.Tensor  # (gates × H, I)
    w_hh: torch.Tensor  # (gates × H, H_out)
    b_ih: torch.Tensor | None
    b_hh: torch.Tensor | None
    w_hr: torch.Tensor | None = None  # (proj_size, H), LSTM projection

    def flat(self) -> list[torch.Tensor]:
        """In torch's flat-weights order (w_ih, w_hh, b_ih, b_hh, w_hr), Nones left out."""
        return [w for w in (self.w_ih, self.w_hh, self.b_ih, self.b_hh, self.w_hr)
                if w is not None]


def previous_h(hseq: torch.Tensor, h0: torch.Tensor, reverse: bool) -> torch.Tensor:
    """h_{t-1} for every t: (T, B, H_out). For the backward direction the previous step of
    position t is position t+1, and the step at T-1 starts from h0."""
    if reverse:
        return torch.cat([hseq[1:], h0.unsqueeze(0)], dim=0)
    return torch.cat([h0.unsqueeze(0), hseq[:-1]], dim=0)


def _affine(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None) -> torch.Tensor:
    """x @ w.T + b over the flattened (T×B) rows; returns (T, B, rows of w)."""
    t, bsz, _ = x.shape
    flat = x.reshape(t * bsz, -1)
    out = torch.addmm(b, flat, w.t()) if b is not None else flat @ w.t()
    return out.view(t, bsz, -1)


def lstm_gates(x: torch.Tensor, hprev: torch.Tensor, c0: torch.Tensor, w: DirectionWeights,
               reverse: bool) -> dict[str, torch.Tensor]:
    """LSTM i, f, g, o, c and the recomputed h, each (T, B, ·), for one direction.

    i = σ(W_ii x + b_ii + W_hi h + b_hi), f and o likewise, g = tanh(…),
    c_t = f ⊙ c_{t-1} + i ⊙ g, h_t = o ⊙ tanh(c_t) (then W_hr h_t with proj_size).
    """
    pre = _affine(x, w.w_ih, w.b_ih)
    pre += _affine(hprev, w.w_hh, w.b_hh)
    hs = c0.shape[-1]
    i, f, g, o = pre.split(hs, dim=2)
    i.sigmoid_()
    f.sigmoid_()
    g.tanh_()
    o.sigmoid_()
    ig = i * g
    c = torch.empty_like(ig)
    # The one true recurrence left: c depends on c_{t-1}, which torch never returns.
    steps = range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])
    c_prev = c0
    for t in steps:
        torch.addcmul(ig[t], f[t], c_prev, out=c[t])
        c_prev = c[t]
    h = o * torch.tanh(c)
    if w.w_hr is not None:
        h = _affine(h, w.w_hr, None)
    return {"i": i, "f": f, "g": g, "o": o, "c": c, "h": h}


def gru_gates(x: torch.Tensor, hprev: torch.Tensor, w: DirectionWeights) -> dict[str, torch.Tensor]:
    """GRU r, z, n and the recomputed h, each (T, B, H), for one direction.

    r = σ(W_ir x + b_ir + W_hr h + b_hr), z likewise,
    n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}.
    b_hn sits inside the reset product because torch (and cuDNN) apply r to the whole
    recurrent term W_hn h + b_hn; moving it outside gives a different, wrong, n.
    """
    gi = _affine(x, w.w_ih, w.b_ih)
    gh = _affine(hprev, w.w_hh, w.b_hh)
    hs = hprev.shape[-1]
    i_r, i_z, i_n = gi.split(hs, dim=2)
    h_r, h_z, h_n = gh.split(hs, dim=2)
    r = (i_r + h_r).sigmoid_()
    z = (i_z + h_z).sigmoid_()
    n = torch.addcmul(i_n, r, h_n).tanh_()
    h = n + z * (hprev - n)
    return {"r": r, "z": z, "n": n, "h": h}


def rnn_gates(x: torch.Tensor, hprev: torch.Tensor, w: DirectionWeights,
              nonlinearity: str) -> dict[str, torch.Tensor]:
    """Elman RNN pre-activation a = W_ih x + b_ih + W_hh h + b_hh and h = tanh(a) or relu(a)."""
    a = _affine(x, w.w_ih, w.b_ih)
    a += _affine(hprev, w.w_hh, w.b_hh)
    h = torch.relu(a) if nonlinearity == "relu" else torch.tanh(a)
    return {"a": a, "h": h}


def max_diff(a: torch.Tensor, b: torch.Tensor) -> tuple[float, float, int]:
    """Compare recomputed `a` with torch's `b`.

    Returns (max |a − b| over positions finite on both sides, that maximum / (1 + max |b|),
    count of positions where exactly one side is non-finite or both are but differ).
    Inf == Inf and NaN vs NaN agree (both overflowed). A disagreement in non-finite values is
    counted apart: near float's limit a different summation order decides whether a sum
    overflows, so it is reported as such rather than folded into one meaningless "inf".
    """
    if a.numel() == 0:
        return 0.0, 0.0, 0
    d = (a - b).abs()
    mismatched = 0
    bf = b
    if not (torch.isfinite(a).all() and torch.isfinite(b).all()):
        both = torch.isfinite(a) & torch.isfinite(b)
        agree = both | (a == b) | (torch.isnan(a) & torch.isnan(b))
        mismatched = int((~agree).sum())
        d = torch.where(both, d, torch.zeros_like(d))
        bf = torch.where(torch.isfinite(b), b, torch.zeros_like(b))
    # Relative to the tensor's own scale, not elementwise: with exploding activations a single
    # element can be a cancellation of huge terms, and its round-off is relative to those terms.
    dmax = float(d.max())
    return dmax, dmax / (1.0 + float(bf.abs().max())), mismatched
