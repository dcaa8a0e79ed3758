"""The trace record: plain arrays from one real forward pass, and its .npz round-trip.

Views only read a Trace; nothing in it is recomputed after it is made. Gate arrays are
time-major `(seq_len, batch, size)` and indexed by input position, so for the backward
direction index t is the step that read input t (its recurrence runs from T-1 down to 0).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from rnnviz.config.api import CELL, MODULE, title
from rnnviz.config.spec import Spec
from rnnviz.engine.trace_checks import (
    TRACE_VERSION,
    LaneKey,
    TraceFileError,
    _api,
    _count,
    _figure,
    _pending,
    _shape_of,
    _text,
    check_shapes,
    read_meta,
)
from rnnviz.engine.verdict import Verdict, identity_diffs, judge

__all__ = ["TRACE_VERSION", "GateKey", "LaneKey", "Trace", "TraceFileError"]

GateKey = tuple[int, str, str]  # (layer, "fwd"|"bwd", gate name)


@dataclass(frozen=True, repr=False)
class Trace:
    """Everything one traced forward pass produced.

    - `tensors`: for a module call (`api` "module") "input", "h0", "output", "h_n" (+ "c0",
      "c_n" for LSTM) exactly as torch returned them (input/output in the module's
      batch_first layout). For a *Cell stepped over time (`api` "cell"): "input" x as the
      loop holds it (T, B, I), or (B, T, I) with batch_first; "h0" the hx the first call
      took, (B, H) (+ "c0" cx); "h_t" what each call returned, stacked (T, B, H) (+ "c_t").
    - `gates`: (layer, direction, gate) → array (seq_len, batch, size); gate names are
      `spec.trace_gates` (LSTM i f g o c h, GRU r z n h, RNN a h).
    - `params`: torch parameter name → array.
    - `max_abs_diff`: largest |recomputed − torch| over every compared value finite on both
      sides; `max_rel_diff` is it over 1 + the compared tensor's largest |value|, and for
      a time-major pair with any |Δ| above the tolerance, each step's gap over 1 + the
      largest |value| of its batch row at steps t-1…t+1 (rnnviz.engine.recompute.judge_steps);
      `nonfinite_mismatch` counts values where only one side overflowed (or they overflowed
      differently), which happens only at float's limit; `at_float_limit` is True when
      every disagreement beyond round-off lies in values that reach float's limit.
    - `nonfinite`: how many recorded values are Inf or NaN.
    - `api`: "module" (nn.RNN/LSTM/GRU called once) or "cell" (a *Cell called per step).
    - `verdict`: the one judgement of all this (rnnviz.engine.verdict), computed once.
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
    at_float_limit: bool = False
    api: str = MODULE

    def __repr__(self) -> str:
        """A few lines (under 2,000 characters): spec, verdict, array shapes."""
        from rnnviz.engine.record_repr import trace_repr

        return trace_repr(self)

    def _repr_html_(self) -> str:
        """The same as an HTML table, for Jupyter."""
        from rnnviz.engine.record_repr import trace_html

        return trace_html(self)

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

    @cached_property
    def verdict(self) -> Verdict:
        """The one verdict on this trace (state, figures, text), computed once."""
        return judge(
            self.max_abs_diff,
            self.max_rel_diff,
            self.nonfinite,
            self.nonfinite_mismatch,
            self.at_float_limit,
            identity_diffs(self.spec, self.tensors, self.api),
            self.lanes_text(),
        )

    @property
    def verified(self) -> bool:
        """True when every lane is recomputed (`complete`) and the verdict is not "differs":
        the recomputation matches torch to float32 round-off, or differs only where values
        reach float's limit (`verdict` says which). A partial trace is never "verified":
        `lanes_verified` of `lanes_total` says how far it got."""
        return self.complete and self.verdict.agrees

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

    @property
    def title(self) -> str:
        """The constructor torch ran: `RNN(4, 2)` for a module, `RNNCell(4, 2)` for a Cell."""
        return title(self.spec, self.api)

    def summary(self) -> str:
        """One line: what ran, on what, and the verdict (the same text the window shows)."""
        spec = self.spec
        if self.api == CELL:
            layout = "(batch, seq, input)" if spec.batch_first else "(seq, batch, input)"
            ran = (
                f"{self.title} called {spec.seq_len}× over x {layout} = "
                f"{tuple(self.tensors['input'].shape)}, batch={spec.batch_size}"
            )
        else:
            ran = f"{self.title} seq_len={spec.seq_len} batch={spec.batch_size}"
        line = f"{ran}: {self.verdict.text}"
        if self.nonfinite and self.verdict.state != "partial":
            line += f" ({self.nonfinite} Inf/NaN values recorded)"
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
            "at_float_limit": self.at_float_limit,
            "api": self.api,
        }
        if self.pending_lanes:  # absent from complete traces: files stay as they were
            meta["pending_lanes"] = sorted([k, d] for k, d in self.pending_lanes)
        out["meta"] = np.array(json.dumps(meta, sort_keys=True))
        return out

    @classmethod
    def from_arrays(cls, data: dict[str, np.ndarray], where: str = "trace") -> Trace:
        """Inverse of `to_arrays`; anything malformed raises TraceFileError.

        Checked: the metadata (a known version ≥ 1, counts whole and ≥ 0, figures numbers),
        every array is a numeric ndarray, and the set of keys and every shape is exactly what
        the file's own spec gives (`expected_shapes`), so a file whose arrays contradict its
        spec is refused rather than shown as verified.
        """
        if "meta" not in data:
            raise TraceFileError(f"{where}: no rnnviz metadata (was it written by rnnviz?)")
        try:
            return cls._from_arrays(data, where)
        except TraceFileError:
            raise
        except (
            KeyError,
            TypeError,
            ValueError,
            AttributeError,
            OverflowError,
            RecursionError,
        ) as exc:
            # Anything a foreign or hand-edited file can hold: a missing key, a string where a
            # number belongs, a gate key of the wrong form, Infinity in a count, deep nesting.
            raise TraceFileError(f"{where}: damaged trace ({type(exc).__name__}: {exc})") from None

    @classmethod
    def _from_arrays(cls, data: dict[str, np.ndarray], where: str) -> Trace:
        """`from_arrays` without the catch-all for malformed content."""
        meta, spec = read_meta(data["meta"], where)
        source = _text(meta.get("source", ""), "source", where)
        api = _api(meta.get("api", MODULE), where)
        shapes = {k: _shape_of(v, k, where) for k, v in data.items()}
        check_shapes(spec, source, shapes, where, api, _pending(meta, where))
        tensors, params, gates = {}, {}, {}
        for key, arr in data.items():
            if key.startswith("param/"):
                params[key[6:]] = arr
            elif key.startswith("gates/"):
                _, layer, d, g = key.split("/")
                gates[(int(layer[1:]), d, g)] = arr
            elif key != "meta":
                tensors[key] = arr
        notes = meta.get("notes", [])
        if not isinstance(notes, list):
            raise TraceFileError(f"{where}: damaged metadata (notes must be a list)")
        return cls(
            spec=spec,
            tensors=tensors,
            gates=gates,
            params=params,
            max_abs_diff=_figure(meta["max_abs_diff"], "max_abs_diff", where),
            max_rel_diff=_figure(meta.get("max_rel_diff", 0.0), "max_rel_diff", where),
            nonfinite=_count(meta.get("nonfinite", 0), "nonfinite", where),
            nonfinite_mismatch=_count(
                meta.get("nonfinite_mismatch", 0), "nonfinite_mismatch", where
            ),
            source=source,
            notes=tuple(_text(n, "notes", where) for n in notes),
            at_float_limit=bool(meta.get("at_float_limit", False)),
            api=api,
            pending_lanes=_pending(meta, where),
        )
