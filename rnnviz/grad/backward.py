"""rnnviz's own backward pass through time, computed from a forward `Trace`'s recorded gates.

The recursion runs layer by layer from the top down. Within a layer every direction's
backward recursion is independent once the gradient arriving at the layer's output is known
(from the loss, and from the layer above through its input), so all directions of one layer
share one time loop: backward lanes are stored in *step order* (the order the recursion
visits them), which is reversed input order for the forward direction and input order for
the backward one, and one batched matrix product per step serves every direction.

Everything that does not depend on the carried gradient (gate derivatives such as
i ⊙ (1 − i)) is computed in bulk before the loop; parameter gradients and ∂L/∂x are bulk
matrix products after it. The loop itself holds only what is truly sequential: a few
elementwise products and one (B, gates·H) × (gates·H, H_out) product per step.

The arithmetic runs in float32 for float32 (and narrower) traces and in float64 for float64
traces: torch's own autograd runs in the module's dtype, so computing ours in float64 would
only change which side carries the round-off, at twice the cost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from rnnviz.engine.gates import previous_h
from rnnviz.engine.gemm import linear, linear_add
from rnnviz.engine.record import Trace

LaneKey = tuple[int, str]  # (layer, "fwd"|"bwd")

#: Losses rnnviz differentiates, all plain sums so that ∂L/∂(output) is 0 or 1 everywhere:
#: "last" Σ output[T−1], "sum" Σ output, "hn" Σ h_n.
LOSSES = ("last", "sum", "hn")


@dataclass
class BackwardResult:
    """rnnviz's own gradients, as numpy arrays in the compute dtype.

    - `dh[(layer, dir)]`: (T, B, H_out) the total ∂L/∂h_t, indexed by input position;
    - `dc[(layer, dir)]`: (T, B, H) the total ∂L/∂c_t (LSTM only);
    - `dx`: (T, B, I) ∂L/∂x, time-major; `dh0` (L·D, B, H_out); `dc0` (L·D, B, H) or None;
    - `dparams`: torch parameter name → gradient, same shape as the parameter.
    """

    dh: dict[LaneKey, np.ndarray]
    dc: dict[LaneKey, np.ndarray]
    dx: np.ndarray
    dh0: np.ndarray
    dc0: np.ndarray | None
    dparams: dict[str, np.ndarray]


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype the recursion runs in: float64 for float64 traces, float32 otherwise."""
    return torch.float64 if dtype == torch.float64 else torch.float32


def param_name(kind: str, layer: int, direction: str, cell: bool) -> str:
    """torch's name of a parameter: `weight_ih_l0_reverse`, or `weight_ih` for a *Cell."""
    if cell:
        return kind
    return f"{kind}_l{layer}" + ("_reverse" if direction == "bwd" else "")


def phi_prime(h: Any, nonlinearity: str) -> Any:
    """φ′ of an Elman RNN from its output h (a torch tensor or numpy array), as torch's
    autograd takes it: tanh′ = 1 − h², relu′ = 0 where h ≤ 0 and 1 elsewhere.

    "Elsewhere" includes NaN: torch's relu backward (`threshold_backward` on the result) keeps
    the gradient wherever the result is *not* ≤ 0, and NaN ≤ 0 is false. [h > 0] would be 0
    there, and on an overflowed run (the relu-explode preset, whose last output is NaN) that
    silently stopped every gradient that torch lets through.
    """
    if nonlinearity == "relu":
        mask = ~(h <= 0)
        return mask.astype(h.dtype) if isinstance(h, np.ndarray) else mask.to(h.dtype)
    return 1 - h * h


def _step_order(a: torch.Tensor, direction: str) -> torch.Tensor:
    """(T, ...) indexed by input position → indexed by recursion step (and back: an involution).

    The forward direction's recursion visits t = T−1 first, the backward direction's t = 0."""
    return a.flip(0) if direction == "fwd" else a


