"""The matrix products of the gate recompute: x @ Wᵀ (+ b) and other + x @ Wᵀ.

On the CPU, torch's `addmm`/`@` go to MKL's sgemm, while torch's own LSTM forward runs
oneDNN; on AVX2 machines without AVX-512 (measured on an AMD EPYC) MKL ran these shapes at
half oneDNN's speed, so the recompute's products alone cost more than the whole forward.
oneDNN's inner-product primitive is reachable on dense tensors through
`torch.ops.mkldnn._linear_pointwise`, which is used here for float32 CPU tensors when the
build has it; everything else (float64, other devices, builds without oneDNN) takes addmm.

The choice depends only on the tensors' dtype and device (and on the build, fixed at import),
never on their shapes or on a runtime flag, so a lane recomputed later (`complete_lanes`)
takes the same path and gets the same bits as the full trace (tests/test_lanes.py). Both
paths are deterministic for given shapes, and both are compared with torch's own h_t under
the same tolerance: only the round-off of the products differs between them.

Neither path is blind to memory layout: MKL's addmm rounds differently when an operand sits
at an offset that is not a multiple of 16 or 32 bytes (measured: float64 x or w shifted by
8 bytes, float32 x by 4 or 8), and a lane recomputed later reads numpy arrays and parameter
views at arbitrary offsets. So every operand is first made dense and 64-byte aligned (a copy
only when it is not: torch's own CPU allocations already are), and a product's bits depend
on the values and shapes alone.
"""

from __future__ import annotations

from typing import Any

import torch


def _onednn_op() -> Any:
    """oneDNN's dense linear op, or None when this torch build lacks it."""
    if not torch.backends.mkldnn.is_available():
        return None
    try:
        op = torch.ops.mkldnn._linear_pointwise
        op.default, op.binary  # noqa: B018 — resolving both overloads is the check
    except (AttributeError, RuntimeError):
        return None
    return op


_LINEAR = _onednn_op()


def uses_onednn(t: torch.Tensor) -> bool:
    """Whether products with `t` go through oneDNN (float32 on the CPU, oneDNN in the build)."""
    return _LINEAR is not None and t.dtype == torch.float32 and t.device.type == "cpu"


def linear(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None = None) -> torch.Tensor:
    """x @ wᵀ + b for x (N, K), w (M, K), b (M,) or None: a new contiguous (N, M) tensor."""
    x, w = _aligned(x), _aligned(w)
    b = _aligned(b) if b is not None else None
    if _dense(x, w):
        return _LINEAR(x, w, b, "none", [], "")
    return torch.addmm(b, x, w.t()) if b is not None else x @ w.t()


def linear_add(x: torch.Tensor, w: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
    """other + x @ wᵀ for x (N, K), w (M, K), other (N, M): (N, M). On the oneDNN path a new
    tensor (the sum is fused into the product: no second pass over memory); on the addmm path
    `other` updated in place (or its aligned copy), so use the returned tensor."""
    x, w, other = _aligned(x), _aligned(w), _aligned(other)
    if _dense(x, w):
        return _LINEAR.binary(x, other, w, None, "add")
    return other.addmm_(x, w.t())


#: Bytes an operand's first element is aligned to (torch's CPU allocator's own alignment).
ALIGN = 64


def _aligned(t: torch.Tensor) -> torch.Tensor:
    """`t` itself when dense and ALIGN-aligned, else a dense aligned copy."""
    if t.is_contiguous() and t.data_ptr() % ALIGN == 0:
        return t
    out = torch.empty(t.shape, dtype=t.dtype, device=t.device)
    return out.copy_(t)


def _dense(x: torch.Tensor, w: torch.Tensor) -> bool:
    # Empty operands (no rows, or K = 0) give the same exact result on either path; addmm
    # handles them without asking oneDNN for a zero-sized primitive.
    return uses_onednn(x) and x.numel() > 0 and w.numel() > 0
