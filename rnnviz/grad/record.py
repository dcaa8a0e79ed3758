"""The gradient record: one forward `Trace`, rnnviz's own gradients and torch's, and the .npz.

A `GradTrace` is a plain record like `Trace`: views only read it. Gradient arrays over time
are time-major `(seq_len, batch, size)` and indexed by input position like the gate arrays
(for the backward direction, index t is the step that read input t). `dx`/`torch_dx` have
the shape and layout of the trace's input (batch-first when the module is).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rnnviz.analysis.shapes import parameter_inventory
from rnnviz.config.spec import Spec
from rnnviz.engine.record import Trace, TraceFileError

LaneKey = tuple[int, str]  # (layer, "fwd"|"bwd")

#: Format version of the gradient part of a .npz file (the trace part keeps its own).
GRAD_VERSION = 1


@dataclass(frozen=True)
class GradTrace:
    """Gradients through time of one loss, rnnviz's recursion beside torch's autograd.

    - `loss`: "last" (Σ output[T−1]), "sum" (Σ output) or "hn" (Σ h_n); `loss_value` is torch's.
    - `trace`: the forward Trace the recursion read.
    - `dh[(layer, dir)]`: (T, B, H_out) total ∂L/∂h_t (through later steps and the layers
      above; with proj_size the projected h); `dc[(layer, dir)]`: (T, B, H) total ∂L/∂c_t (LSTM).
    - `dx` (input's shape), `dh0` (L·D, B, H_out), `dc0` (L·D, B, H) or None, `dparams`
      (torch name → parameter's shape): rnnviz's; `torch_dx`, `torch_dh0`, `torch_dc0`,
      `torch_dparams`: torch.autograd.grad's through the real module.
    - `grad_max_abs_diff`: max |ours − torch's| over all of those; `grad_max_rel_diff`: the
      largest, over those tensors, of max |Δ| / max |torch's value| of the tensor;
      `grad_mismatch`: positions where exactly one side is non-finite (or both, differently).
    - `grad_rtol`: the tolerance `grad_verified` uses (depends on the dtype; see gradients.py).
    - `grad_at_float_limit`: some gradient disagrees beyond `grad_rtol`, and every one that
      does holds values at float's limit (Inf/NaN, or within 2⁻¹⁰ of the largest float),
      where the two sides' summation orders overflow differently: `grad_state` "amber".
    - `cell`: the trace stepped an nn.*Cell (parameter names carry no _l0 suffix).
    """

    trace: Trace
    loss: str
    loss_value: float
    dh: dict[LaneKey, np.ndarray]
    dc: dict[LaneKey, np.ndarray]
    dx: np.ndarray
    dh0: np.ndarray
    dc0: np.ndarray | None
    dparams: dict[str, np.ndarray]
    torch_dx: np.ndarray
    torch_dh0: np.ndarray
    torch_dc0: np.ndarray | None
    torch_dparams: dict[str, np.ndarray]
    grad_max_abs_diff: float
    grad_max_rel_diff: float
    grad_rtol: float
    grad_mismatch: int = 0
    grad_at_float_limit: bool = False
    cell: bool = False
    seconds: float = 0.0
    notes: tuple[str, ...] = field(default=())

    @property
    def spec(self) -> Spec:
        """The traced Spec (the forward trace's)."""
        return self.trace.spec

    @property
    def grad_state(self) -> str:
        """ "ok" when every gradient matches torch's to `grad_rtol` relative to the tensor's
        largest |value| and they agree on every non-finite value; "amber" when they disagree
        only where values reach float's limit (`grad_at_float_limit`, as the forward's
        verdict); else "differs"."""
        if self.grad_max_rel_diff <= self.grad_rtol and self.grad_mismatch == 0:
            return "ok"
        return "amber" if self.grad_at_float_limit else "differs"

    @property
    def grad_verified(self) -> bool:
        """True unless the gradients really disagree with torch (`grad_state` "differs"),
        as the forward's `Trace.verified` counts agreement up to float's limit."""
        return self.grad_state != "differs"

    # ---- derived views ------------------------------------------------------------------
    def norms(self, layer: int, direction: str) -> np.ndarray:
        """‖∂L/∂h_t‖₂ over batch × units for every t: (seq_len,), float64, by input position."""
        a = self.dh[(layer, direction)].astype(np.float64)
        return np.sqrt((a * a).sum(axis=(1, 2)))

    def c_norms(self, layer: int, direction: str) -> np.ndarray:
        """‖∂L/∂c_t‖₂ over batch × units for every t: (seq_len,), float64 (LSTM only)."""
        a = self.dc[(layer, direction)].astype(np.float64)
        return np.sqrt((a * a).sum(axis=(1, 2)))

    def param_grad_by_gate(self, name: str, torch_side: bool = False) -> dict[str, np.ndarray]:
        """∂L/∂(parameter `name`) split by gate rows as the parameter inventory splits them:
        LSTM i|f|g|o, GRU r|z|n, RNN a, weight_hr "proj". gate → rows (H, ...) of the gradient.
        `torch_side` picks torch's gradient instead of rnnviz's."""
        grads = self.torch_dparams if torch_side else self.dparams
        grad = grads[name]
        lookup = name if not self.cell else f"{name}_l0"
        for info in parameter_inventory(self.spec):
            if info.name == lookup:
                return {s.gate: grad[s.rows[0] : s.rows[1]] for s in info.gates}
        raise KeyError(f"{name} is not a parameter of {self.spec.title()}")

    def summary(self) -> str:
        """One line: the forward's verdict and the gradients' in their own words (the
        badges'), and the loss."""
        from rnnviz.grad.text import grad_badge_text  # text builds on this record

        return (
            f"{self.spec.title()}: forward {self.trace.verdict.text}; "
            f"{grad_badge_text(self)}, loss {self.loss} = {self.loss_value:.6g}"
        )

    def __repr__(self) -> str:
        return f"GradTrace({self.summary()})"

    # ---- .npz ---------------------------------------------------------------------------
    def to_arrays(self) -> dict[str, np.ndarray]:
        """Everything `Trace.to_arrays` writes, plus `grad/l<layer>/<dir>/h` and `/c`,
        `grad/input`, `grad/h0`, `grad/c0`, `grad/param/<name>`, torch's own under
        `grad/torch/...` with the same names, `loss` (0-d float64) and `grad/meta` (JSON)."""
        out = self.trace.to_arrays()
        for (layer, d), a in self.dh.items():
            out[f"grad/l{layer}/{d}/h"] = a
        for (layer, d), a in self.dc.items():
            out[f"grad/l{layer}/{d}/c"] = a
        for prefix, dx, dh0, dc0, dp in (
            ("grad", self.dx, self.dh0, self.dc0, self.dparams),
            ("grad/torch", self.torch_dx, self.torch_dh0, self.torch_dc0, self.torch_dparams),
        ):
            out[f"{prefix}/input"] = dx
            out[f"{prefix}/h0"] = dh0
            if dc0 is not None:
                out[f"{prefix}/c0"] = dc0
            for name, a in dp.items():
                out[f"{prefix}/param/{name}"] = a
        out["loss"] = np.array(self.loss_value, dtype=np.float64)
        meta = {
            "version": GRAD_VERSION,
            "loss": self.loss,
            "grad_max_abs_diff": self.grad_max_abs_diff,
            "grad_max_rel_diff": self.grad_max_rel_diff,
            "grad_rtol": self.grad_rtol,
            "grad_mismatch": self.grad_mismatch,
            "grad_at_float_limit": self.grad_at_float_limit,
            "cell": self.cell,
            "seconds": self.seconds,
            "notes": list(self.notes),
        }
        out["grad/meta"] = np.array(json.dumps(meta, sort_keys=True))
        return out

    @classmethod
    def from_arrays(cls, data: dict[str, np.ndarray], where: str = "gradients") -> GradTrace:
        """Inverse of `to_arrays`; a file without gradients or damaged raises TraceFileError."""
        if "grad/meta" not in data:
            raise TraceFileError(f"{where}: no gradients in this file (an rnnviz trace only?)")
        trace_part = {k: v for k, v in data.items() if not k.startswith("grad/") and k != "loss"}
        tr = Trace.from_arrays(trace_part, where)
        try:
            meta: dict[str, Any] = json.loads(str(data["grad/meta"]))
            if meta["version"] > GRAD_VERSION:
                raise TraceFileError(
                    f"{where}: gradient format {meta['version']} is newer "
                    f"than this rnnviz reads ({GRAD_VERSION})"
                )
            dh: dict[LaneKey, np.ndarray] = {}
            dc: dict[LaneKey, np.ndarray] = {}
            for key, a in data.items():
                parts = key.split("/")
                if (
                    len(parts) == 4
                    and parts[0] == "grad"
                    and parts[1].startswith("l")
                    and parts[1][1:].isdigit()
                ):
                    (dh if parts[3] == "h" else dc)[(int(parts[1][1:]), parts[2])] = a

            def side(prefix: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, dict]:
                params = {
                    k[len(prefix) + 7 :]: v
                    for k, v in data.items()
                    if k.startswith(f"{prefix}/param/")
                }
                return (
                    data[f"{prefix}/input"],
                    data[f"{prefix}/h0"],
                    data.get(f"{prefix}/c0"),
                    params,
                )

            dx, dh0, dc0, dp = side("grad")
            tdx, tdh0, tdc0, tdp = side("grad/torch")
            return cls(
                trace=tr,
                loss=str(meta["loss"]),
                loss_value=float(data["loss"]),
                dh=dh,
                dc=dc,
                dx=dx,
                dh0=dh0,
                dc0=dc0,
                dparams=dp,
                torch_dx=tdx,
                torch_dh0=tdh0,
                torch_dc0=tdc0,
                torch_dparams=tdp,
                grad_max_abs_diff=float(meta["grad_max_abs_diff"]),
                grad_max_rel_diff=float(meta["grad_max_rel_diff"]),
                grad_rtol=float(meta["grad_rtol"]),
                grad_mismatch=int(meta["grad_mismatch"]),
                # Files written before the state existed judged such gradients "differs".
                grad_at_float_limit=bool(meta.get("grad_at_float_limit", False)),
                cell=bool(meta["cell"]),
                seconds=float(meta.get("seconds", 0.0)),
                notes=tuple(str(n) for n in meta.get("notes", [])),
            )
        except TraceFileError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise TraceFileError(
                f"{where}: damaged gradients ({type(exc).__name__}: {exc})"
            ) from None
