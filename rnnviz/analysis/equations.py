"""The cell's equations with one unit's live numbers substituted in, checked against the trace.

For the selected (layer, direction, t, unit, batch row) every equation of the cell — LSTM six
(seven with proj_size), GRU four, RNN two (pre-activation and h) — is written in PyTorch's
notation and evaluated again, in float64, from the trace's own parameters and the values the
equation reads (x_t, h_{t−1}, c_{t−1} and the other gates at t, all as recorded). Each line
carries that result, the trace's recorded value and their difference, so every number the
Equations view prints is both torch's and checked. numpy only: no torch, no Qt.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rnnviz.config.spec import WEIGHT_GATES, Spec
from rnnviz.engine.record import Trace


@dataclass(frozen=True)
class Term:
    """One summand of a pre-activation, e.g. ('W_if·x_t', 0.1234)."""

    label: str
    value: float
    magnitude: float = 0.0  # Σ|w_j v_j| of a dot product (|b| of a bias): its rounding scale
    #: The previous state a recurrent term reads ("h0", or "h_3"; "" for other terms), so
    #: views can say which step is read without parsing the label.
    reads: str = ""


@dataclass(frozen=True)
class EquationLine:
    """One equation for one unit: symbolic form, numbers, recomputed and recorded values."""

    gate: str  # i f g o c h (LSTM), r z n h (GRU), a h (RNN), m (LSTM o⊙tanh c with proj)
    symbolic: str  # e.g. "f_t = σ(W_if x_t + b_if + W_hf h_{t−1} + b_hf)"
    numeric: str  # the right-hand side with this unit's numbers
    recomputed: float  # evaluated here in float64
    recorded: float  # what the trace holds (torch's value, or the verified recomputation)
    unit: int  # the unit of this line (h with proj_size has fewer units than the gates)
    terms: tuple[Term, ...] = ()
    magnitude: float = 0.0  # the size of what was summed: cancellation keeps its rounding
    #: Whose value `recorded` is: "torch" (h_t; a Cell's c_t) or "rnnviz" — gate
    #: pre-activations and a module's c_t, which torch never returns, are rnnviz's
    #: recomputation from the weights (verified through the h and c_n torch does return).
    recorded_by: str = "torch"
    #: True when a recorded value this line reads (a recomputed a, c_t or gate) is Inf/NaN.
    reads_nonfinite: bool = False

    @property
    def diff(self) -> float:
        """|recomputed − recorded|; 0 when both are the same non-finite value."""
        return value_diff(self.recomputed, self.recorded)

    @property
    def rel_diff(self) -> float:
        """diff ÷ (1 + the larger of |recorded| and the summed magnitude): float32 keeps ~7
        significant digits of what it adds up, so an exploding value of 1e30 — or a small
        result of cancelling 1e9-sized products — agrees only to that scale."""
        d = self.diff
        scale = max(abs(self.recorded), self.magnitude)
        return d / (1.0 + scale) if math.isfinite(scale) else d

    @property
    def overflowed(self) -> bool:
        """True when a value of this equation is Inf or NaN: at float's limit the order of
        summation decides between Inf, NaN and a number, so a disagreement is expected."""
        return self.reads_nonfinite or not (
            math.isfinite(self.recomputed)
            and math.isfinite(self.recorded)
            and all(math.isfinite(t.value) for t in self.terms)
        )


def value_diff(a: float, b: float) -> float:
    """|a − b| that treats NaN == NaN and inf == inf of one sign as equal (difference 0)."""
    if math.isnan(a) and math.isnan(b):
        return 0.0
    if math.isinf(a) or math.isinf(b):
        return 0.0 if a == b else math.inf
    if math.isnan(a) or math.isnan(b):
        return math.nan
    return abs(a - b)


def fmt(v: float, digits: int = 6) -> str:
    """A value with `digits` significant digits (6 for an equation; 8 shows every digit of a
    float32); 'inf', '-inf', 'nan' as such."""
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return f"{v:.{digits}g}"


def fmt_diff(d: float) -> str:
    """A difference in scientific notation ('0' when exact)."""
    if d == 0:
        return "0"
    return fmt(d) if not math.isfinite(d) else f"{d:.1e}"


def max_abs_diff(lines: list[EquationLine]) -> float:
    """The largest |recomputed − recorded| over `lines` (NaN-aware, see value_diff)."""
    return max((line.diff for line in lines), default=0.0)


def max_rel_diff(lines: list[EquationLine]) -> float:
    """The largest EquationLine.rel_diff over `lines`."""
    return max((line.rel_diff for line in lines), default=0.0)


def _sigmoid(v: float) -> float:
    if v >= 0:
        return 1.0 / (1.0 + math.exp(-v))
    e = math.exp(v)
    return e / (1.0 + e)


def _tanh(v: float) -> float:
    return math.tanh(v) if not math.isnan(v) else math.nan


def _dot(w: np.ndarray, v: np.ndarray) -> float:
    with np.errstate(all="ignore"):
        return float(np.dot(w.astype(np.float64), v.astype(np.float64)))


def _absdot(w: np.ndarray, v: np.ndarray) -> float:
    with np.errstate(all="ignore"):
        return float(np.dot(np.abs(w.astype(np.float64)), np.abs(v.astype(np.float64))))


def _add(*values: float) -> float:
    with np.errstate(all="ignore"):
        return float(np.sum(np.array(values, dtype=np.float64)))


class _Cell:
    """What one (layer, direction, t, batch) step reads, taken from the trace."""

    def __init__(self, trace: Trace, layer: int, direction: str, t: int, batch: int) -> None:
        spec = trace.spec
        self.spec, self.trace = spec, trace
        self.layer, self.direction, self.t, self.batch = layer, direction, t, batch
        d = spec.directions.index(direction)
        self.index = spec.state_index(layer, d)
        suffix = f"_l{layer}" + ("_reverse" if d else "")
        # A stepped nn.*Cell names its parameters without the _l0 suffix.
        self.p = {
            k: trace.params.get(
                f"{k}{suffix}", trace.params.get(k) if not d and not layer else None
            )
            for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")
        }
        self.x = self._x()
        first = t == (spec.seq_len - 1 if d else 0)
        prev_t = t + 1 if d else t - 1
        cell_api = trace.api == "cell"
        # A Cell's hx is (batch, H); a module's h0 is (layers × directions, batch, H).
        at = (batch,) if cell_api else (self.index, batch)
        self.h_prev = trace.tensors["h0"][at] if first else self.gate("h", prev_t)
        self.c_prev: np.ndarray | None = None
        if spec.cell == "lstm":
            self.c_prev = trace.tensors["c0"][at] if first else self.gate("c", prev_t)
        self.prev = ("hx" if cell_api else "h0") if first else f"h_{prev_t}"
        self.dtype = trace.gates[(layer, direction, "h")].dtype

    def _x(self) -> np.ndarray:
        spec, tr = self.spec, self.trace
        if self.layer == 0:
            x = tr.tensors["input"]
            return x[self.batch, self.t] if spec.batch_first else x[self.t, self.batch]
        below = [tr.gates[(self.layer - 1, d, "h")][self.t, self.batch] for d in spec.directions]
        return np.concatenate(below) if len(below) > 1 else below[0]

    def gate(self, name: str, t: int | None = None) -> np.ndarray:
        """The recorded vector of gate `name` at step t (default: this step)."""
        step = self.t if t is None else t
        return self.trace.gates[(self.layer, self.direction, name)][step, self.batch]

    def pre(self, k: int, unit: int, key: str) -> tuple[list[Term], float, float]:
        """Terms of gate row k·H + unit: (terms, input part, recurrent part incl. biases).

        `key` names the gate in PyTorch's notation: W_i{key}, b_i{key}, W_h{key}, b_h{key}
        ('f' → W_if …; the Elman RNN's 'h' → W_ih, b_ih, W_hh, b_hh)."""
        row = k * self.spec.hidden_size + unit
        wx = _dot(self.p["weight_ih"][row], self.x)  # type: ignore[index]
        wh = _dot(self.p["weight_hh"][row], self.h_prev)  # type: ignore[index]
        bi = float(self.p["bias_ih"][row]) if self.p["bias_ih"] is not None else None
        bh = float(self.p["bias_hh"][row]) if self.p["bias_hh"] is not None else None
        terms = [Term(f"W_i{key}·x_t", wx, _absdot(self.p["weight_ih"][row], self.x))]  # type: ignore[index]
        if bi is not None:
            terms.append(Term(f"b_i{key}", bi, abs(bi)))
        w_hh = self.p["weight_hh"]
        assert w_hh is not None  # every cell has recurrent weights
        terms.append(
            Term(f"W_h{key}·{self.prev}", wh, _absdot(w_hh[row], self.h_prev), reads=self.prev)
        )
        if bh is not None:
            terms.append(Term(f"b_h{key}", bh, abs(bh)))
        return terms, _add(wx, bi or 0.0), _add(wh, bh or 0.0)


def _line(
    cell: _Cell,
    gate: str,
    symbolic: str,
    numeric: str,
    value: float,
    recorded: float,
    unit: int,
    terms: tuple[Term, ...] = (),
    magnitude: float | None = None,
    reads: tuple[float, ...] = (),
) -> EquationLine:
    """An EquationLine whose recomputed value is rounded to the trace's float type, as
    torch's would be: a float64 sum beyond float32's range is Inf there, as in torch.
    `magnitude` defaults to the terms' summed magnitudes."""
    with np.errstate(over="ignore"):
        rounded = float(cell.dtype.type(value))
    if math.isfinite(value) and not math.isfinite(rounded):
        numeric += f"  → {fmt(rounded)} in {cell.dtype.name} (beyond its largest value)"
    value = rounded
    if magnitude is None:
        magnitude = _add(*(t.magnitude for t in terms)) if terms else 0.0
    by = recorded_by(cell.trace, gate)
    bad = not all(math.isfinite(v) for v in reads)
    return EquationLine(gate, symbolic, numeric, value, recorded, unit, terms, magnitude, by, bad)


def recorded_by(trace: Trace, gate: str) -> str:
    """Whose recorded value gate `gate` is: "torch" for h (and a stepped Cell's c, which
    each call returns), "rnnviz" for what torch never exposes: the gate pre-activations and
    activations (a, i f g o, r z n) and a module's per-step c_t, recomputed from the weights."""
    if gate == "h" or (gate == "c" and trace.api == "cell"):
        return "torch"
    return "rnnviz"


def _sum_text(terms: list[Term]) -> str:
    return " + ".join(
        fmt(term.value)
        if term.value >= 0 or not math.isfinite(term.value)
        else f"({fmt(term.value)})"
        for term in terms
    )


def _bias_text(spec: Spec, key: str, side: str) -> str:
    return f" + b_{side}{key}" if spec.bias else ""


def _gate_line(cell: _Cell, k: int, key: str, unit: int, act: str) -> EquationLine:
    """σ or tanh of W_i· x_t + b_i· + W_h· h_{t−1} + b_h· (one of the stacked gate rows)."""
    spec = cell.spec
    terms, xi, hh = cell.pre(k, unit, key)
    total = _add(xi, hh)
    value = _sigmoid(total) if act == "σ" else _tanh(total)
    symbolic = (
        f"{key}_t = {act}(W_i{key} x_t{_bias_text(spec, key, 'i')} + W_h{key} h_(t−1)"
        f"{_bias_text(spec, key, 'h')})"
    )
    numeric = f"{act}({_sum_text(terms)}) = {act}({fmt(total)}) = {fmt(value)}"
    return _line(
        cell, key, symbolic, numeric, value, float(cell.gate(key)[unit]), unit, tuple(terms)
    )


def _lstm(cell: _Cell, unit: int) -> list[EquationLine]:
    spec = cell.spec
    lines = [
        _gate_line(cell, k, g, unit, "tanh" if g == "g" else "σ")
        for k, g in enumerate(WEIGHT_GATES["lstm"])
    ]
    i, f, g, o = (float(cell.gate(n)[unit]) for n in "ifgo")
    assert cell.c_prev is not None
    c_prev = float(cell.c_prev[unit])
    with np.errstate(all="ignore"):
        c = float(np.float64(f) * c_prev + np.float64(i) * g)
    lines.append(
        _line(
            cell,
            "c",
            "c_t = f_t ⊙ c_(t−1) + i_t ⊙ g_t",
            f"{fmt(f)} × {fmt(c_prev)} + {fmt(i)} × {fmt(g)} = {fmt(c)}",
            c,
            float(cell.gate("c")[unit]),
            unit,
            magnitude=abs(f * c_prev) + abs(i * g),
            reads=(f, c_prev, i, g),
        )
    )
    c_rec = float(cell.gate("c")[unit])
    if not spec.proj_size:
        h = o * _tanh(c_rec)
        lines.append(
            _line(
                cell,
                "h",
                "h_t = o_t ⊙ tanh(c_t)",
                f"{fmt(o)} × tanh({fmt(c_rec)}) = {fmt(o)} × {fmt(_tanh(c_rec))} = {fmt(h)}",
                h,
                float(cell.gate("h")[unit]),
                unit,
                magnitude=lines[-1].magnitude,
                reads=(o, c_rec),
            )
        )
        return lines
    # With proj_size, h_t = W_hr (o_t ⊙ tanh c_t) mixes every unit: the line shows h's unit
    # (the selected unit, clamped to proj_size) as its row of W_hr times the whole vector.
    with np.errstate(all="ignore"):
        m = cell.gate("o").astype(np.float64) * np.tanh(cell.gate("c").astype(np.float64))
    pu = min(unit, spec.proj_size - 1)
    h = _dot(cell.p["weight_hr"][pu], m)  # type: ignore[index]
    lines.append(
        _line(
            cell,
            "h",
            "h_t = W_hr (o_t ⊙ tanh(c_t)) (proj_size: h has "
            f"{spec.proj_size} units, c has {spec.hidden_size})",
            f"Σ_j W_hr[{pu}, j] · o_t[j] tanh(c_t[j]) = {fmt(h)}   "
            f"(unit {unit}'s term: {fmt(o)} × tanh({fmt(c_rec)}) = {fmt(float(m[unit]))})",
            h,
            float(cell.gate("h")[pu]),
            pu,
            magnitude=_absdot(cell.p["weight_hr"][pu], m),  # type: ignore[index]
        )
    )
    return lines


def _gru(cell: _Cell, unit: int) -> list[EquationLine]:
    spec = cell.spec
    lines = [_gate_line(cell, 0, "r", unit, "σ"), _gate_line(cell, 1, "z", unit, "σ")]
    r = float(cell.gate("r")[unit])
    terms, xi, hh = cell.pre(2, unit, "n")
    with np.errstate(all="ignore"):
        inner = float(np.float64(r) * hh)
    total = _add(xi, inner)
    n = _tanh(total)
    b_in = _bias_text(spec, "n", "i")
    b_hn = _bias_text(spec, "n", "h")
    x_part = _sum_text([t for t in terms if t.label.startswith(("W_in", "b_in"))])
    h_part = _sum_text([t for t in terms if t.label.startswith(("W_hn", "b_hn"))])
    lines.append(
        _line(
            cell,
            "n",
            f"n_t = tanh(W_in x_t{b_in} + r_t ⊙ (W_hn h_(t−1){b_hn}))",
            f"tanh({x_part} + {fmt(r)} × ({h_part})) = tanh({fmt(total)}) = {fmt(n)}",
            n,
            float(cell.gate("n")[unit]),
            unit,
            tuple(terms),
        )
    )
    z, n_rec = float(cell.gate("z")[unit]), float(cell.gate("n")[unit])
    hp = float(cell.h_prev[unit])
    with np.errstate(all="ignore"):
        h = float((1.0 - np.float64(z)) * n_rec + np.float64(z) * hp)
    lines.append(
        _line(
            cell,
            "h",
            "h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_(t−1)",
            f"(1 − {fmt(z)}) × {fmt(n_rec)} + {fmt(z)} × {fmt(hp)} = {fmt(h)}",
            h,
            float(cell.gate("h")[unit]),
            unit,
            magnitude=abs((1 - z) * n_rec) + abs(z * hp),
            reads=(z, n_rec, hp),
        )
    )
    return lines


def _rnn(cell: _Cell, unit: int) -> list[EquationLine]:
    spec = cell.spec
    terms, xi, hh = cell.pre(0, unit, "h")
    a = _add(xi, hh)
    bias_i, bias_h = (" + b_ih", " + b_hh") if spec.bias else ("", "")
    lines = [
        _line(
            cell,
            "a",
            f"a_t = W_ih x_t{bias_i} + W_hh h_(t−1){bias_h} (pre-activation)",
            f"{_sum_text(terms)} = {fmt(a)}",
            a,
            float(cell.gate("a")[unit]),
            unit,
            tuple(terms),
        )
    ]
    a_rec = float(cell.gate("a")[unit])
    act = spec.nonlinearity
    h = _tanh(a_rec) if act == "tanh" else (max(a_rec, 0.0) if not math.isnan(a_rec) else math.nan)
    # h reads the recorded a, itself a sum of lines[0].magnitude's size: same rounding scale.
    lines.append(
        _line(
            cell,
            "h",
            f"h_t = {act}(a_t)",
            f"{act}({fmt(a_rec)}) = {fmt(h)}",
            h,
            float(cell.gate("h")[unit]),
            unit,
            magnitude=lines[0].magnitude,
            reads=(a_rec,),
        )
    )
    return lines


def substitute(
    trace: Trace, layer: int, direction: str, t: int, unit: int, batch: int = 0
) -> list[EquationLine]:
    """The cell's equations for one unit at one step, with numbers and their check.

    Each line is evaluated from the values it reads as recorded (x_t, h_{t−1}, c_{t−1}, the
    other gates at t), so it checks that one equation on its own. Raises IndexError for an
    out-of-range layer, direction, t, unit or batch row.
    """
    spec = trace.spec
    if not (
        0 <= layer < spec.num_layers
        and direction in spec.directions
        and 0 <= t < spec.seq_len
        and 0 <= batch < spec.batch_size
        and 0 <= unit < spec.hidden_size
    ):
        raise IndexError(
            f"no cell ({layer}, {direction}, t={t}, unit={unit}, batch={batch}) in {spec.title()}"
        )
    cell = _Cell(trace, layer, direction, t, batch)
    builder = {"lstm": _lstm, "gru": _gru, "rnn": _rnn}[spec.cell]
    return builder(cell, unit)
