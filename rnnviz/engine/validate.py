"""Up-front checks of what the notebook API `trace(module, x, hx)` is given.

torch's own errors about a wrong call are about its internals ("mat1 and mat2 shapes cannot
be multiplied", "MatrixRef: ArrayRef size 5 not divisible by stride 4"), and for some wrong
states (an h0 with extra layer rows) torch's fused kernel used per layer does not object at
all, though calling the module would. These checks run before any torch work and say which
argument, which dimension, what was expected and what was given; a trace exists only where
`module(x, hx)` itself would be accepted.

- `x` may be a tensor, a numpy array or a (nested) list of numbers: the last two are turned
  into a tensor of the module's dtype on its device (`as_input`). A PackedSequence is
  handled by `rnnviz.engine.tracing.trace` (one trace per sequence, each to its own length).
- Half precision (float16, bfloat16) is refused up front: the recomputed gates could only be
  compared with torch to about 1e-2, too loose to call anything verified.
- x and the states must have the module's dtype and device.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

HALF = (torch.float16, torch.bfloat16)


class TraceInputError(ValueError):
    """The arguments given to `trace` are not a call torch accepts; the message names the
    argument, the dimension, what was expected and what was given."""


def _param(module: nn.Module) -> torch.Tensor:
    return next(module.parameters())


def as_input(module: nn.Module, x: Any, name: str = "x") -> torch.Tensor:
    """`x` as a tensor: a tensor as is; a numpy array or list converted to the module's dtype
    and device. TraceInputError for anything else (a dict, a string, ragged lists)."""
    if isinstance(x, torch.Tensor):
        return x
    p = _param(module)
    if isinstance(x, (np.ndarray, list, tuple)):
        try:
            arr = np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TraceInputError(
                f"{name}: cannot be read as an array of numbers ({exc}); give a tensor"
            ) from None
        return torch.as_tensor(arr, dtype=p.dtype, device=p.device)
    raise TraceInputError(
        f"{name}: expected a torch.Tensor (or a numpy array, list or PackedSequence), "
        f"got {type(x).__name__}"
    )


def _check_tensor(module: nn.Module, t: Any, name: str) -> torch.Tensor:
    if not isinstance(t, torch.Tensor):
        raise TraceInputError(f"{name}: expected a torch.Tensor, got {type(t).__name__}")
    p = _param(module)
    if t.dtype in HALF or p.dtype in HALF:
        which = name if t.dtype in HALF else "the module's weights"
        raise TraceInputError(
            f"{which}: half precision ({t.dtype if t.dtype in HALF else p.dtype}) is not "
            "traced: its round-off (~1e-2) is too large to verify the recomputed gates; "
            "convert with module.float() and x.float()"
        )
    if not t.is_floating_point():
        raise TraceInputError(f"{name}: expected floating-point values, got {t.dtype}")
    if t.dtype != p.dtype:
        raise TraceInputError(
            f"{name}: dtype {t.dtype} differs from the module's weights ({p.dtype}); "
            f"convert one of them (e.g. x.to({p.dtype}))"
        )
    if t.device != p.device:
        raise TraceInputError(f"{name}: on {t.device}, but the module's weights are on {p.device}")
    return t


def _expect(name: str, t: torch.Tensor, shape: tuple[int, ...], dims: tuple[str, ...]) -> None:
    """TraceInputError naming the first dimension of `t` that is not `shape`."""
    if t.dim() != len(shape):
        raise TraceInputError(
            f"{name}: expected {len(shape)}-D ({', '.join(dims)}) = {shape}, "
            f"got {t.dim()}-D {tuple(t.shape)}"
        )
    for i, (want, got) in enumerate(zip(shape, t.shape)):
        if want != got:
            raise TraceInputError(
                f"{name}: dimension {i} ({dims[i]}) must be {want}, got {got} "
                f"(expected shape {shape}, given {tuple(t.shape)})"
            )


def check_call(module: nn.Module, x: torch.Tensor, hx: Any, cell_batch_first: bool = False) -> None:
    """Raise TraceInputError unless `module(x, hx)` is a call torch accepts (see module
    docstring); x is (T, B, I) / (B, T, I) with batch_first / (T, I) unbatched for a module,
    (T, B, I) or (T, I) for a *Cell stepped over T — (B, T, I) when `cell_batch_first` says
    the loop steps x[:, t]."""
    _check_tensor(module, x, "x")
    is_cell = not isinstance(module, nn.RNNBase)
    input_size = int(module.input_size)  # type: ignore[arg-type]
    hidden = int(module.hidden_size)  # type: ignore[arg-type]
    if x.dim() not in (2, 3):
        raise TraceInputError(
            f"x: expected 3-D (seq_len, batch, input_size) or 2-D (seq_len, input_size) "
            f"unbatched, got {x.dim()}-D {tuple(x.shape)}"
        )
    if x.shape[-1] != input_size:
        raise TraceInputError(
            f"x: dimension {x.dim() - 1} (input_size) must be {input_size}, got "
            f"{x.shape[-1]} (shape {tuple(x.shape)})"
        )
    if x.numel() == 0:
        raise TraceInputError(f"x: has no values (shape {tuple(x.shape)}); nothing to trace")
    batched = x.dim() == 3
    batch_first = cell_batch_first if is_cell else bool(getattr(module, "batch_first", False))
    batch = int(x.shape[0] if batch_first else x.shape[1]) if batched else 0
    lstm = isinstance(module, (nn.LSTM, nn.LSTMCell))
    if hx is None:
        return
    if lstm:
        if not isinstance(hx, (tuple, list)) or len(hx) != 2:
            raise TraceInputError(
                f"hx: an LSTM takes a pair (h0, c0), got {type(hx).__name__}"
                + (f" of {len(hx)}" if isinstance(hx, (tuple, list)) else "")
            )
        states = [("h0", hx[0]), ("c0", hx[1])]
    else:
        if isinstance(hx, (tuple, list)):
            raise TraceInputError(
                f"hx: {type(module).__name__} takes one tensor h0, got a {type(hx).__name__}"
            )
        states = [("h0", hx)]
    if is_cell:
        out = {"h0": hidden, "c0": hidden}
        for name, t in states:
            _check_tensor(module, t, name)
            if batched:
                _expect(name, t, (batch, out[name]), ("batch", "hidden_size"))
            else:
                _expect(name, t, (out[name],), ("hidden_size",))
        return
    rows = int(module.num_layers) * (2 if module.bidirectional else 1)  # type: ignore[arg-type]
    proj = int(getattr(module, "proj_size", 0) or 0)
    sizes = {"h0": proj or hidden, "c0": hidden}
    labels = {"h0": "proj_size" if proj else "hidden_size", "c0": "hidden_size"}
    for name, t in states:
        _check_tensor(module, t, name)
        if batched:
            _expect(
                name,
                t,
                (rows, batch, sizes[name]),
                ("num_layers × num_directions", "batch", labels[name]),
            )
        else:
            _expect(name, t, (rows, sizes[name]), ("num_layers × num_directions", labels[name]))
