"""The matrix products of the gate recompute: x @ Wᵀ (+ b) and other + x @ Wᵀ.

On the CPU, torch's `addmm`/`@` go to MKL's sgemm, while torch's own LSTM forward runs
oneDNN; on AVX2 machines without AVX-512 (measured on an AMD EPYC) MKL ran these shapes at
half oneDNN's speed, so the recompute's products alone cost more than the whole forward.
oneDNN's inner-product primitive is reachable on dense tensors through
`torch.ops.mkldnn._linear_pointwise`, which is used here for float32 CPU tensors when the
build has it; everything else (float64, other devices, builds without oneDNN) takes addmm.

Tiny products take addmm too: below SMALL_MACS multiply-adds oneDNN's fixed cost per call
(finding its cached primitive, starting its parallel region) outweighs its faster kernel.

The choice depends only on the tensors' dtype, device and shapes (and on the build, fixed at
import), never on a runtime flag or on which other lanes are computed, so a lane recomputed
later (`complete_lanes`) has the same shapes, takes the same path and gets the same bits as
the full trace (tests/test_lanes.py). Both paths are deterministic for given shapes, and both
are compared with torch's own h_t under the same tolerance: only the round-off of the
products differs between them.

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
    if onednn_takes(x, w):
        return _LINEAR(x, w, b, "none", [], "")
    return torch.addmm(b, x, w.t()) if b is not None else x @ w.t()


def linear_add(x: torch.Tensor, w: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
    """other + x @ wᵀ for x (N, K), w (M, K), other (N, M): (N, M). On the oneDNN path a new
    tensor (the sum is fused into the product: no second pass over memory); on the addmm path
    `other` updated in place (or its aligned copy), so use the returned tensor."""
    x, w, other = _aligned(x), _aligned(w), _aligned(other)
    if onednn_takes(x, w):
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


#: Products of fewer multiply-adds than this take addmm even where oneDNN is used. Measured
#: here (2-core AMD EPYC, float32, medians), oneDNN vs addmm in µs: alone, 400×16×64 23 vs 15,
#: 400×64×64 29 vs 27, 100×28×512 37 vs 38, 100×128×512 72 vs 142; right after a forward, as
#: in a trace, 138 vs 23, 195 vs 45, 183 vs 109, 201 vs 180. So addmm up to a few million.
SMALL_MACS = 2_000_000


def onednn_takes(x: torch.Tensor, w: torch.Tensor) -> bool:
    """Whether the product x @ wᵀ, x (N, K), w (M, K), runs on oneDNN (else addmm)."""
    # Empty operands (no rows, or K = 0) give the same exact result on either path; addmm
    # handles them without asking oneDNN for a zero-sized primitive.
    return uses_onednn(x) and x.shape[0] * x.shape[1] * w.shape[0] >= SMALL_MACS