def external_grads(
    tr: Trace, loss: str, cell: bool, dtype: torch.dtype
) -> dict[LaneKey, torch.Tensor]:
    """∂L/∂h_t *directly* from the loss for every lane, (T, B, H_out), indexed by input position.

    "last" puts ones on output[T−1], which is both directions' h at input position T−1 (for
    the backward direction that is its first step); "sum" puts ones everywhere on the top
    layer; "hn" puts ones on every layer's final h: position T−1 forward, 0 backward.
    """
    spec = tr.spec
    steps, batch, hout = spec.seq_len, spec.batch_size, spec.out_hidden
    top = spec.num_layers - 1
    out: dict[LaneKey, torch.Tensor] = {}
    for layer in range(spec.num_layers):
        for d in spec.directions:
            g = torch.zeros(steps, batch, hout, dtype=dtype)
            if loss == "sum" and layer == top:
                g.fill_(1.0)
            elif loss == "last" and layer == top:
                g[steps - 1] = 1.0
            elif loss == "hn":
                g[0 if d == "bwd" else steps - 1] = 1.0
            out[(layer, d)] = g
    return out


def _t(a: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
    return torch.from_numpy(np.asarray(a)).to(dtype)


class _LayerWeights:
    """One layer's parameters, every direction stacked on dim 0 (D, ...), in `dtype`."""

    def __init__(self, tr: Trace, layer: int, cell: bool, dtype: torch.dtype) -> None:
        def get(kind: str) -> list[torch.Tensor] | None:
            names = [param_name(kind, layer, d, cell) for d in tr.spec.directions]
            if names[0] not in tr.params:
                return None
            return [_t(tr.params[n], dtype) for n in names]

        self.w_ih = get("weight_ih")
        w_hh = get("weight_hh")
        assert w_hh is not None
        self.w_hh = _right_operand(w_hh)
        self.b_hh = get("bias_hh")
        w_hr = get("weight_hr")
        self.w_hr = _right_operand(w_hr) if w_hr is not None else None


def _right_operand(ws: list[torch.Tensor]) -> torch.Tensor:
    """(D, rows, cols) equal to stack(ws), stored as the transposes: the per-step products
    δ (B, rows) @ W have a small B, and reading W's columns contiguously measured up to 2×
    faster there."""
    return torch.stack([w.t() for w in ws]).transpose(1, 2)


def backward(
    tr: Trace,
    loss: str,
    cell: bool,
    check: Callable[[], None] | None = None,
    tick: Callable[[], None] | None = None,
) -> BackwardResult:
    """Run rnnviz's backward recursion over `tr` for `loss` (one of LOSSES).

    `cell` says the trace stepped a *Cell (parameter names without the _l0 suffix, input
    already time-major). `check()` is called every 64 steps (it may raise Cancelled);
    `tick()` once per layer. Returns a BackwardResult (shapes in its docstring).
    """
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")
    spec = tr.spec
    x_np = tr.tensors["input"]
    dtype = compute_dtype(torch.from_numpy(x_np[:0]).dtype)
    x = _t(x_np, dtype)
    if spec.batch_first and not cell:
        x = x.transpose(0, 1)
    h0 = _t(tr.tensors["h0"], dtype)
    c0 = _t(tr.tensors["c0"], dtype) if spec.cell == "lstm" else None
    ext = external_grads(tr, loss, cell, dtype)
    dirs = spec.directions
    ndir = len(dirs)
    dh: dict[LaneKey, np.ndarray] = {}
    dc: dict[LaneKey, np.ndarray] = {}
    dparams: dict[str, np.ndarray] = {}
    dh0 = torch.zeros_like(h0)
    dc0 = torch.zeros_like(c0) if c0 is not None else None
    from_above: torch.Tensor | None = None  # ∂L/∂(this layer's output) via the layer above
    dx = x
    for layer in range(spec.num_layers - 1, -1, -1):
        if layer == 0:
            layer_in = x
        else:
            layer_in = torch.cat([_t(tr.gates[(layer - 1, d, "h")], dtype) for d in dirs], dim=2)
        w = _LayerWeights(tr, layer, cell, dtype)
        rows = slice(layer * ndir, (layer + 1) * ndir)
        g_ext = []
        for k, d in enumerate(dirs):
            g = ext[(layer, d)]
            if from_above is not None:
                hout = spec.out_hidden
                g = g + from_above[:, :, k * hout : (k + 1) * hout]
            g_ext.append(g)
        lane = _Lanes(tr, layer, dirs, dtype, h0[rows], c0[rows] if c0 is not None else None)
        if spec.cell == "lstm":
            res = lane.lstm(g_ext, w, check)
        elif spec.cell == "gru":
            res = lane.gru(g_ext, w, check)
        else:
            res = lane.rnn(g_ext, w, spec.nonlinearity, check)
        carry_h, carry_c, d_in, d_rec, dh_all, dc_all, dm_parts = res
        dh0[rows] = carry_h
        if dc0 is not None and carry_c is not None:
            dc0[rows] = carry_c
        # The bulk products: every timestep at once, per direction, through the engine's
        # gemm (oneDNN for float32 on the CPU: about twice MKL's speed here, even with the
        # transposed operands copied dense first).
        tb = spec.seq_len * spec.batch_size
        hprev_all = lane.hprev
        layer_in2 = layer_in.reshape(tb, -1)
        dx2: torch.Tensor | None = None
        for k, d in enumerate(dirs):
            gi, gh = d_in[k].reshape(tb, -1), d_rec[k].reshape(tb, -1)
            assert w.w_ih is not None
            w_ih_t = w.w_ih[k].t()  # gi @ W_ih is gi @ (W_ih^T)^T
            dx2 = linear(gi, w_ih_t) if dx2 is None else linear_add(gi, w_ih_t, dx2)
            dparams[param_name("weight_ih", layer, d, cell)] = _np(linear(gi.t(), layer_in2.t()))
            dparams[param_name("weight_hh", layer, d, cell)] = _np(
                linear(gh.t(), hprev_all[k].reshape(tb, -1).t())
            )
            if spec.bias:
                dparams[param_name("bias_ih", layer, d, cell)] = _np(gi.sum(0))
                dparams[param_name("bias_hh", layer, d, cell)] = _np(gh.sum(0))
            if w.w_hr is not None:
                dh_k, m_k = dm_parts[k]
                dparams[param_name("weight_hr", layer, d, cell)] = _np(
                    linear(dh_k.reshape(tb, -1).t(), m_k.reshape(tb, -1).t())
                )
            dh[(layer, d)] = _np(dh_all[k])
            if dc_all is not None:
                dc[(layer, d)] = _np(dc_all[k])
        assert dx2 is not None
        dx = dx2.view(layer_in.shape)
        from_above = dx
        if tick is not None:
            tick()
    # Parameters in torch's own order, whatever order the recursion produced them in.
    dparams = {n: dparams[n] for n in tr.params if n in dparams}
    dx_np = _np(dx)
    return BackwardResult(
        dh=dh,
        dc=dc,
        dx=dx_np,
        dh0=_np(dh0),
        dc0=_np(dc0) if dc0 is not None else None,
        dparams=dparams,
    )


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().contiguous().numpy()


class _Lanes:
    """The directions of one layer, with their recorded values converted to `dtype`."""

    def __init__(
        self,
        tr: Trace,
        layer: int,
        dirs: tuple[str, ...],
        dtype: torch.dtype,
        h0: torch.Tensor,
        c0: torch.Tensor | None,
    ) -> None:
        self.tr, self.layer, self.dirs, self.dtype = tr, layer, dirs, dtype
        self.h0, self.c0 = h0, c0
        self.hprev = [previous_h(self.gate(d, "h"), h0[k], d == "bwd") for k, d in enumerate(dirs)]

    def gate(self, d: str, name: str) -> torch.Tensor:
        """Recorded gate `name` of direction `d`, (T, B, size) by input position, in dtype."""
        return _t(self.tr.gates[(self.layer, d, name)], self.dtype)

    def stacked(self, arrays: list[torch.Tensor]) -> torch.Tensor:
        """Per-direction (T, ...) arrays by input position → one (T, D, ...) in step order.

        Time leads so that each step's slice, read and written once per step, is contiguous."""
        return torch.stack([_step_order(a, d) for a, d in zip(arrays, self.dirs)], dim=1)

    def unstack(self, a: torch.Tensor) -> list[torch.Tensor]:
        """Inverse of `stacked`: (T, D, ...) in step order → per-direction, by input position."""
        return [_step_order(a[:, k], d) for k, d in enumerate(self.dirs)]

    # ---- Elman RNN ----------------------------------------------------------------------
    def rnn(
        self,
        g_ext: list[torch.Tensor],
        w: _LayerWeights,
        nonlinearity: str,
        check: Callable[[], None] | None,
    ) -> tuple:
        """h_t = φ(a_t): ∂L/∂a_t = ∂L/∂h_t ⊙ φ'(a_t), and ∂L/∂h_{t−1} += ∂L/∂a_t W_hh.

        φ' is taken from torch's own h (`phi_prime`) exactly as torch's autograd takes it, so a pre-activation within round-off of 0 cannot flip
        the relu mask between the two sides.
        """
        h = [self.gate(d, "h") for d in self.dirs]
        deriv = self.stacked([phi_prime(hk, nonlinearity) for hk in h])
        g = self.stacked(g_ext)
        steps, ndir, batch, hid = deriv.shape
        w_hh = w.w_hh  # (D, H, H)
        dh_all = torch.empty_like(g)
        da = torch.empty_like(deriv)
        carry = torch.zeros(ndir, batch, hid, dtype=self.dtype)
        # Every step's views made at once (`unbind`): indexing a tensor per step cost more
        # than the step's arithmetic on small lanes.
        g_s, deriv_s, dh_s_all, da_s_all = (a.unbind(0) for a in (g, deriv, dh_all, da))
        for s in range(steps):
            dh_s = torch.add(g_s[s], carry, out=dh_s_all[s])
            da_s = torch.mul(dh_s, deriv_s[s], out=da_s_all[s])
            carry = torch.bmm(da_s, w_hh)
            if check is not None and s % 64 == 63:
                check()
        da_l = self.unstack(da)
        return carry, None, da_l, da_l, self.unstack(dh_all), None, None

    # ---- GRU ----------------------------------------------------------------------------
    def gru(
        self, g_ext: list[torch.Tensor], w: _LayerWeights, check: Callable[[], None] | None
    ) -> tuple:
        """GRU: h = (1 − z) ⊙ n + z ⊙ h', n = tanh(a_in + r ⊙ (W_hn h' + b_hn)).

        With δ = ∂L/∂h_t: ∂/∂(n pre-activation) δ_n = δ ⊙ (1 − z) ⊙ (1 − n²);
        ∂/∂(r pre) = δ_n ⊙ (W_hn h' + b_hn) ⊙ r(1 − r); ∂/∂(z pre) = δ ⊙ (h' − n) ⊙ z(1 − z).
        The recurrent product sees δ_n ⊙ r in its n rows (b_hn sits inside r ⊙ (…)), the
        input product sees δ_n itself; ∂L/∂h' = δ ⊙ z + [δ_r, δ_z, δ_n ⊙ r] W_hh.
        """
        hid = self.tr.spec.hidden_size
        ks, kn_all, zs = [], [], []
        for k, d in enumerate(self.dirs):
            r, z, n = self.gate(d, "r"), self.gate(d, "z"), self.gate(d, "n")
            hprev = self.hprev[k]
            steps, batch, _ = hprev.shape
            # W_hn h' + b_hn is not recorded; it is one bulk product over every step.
            w_hn = w.w_hh[k][2 * hid :]  # (H, H_out)
            hn = hprev.reshape(steps * batch, -1) @ w_hn.t()
            if w.b_hh is not None:
                hn += w.b_hh[k][2 * hid :]
            hn = hn.view(steps, batch, hid)
            kn = (1 - z) * (1 - n * n)
            kmat = torch.cat([kn * hn * r * (1 - r), (hprev - n) * z * (1 - z), kn * r], dim=2)
            ks.append(kmat)
            kn_all.append(kn)
            zs.append(z)
        kmat_s, z_s, g = self.stacked(ks), self.stacked(zs), self.stacked(g_ext)
        steps, ndir, batch, _ = kmat_s.shape
        hout = g.shape[-1]
        dh_all = torch.empty_like(g)
        d_rec = torch.empty_like(kmat_s)
        carry = torch.zeros(ndir, batch, hout, dtype=self.dtype)
        # Every step's views made at once (see `rnn`).
        g_s, zs_s, dh_steps, rec_steps = (a.unbind(0) for a in (g, z_s, dh_all, d_rec))
        k3_s = kmat_s.view(steps, ndir, batch, 3, hid).unbind(0)
        rec3_s = d_rec.view(steps, ndir, batch, 3, hid).unbind(0)
        dh_u = dh_all.unsqueeze(3).unbind(0)  # (ndir, batch, 1, hid): δ against 3 gates
        for s in range(steps):
            dh_s = torch.add(g_s[s], carry, out=dh_steps[s])
            torch.mul(k3_s[s], dh_u[s], out=rec3_s[s])
            carry = torch.baddbmm(dh_s * zs_s[s], rec_steps[s], w.w_hh)
            if check is not None and s % 64 == 63:
                check()
        dh_l, rec_l = self.unstack(dh_all), self.unstack(d_rec)
        d_in = []
        for k in range(ndir):
            gi = rec_l[k].clone()
            gi[:, :, 2 * hid :] = dh_l[k] * kn_all[k]
            d_in.append(gi)
        return carry, None, d_in, rec_l, dh_l, None, None

    # ---- LSTM ---------------------------------------------------------------------------
    def lstm(
        self, g_ext: list[torch.Tensor], w: _LayerWeights, check: Callable[[], None] | None
    ) -> tuple:
        """LSTM: c = f ⊙ c' + i ⊙ g, m = o ⊙ tanh c, h = m (or W_hr m with proj_size).

        With δ = ∂L/∂h_t: ∂L/∂m = δ (or δ W_hr); ∂L/∂c_t = ∂L/∂c carried from t+1 (⊙ f_{t+1})
        + ∂L/∂m ⊙ o ⊙ (1 − tanh² c). Pre-activation gradients: i rows ∂L/∂c ⊙ g ⊙ i(1 − i),
        f rows ∂L/∂c ⊙ c' ⊙ f(1 − f), g rows ∂L/∂c ⊙ i ⊙ (1 − g²), o rows
        ∂L/∂m ⊙ tanh c ⊙ o(1 − o). Input and recurrent products see the same rows.
        """
        hid = self.tr.spec.hidden_size
        ks, kcs, fs, ms = [], [], [], []
        for k, d in enumerate(self.dirs):
            i, f, g, o, c = (self.gate(d, n) for n in "ifgoc")
            assert self.c0 is not None
            cprev = previous_h(c, self.c0[k], d == "bwd")
            tc = torch.tanh(c)
            ks.append(
                torch.cat(
                    [g * i * (1 - i), cprev * f * (1 - f), i * (1 - g * g), tc * o * (1 - o)], dim=2
                )
            )
            kcs.append(o * (1 - tc * tc))
            fs.append(f)
            ms.append(o * tc)
        kmat, kc, f_s, g = (self.stacked(a) for a in (ks, kcs, fs, g_ext))
        steps, ndir, batch, _ = kmat.shape
        hout = g.shape[-1]
        proj = w.w_hr  # (D, P, H) or None
        dh_all = torch.empty_like(g)
        dc_all = torch.empty_like(kc)
        da = torch.empty_like(kmat)
        carry_h = torch.zeros(ndir, batch, hout, dtype=self.dtype)
        carry_c = torch.zeros(ndir, batch, hid, dtype=self.dtype)
        # Every step's views made at once (see `rnn`): the i, f, g rows of a step's
        # pre-activation gradient are ∂L/∂c times their factors, the o rows ∂L/∂m times its.
        g_s, kc_s, f_steps = g.unbind(0), kc.unbind(0), f_s.unbind(0)
        dh_steps, dc_steps, da_steps = dh_all.unbind(0), dc_all.unbind(0), da.unbind(0)
        k4, da4 = kmat.view(steps, ndir, batch, 4, hid), da.view(steps, ndir, batch, 4, hid)
        k_ifg, k_o = k4[:, :, :, :3].unbind(0), k4[:, :, :, 3].unbind(0)
        da_ifg, da_o = da4[:, :, :, :3].unbind(0), da4[:, :, :, 3].unbind(0)
        dc_u = dc_all.unsqueeze(3).unbind(0)  # (ndir, batch, 1, hid): ∂L/∂c against 3 gates
        for s in range(steps):
            dh_s = torch.add(g_s[s], carry_h, out=dh_steps[s])
            dm_s = torch.bmm(dh_s, proj) if proj is not None else dh_s
            dc_s = torch.addcmul(carry_c, dm_s, kc_s[s], out=dc_steps[s])
            torch.mul(k_ifg[s], dc_u[s], out=da_ifg[s])
            torch.mul(k_o[s], dm_s, out=da_o[s])
            carry_h = torch.bmm(da_steps[s], w.w_hh)
            carry_c = dc_s * f_steps[s]
            if check is not None and s % 64 == 63:
                check()
        da_l, dh_l = self.unstack(da), self.unstack(dh_all)
        dm_parts = list(zip(dh_l, ms)) if proj is not None else None
        return carry_h, carry_c, da_l, da_l, dh_l, self.unstack(dc_all), dm_parts
