"""The trace record: plain arrays from one real forward pass, and its .npz round-trip.

Views only read a Trace; nothing in it is recomputed after it is made. Gate arrays are
time-major `(seq_len, batch, size)` and indexed by input position, so for the backward
direction index t is the step that read input t (its recurrence runs from T-1 down to 0).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnviz.config.spec import Spec, SpecError

GateKey = tuple[int, str, str]  # (layer, "fwd"|"bwd", gate name)
LaneKey = tuple[int, str]  # (layer, "fwd"|"bwd"): one lane of the recurrence

#: Format version of the .npz trace file.
TRACE_VERSION = 1


class TraceFileError(ValueError):
    """A .npz file is not a readable rnnviz trace; the message says why."""


@dataclass(frozen=True)
class Trace:
    """Everything one traced forward pass produced.

    - `tensors`: "input", "h0", "output", "h_n" (+ "c0", "c_n" for LSTM) exactly as torch
      returned them (input/output in the module's batch_first layout).
    - `gates`: (layer, direction, gate) → array (seq_len, batch, size); gate names are
      `spec.trace_gates` (LSTM i f g o c h, GRU r z n h, RNN a h).
    - `params`: torch parameter name → array.
    - `max_abs_diff`: largest |recomputed − torch| over every compared value finite on both
      sides; `max_rel_diff` is it over 1 + the compared tensor's largest |value|;
      `nonfinite_mismatch` counts values where only one side overflowed (or they overflowed
      differently), which happens only at float's limit.
    - `nonfinite`: how many recorded values are Inf or NaN.
    - `pending_lanes`: (layer, direction) lanes whose gates are not recomputed yet (a trace
      made with `lanes=` a subset; `rnnviz.engine.lanes.complete_lanes` fills them in). Such
      a lane holds only torch's own h_t ("h"); its other gates are absent and it is not
      verified: the diff figures cover `verified_lanes` only, and `verified` is False until
      `complete`.
    """

    spec: Spec
    tensors: dict[str, np.ndarray]
    gates: dict[GateKey, np.ndarray]
    params: dict[str, np.ndarray]
    max_abs_diff: float
    max_rel_diff: float = 0.0
    nonfinite: int = 0
    nonfinite_mismatch: int = 0
    source: str = "spec"
    seconds: float = 0.0
    notes: tuple[str, ...] = ()
    pending_lanes: frozenset[LaneKey] = frozenset()

    def gate(self, layer: int, direction: str, name: str) -> np.ndarray:
        """The (seq_len, batch, size) array of gate `name` for (layer, direction)."""
        return self.gates[(layer, direction, name)]

    # ---- lanes (which (layer, direction) recurrences are recomputed and verified) ----------
    @property
    def lanes(self) -> tuple[LaneKey, ...]:
        """Every (layer, direction) of the spec, in state_index order."""
        return tuple((k, d) for k in range(self.spec.num_layers) for d in self.spec.directions)

    @property
    def verified_lanes(self) -> frozenset[LaneKey]:
        """The lanes whose gates are recomputed and compared with torch."""
        return frozenset(self.lanes) - self.pending_lanes

    @property
    def lanes_total(self) -> int:
        """How many lanes the spec has (num_layers × num_directions)."""
        return len(self.lanes)

    @property
    def lanes_verified(self) -> int:
        """How many lanes are recomputed and compared (== lanes_total when complete)."""
        return self.lanes_total - len(self.pending_lanes)

    @property
    def complete(self) -> bool:
        """True when every lane's gates are recomputed and compared."""
        return not self.pending_lanes

    def has_lane(self, layer: int, direction: str) -> bool:
        """Whether (layer, direction)'s gates are recorded (else only its h is, unverified)."""
        return (layer, direction) not in self.pending_lanes

    def _arrays(self) -> list[np.ndarray]:
        return [*self.tensors.values(), *self.gates.values(), *self.params.values()]

    @property
    def recorded_bytes(self) -> int:
        """Bytes of the recorded arrays themselves (what a copy of each would take)."""
        return sum(a.nbytes for a in self._arrays())

    @property
    def nbytes(self) -> int:
        """Bytes of memory the trace keeps alive: every distinct buffer behind its arrays.

        Arrays are often views (the four LSTM gates share one buffer, straight from torch),
        so this can be less than, or a little more than, `recorded_bytes`.
        """
        buffers: dict[int, int] = {}
        for arr in self._arrays():
            base: object = arr
            while isinstance(base, np.ndarray) and base.base is not None:
                base = base.base
            storage = getattr(base, "untyped_storage", None)
            if storage is not None:  # a torch tensor: count its whole storage once
                st = storage()
                buffers[st.data_ptr()] = st.nbytes()
            elif isinstance(base, np.ndarray):
                buffers[id(base)] = base.nbytes
            else:  # some other buffer owner: count the array itself
                buffers[id(arr)] = arr.nbytes
        return sum(buffers.values())

    @property
    def verified(self) -> bool:
        """True when every lane is recomputed (`complete`) and matches torch to float32
        round-off (≤ 1e-4 relative) and agrees on every non-finite value. A partial trace is
        never "verified": `lanes_verified` of `lanes_total` says how far it got."""
        return self.complete and self.max_rel_diff <= 1e-4 and self.nonfinite_mismatch == 0

    def lanes_text(self) -> str:
        """What a partial trace may claim, and no more, e.g. "verified 1 of 8 lanes (layer 0
        fwd); 7 not yet recomputed"; the empty string when complete."""
        if self.complete:
            return ""
        done = ", ".join(f"layer {k} {d}" for k, d in self.lanes if self.has_lane(k, d))
        return (
            f"verified {self.lanes_verified} of {self.lanes_total} lanes"
            + (f" ({done})" if done else "")
            + f"; {len(self.pending_lanes)} not yet recomputed"
        )

    def summary(self) -> str:
        """One line: the spec, the verification figure and any non-finite values."""
        line = (
            f"{self.spec.title()} seq_len={self.spec.seq_len} batch={self.spec.batch_size}: "
            f"max_abs_diff={self.max_abs_diff:.3g}"
        )
        if not self.complete:
            line += f" over {self.lanes_text()}"
        if self.nonfinite:
            line += f", {self.nonfinite} non-finite values (Inf/NaN)"
        if self.nonfinite_mismatch:
            line += (
                f", {self.nonfinite_mismatch} of them overflowed differently in the "
                "recomputation (summation order at float's limit)"
            )
        return line

    # ---- .npz ----------------------------------------------------------------------------
    def to_arrays(self) -> dict[str, np.ndarray]:
        """The flat key → array mapping written to .npz (the `rnnviz trace --out` contract)."""
        out: dict[str, np.ndarray] = {}
        for k, v in self.tensors.items():
            out[k] = v
        for name, v in self.params.items():
            out[f"param/{name}"] = v
        for (layer, d, g), v in self.gates.items():
            out[f"gates/l{layer}/{d}/{g}"] = np.ascontiguousarray(v)
        meta = {
            "version": TRACE_VERSION,
            "spec": self.spec.to_dict(),
            "max_abs_diff": self.max_abs_diff,
            "max_rel_diff": self.max_rel_diff,
            "nonfinite": self.nonfinite,
            "nonfinite_mismatch": self.nonfinite_mismatch,
            "source": self.source,
            "notes": list(self.notes),
        }
        if self.pending_lanes:  # absent from complete traces: files stay as they were
            meta["pending_lanes"] = sorted([k, d] for k, d in self.pending_lanes)
        out["meta"] = np.array(json.dumps(meta, sort_keys=True))
        return out

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the trace to `path` as .npz, atomically (see `rnnviz.io.trace_file`)."""
        from rnnviz.io.trace_file import save_trace  # the notebook's shortcut to the I/O layer

        save_trace(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Trace:
        """Read a trace written by `save`; a damaged or foreign file raises TraceFileError."""
        from rnnviz.io.trace_file import load_trace

        return load_trace(path)

    @classmethod
    def from_arrays(cls, data: dict[str, np.ndarray], where: str = "trace") -> Trace:
        """Inverse of `to_arrays`; anything malformed raises TraceFileError."""
        if "meta" not in data:
            raise TraceFileError(f"{where}: no rnnviz metadata (was it written by rnnviz?)")
        try:
            return cls._from_arrays(data, where)
        except TraceFileError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            # Anything a foreign or hand-edited file can hold: a missing key, a string where a
            # number belongs, a gate key of the wrong form.
            raise TraceFileError(f"{where}: damaged trace ({type(exc).__name__}: {exc})") from None

    @classmethod
    def _from_arrays(cls, data: dict[str, np.ndarray], where: str) -> Trace:
        """`from_arrays` without the catch-all for malformed content."""
        try:
            meta: dict[str, Any] = json.loads(str(data["meta"]))
            version = meta["version"]
            if version > TRACE_VERSION:
                raise TraceFileError(
                    f"{where}: trace format {version} is newer than this "
                    f"rnnviz reads ({TRACE_VERSION})"
                )
            spec = Spec.from_dict(meta["spec"])
        except (KeyError, TypeError, json.JSONDecodeError, SpecError) as exc:
            raise TraceFileError(f"{where}: damaged metadata ({exc})") from None
        tensors, params, gates = {}, {}, {}
        for key, arr in data.items():
            if key.startswith("param/"):
                params[key[6:]] = arr
            elif key.startswith("gates/"):
                _, layer, d, g = key.split("/")
                gates[(int(layer[1:]), d, g)] = arr
            elif key != "meta":
                tensors[key] = arr
        return cls(
            spec=spec,
            tensors=tensors,
            gates=gates,
            params=params,
            max_abs_diff=float(meta["max_abs_diff"]),
            max_rel_diff=float(meta.get("max_rel_diff", 0.0)),
            nonfinite=int(meta.get("nonfinite", 0)),
            nonfinite_mismatch=int(meta.get("nonfinite_mismatch", 0)),
            source=str(meta.get("source", "")),
            notes=tuple(str(n) for n in meta.get("notes", [])),
            pending_lanes=frozenset((int(k), str(d)) for k, d in meta.get("pending_lanes", [])),
        )
