"""What torch will do with a Spec: tensor shapes, parameter inventory, counts and MACs.

Pure arithmetic, no torch: the app shows this table instantly, before torch is even imported.
`tests/test_shapes.py` checks every figure here against real torch modules over Hypothesis's
config space, so "computed" never drifts from "what torch actually returns".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from rnnviz.config.api import CELL, MODULE, call_lines, check_api, param_name, title
from rnnviz.config.spec import WEIGHT_GATES, Spec

Shape = tuple[int, ...]


@dataclass(frozen=True)
class GateSlice:
    """The rows of one parameter tensor that belong to one gate."""

    gate: str
    rows: tuple[int, int]  # [start, stop) row range in the parameter tensor
    shape: Shape
    count: int


@dataclass(frozen=True)
class ParamInfo:
    """One parameter tensor as torch names it in `named_parameters()`."""

    name: str
    shape: Shape
    count: int
    layer: int
    direction: str  # "fwd" | "bwd"
    kind: str  # weight_ih | weight_hh | bias_ih | bias_hh | weight_hr
    gates: tuple[GateSlice, ...]


@dataclass(frozen=True)
class HnSlice:
    """One slice h_n[index] and the (layer, direction) it belongs to."""

    index: int
    layer: int
    direction: str
    label: str


@dataclass(frozen=True, repr=False)
class ShapeReport:
    """Everything about a Spec that follows from arithmetic alone."""

    spec: Spec
    tensors: dict[str, Shape | None]
    hn_slices: tuple[HnSlice, ...]
    identities: tuple[str, ...]
    parameters: tuple[ParamInfo, ...]
    layer_totals: tuple[int, ...]
    gate_totals: dict[str, int]
    total_parameters: int
    keras_parameters: int | None
    torch_formula: str
    keras_formula: str
    convention_note: str
    macs: int
    macs_formula: str
    notes: tuple[str, ...] = field(default=())
    #: "module" (nn.RNN/LSTM/GRU) or "cell" (the *Cell called once per step).
    api: str = MODULE
    #: The Python that runs it: one module call, or the loop over Cell calls.
    calls: tuple[str, ...] = ()
    #: Tensors computed once per call (a Cell's x_t, h_t, c_t): their shape is one call's.
    per_call: frozenset[str] = frozenset()
    #: The other API of the same weights, side by side: its constructor line, and rows
    #: (this API's tensor and shape, the other's, how they relate). Empty where there is no
    #: counterpart (a *Cell has no num_layers, bidirectional or proj_size).
    counterpart_title: str = ""
    counterpart: tuple[tuple[str, str, str], ...] = ()

    @property
    def title(self) -> str:
        """The constructor line, e.g. `RNN(4, 2)` or `RNNCell(4, 2)`."""
        return title(self.spec, self.api)

    def __repr__(self) -> str:
        """A few lines (under 2,000 characters): spec, tensor shapes, parameters, total."""
        from rnnviz.analysis.shapes_repr import report_repr

        return report_repr(self)

    def _repr_html_(self) -> str:
        """Tensors and parameters as HTML tables, for Jupyter."""
        from rnnviz.analysis.shapes_repr import report_html

        return report_html(self)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: shapes as lists of ints, the contract of `rnnviz shapes --json`."""
        params = []
        for p in self.parameters:
            params.append(
                {
                    "name": p.name,
                    "shape": list(p.shape),
                    "count": p.count,
                    "layer": p.layer,
                    "direction": p.direction,
                    "kind": p.kind,
                    "gates": [
                        {
                            "gate": g.gate,
                            "rows": list(g.rows),
                            "shape": list(g.shape),
                            "count": g.count,
                        }
                        for g in p.gates
                    ],
                }
            )
        return {
            "spec": self.spec.to_dict(),
            "api": self.api,
            "title": self.title,
            "calls": list(self.calls),
            "per_call": sorted(self.per_call),
            "counterpart_title": self.counterpart_title,
            "counterpart": [list(r) for r in self.counterpart],
            "tensors": {k: (list(v) if v is not None else None) for k, v in self.tensors.items()},
            "h_n_slices": [asdict(s) for s in self.hn_slices],
            "identities": list(self.identities),
            "parameters": params,
            "layer_totals": list(self.layer_totals),
            "gate_totals": dict(self.gate_totals),
            "total_parameters": self.total_parameters,
            "keras_parameters": self.keras_parameters,
            "torch_formula": self.torch_formula,
            "keras_formula": self.keras_formula,
            "convention_note": self.convention_note,
            "macs": self.macs,
            "macs_formula": self.macs_formula,
            "notes": list(self.notes),
        }


def tensor_shapes(spec: Spec, api: str = MODULE) -> dict[str, Shape | None]:
    """Shapes of input, h0, c0, output, h_n, c_n as torch produces them (c0/c_n None unless LSTM).

    batch_first swaps the first two dims of input and output only; h0/h_n stay
    (num_layers × directions, batch, H_out). With proj_size, h is proj_size wide and c is not.
    For a Cell (`api` "cell"): x as the loop holds it, each call's x_t (batch, input), hx
    (batch, hidden) (+ cx) and what each call returns, h_t (batch, hidden) (+ c_t).
    """
    b, t = spec.batch_size, spec.seq_len
    is_lstm = spec.cell == "lstm"
    if api == CELL:
        h = spec.hidden_size
        return {
            "input": spec.input_shape(),
            "x_t": (b, spec.input_size),
            "h0": (b, h),
            "c0": (b, h) if is_lstm else None,
            "h_t": (b, h),
            "c_t": (b, h) if is_lstm else None,
        }
    ld = spec.num_layers * spec.num_directions
    out_feat = spec.num_directions * spec.out_hidden
    return {
        "input": spec.input_shape(),
        "h0": (ld, b, spec.out_hidden),
        "c0": (ld, b, spec.hidden_size) if is_lstm else None,
        "output": (b, t, out_feat) if spec.batch_first else (t, b, out_feat),
        "h_n": (ld, b, spec.out_hidden),
        "c_n": (ld, b, spec.hidden_size) if is_lstm else None,
    }


def returned_shape(report: ShapeReport, tensors: dict[str, Any], name: str) -> Shape | None:
    """The shape torch actually gave for report tensor `name`, read from a trace's tensors
    (one call's shape for per-call tensors, the same at every call); None if absent."""
    if name == "x_t" and "input" in tensors:
        x = tensors["input"]
        return tuple(x[:, 0].shape if report.spec.batch_first else x[0].shape)
    if name not in tensors:
        return None
    arr = tensors[name]
    return tuple(arr.shape[1:]) if name in report.per_call else tuple(arr.shape)


def _fmt(shape: Shape | None) -> str:
    return "—" if shape is None else "(" + ", ".join(map(str, shape)) + ")"


def counterpart(spec: Spec, api: str) -> tuple[str, tuple[tuple[str, str, str], ...]]:
    """The other API of the same weights beside this one (tutorial 001's RNNCell against
    RNN): its constructor line and rows (this tensor, the other, how they relate).

    With the same seed both give the same numbers: nn.RNN(4, 2) holds a single RNNCell's
    weights as weight_ih_l0 …, and its output stacks the h_t a loop of cell calls returns.
    """
    try:
        check_api(spec, CELL)
    except ValueError:
        return "", ()
    cell_t, mod_t = tensor_shapes(spec, CELL), tensor_shapes(spec, MODULE)
    lstm = spec.cell == "lstm"
    rows_cell = [
        ("x " + _fmt(cell_t["input"]), "input " + _fmt(mod_t["input"]), "the same tensor"),
        (
            "hx " + _fmt(cell_t["h0"]),
            "h0 " + _fmt(mod_t["h0"]),
            "h0 = hx.unsqueeze(0): one layer × one direction",
        ),
        (
            f"h_t {_fmt(cell_t['h_t'])} × {spec.seq_len} calls",
            "output " + _fmt(mod_t["output"]),
            "output stacks every call's h_t"
            + (" (on dim 1: batch_first)" if spec.batch_first else ""),
        ),
        (
            "last call's h_t " + _fmt(cell_t["h_t"]),
            "h_n " + _fmt(mod_t["h_n"]),
            "h_n[0] is the last h_t",
        ),
    ]
    if lstm:
        rows_cell.append(
            ("last call's c_t " + _fmt(cell_t["c_t"]), "c_n " + _fmt(mod_t["c_n"]), "c_n[0] is it")
        )
    for kind in ("weight_ih", "weight_hh") + (("bias_ih", "bias_hh") if spec.bias else ()):
        rows_cell.append((kind, f"{kind}_l0", "the same values under the module's name"))
    if api == CELL:
        return title(spec, MODULE), tuple(rows_cell)
    return title(spec, CELL), tuple((b, a, why) for a, b, why in rows_cell)


def hn_slices(spec: Spec, api: str = MODULE) -> tuple[HnSlice, ...]:
    """Label h_n[k] for every k: torch stores layer-major, so k = layer × directions + direction.
    A Cell returns no h_n: none."""
    out: list[HnSlice] = []
    if api == CELL:
        return ()
    for layer in range(spec.num_layers):
        for d, name in enumerate(spec.directions):
            k = spec.state_index(layer, d)
            out.append(HnSlice(k, layer, name, f"h_n[{k}] = layer {layer}, {name}"))
    return tuple(out)


def identities(spec: Spec, api: str = MODULE) -> tuple[str, ...]:
    """The output ↔ h_n equalities users most often get wrong, written for this spec; for a
    Cell, what its calls return instead (it has no output or h_n)."""
    if api == CELL:
        return (
            "h_t = cell(x_t, h_(t-1)): each call returns the next state, nothing else"
            + (" (LSTMCell: (h_t, c_t))" if spec.cell == "lstm" else ""),
            "no output, no h_n: the loop keeps the h_t it wants (the last is the final state)",
        )
    h = spec.out_hidden
    last = spec.state_index(spec.num_layers - 1, 0)
    t_last, t_first = ("[:, -1, ", "[:, 0, ") if spec.batch_first else ("[-1, :, ", "[0, :, ")
    fwd_cols = f":{h}]" if spec.bidirectional else ":]"
    lines = [f"h_n[{last}] == output{t_last}{fwd_cols}   (last layer, forward: its final step)"]
    if spec.bidirectional:
        lines.append(
            f"h_n[{last + 1}] == output{t_first}{h}:]   (last layer, backward: it ends at "
            "input position 0)"
        )
    if spec.num_layers > 1:
        lines.append(
            f"h_n[0:{last}] (lower layers) appear in no output: output is the last layer only"
        )
    return tuple(lines)


def parameter_inventory(spec: Spec, api: str = MODULE) -> tuple[ParamInfo, ...]:
    """Every parameter tensor in torch's own `named_parameters()` order, split by gate.

    Rows of weight_ih/weight_hh/bias_* stack the gates hidden_size rows apiece (i|f|g|o for
    LSTM, r|z|n for GRU); weight_hr (proj_size) maps h's hidden_size units down to proj_size.
    Names are torch's for `api`: `weight_ih_l0` for a module, `weight_ih` for a Cell.
    """
    gates = WEIGHT_GATES[spec.cell]
    hs, g = spec.hidden_size, spec.gate_count
    out: list[ParamInfo] = []
    for layer in range(spec.num_layers):
        for d, dname in enumerate(spec.directions):
            sfx = "_reverse" if d else ""  # (weight_hr only: a Cell has no projection)
            cols = {"weight_ih": spec.layer_input_size(layer), "weight_hh": spec.out_hidden}
            kinds: list[tuple[str, Shape]] = [
                ("weight_ih", (g * hs, cols["weight_ih"])),
                ("weight_hh", (g * hs, cols["weight_hh"])),
            ]
            if spec.bias:
                kinds += [("bias_ih", (g * hs,)), ("bias_hh", (g * hs,))]
            for kind, shape in kinds:
                per_gate_shape = (hs,) + shape[1:]
                per_gate = _prod(per_gate_shape)
                slices = tuple(
                    GateSlice(gate, (j * hs, (j + 1) * hs), per_gate_shape, per_gate)
                    for j, gate in enumerate(gates)
                )
                out.append(
                    ParamInfo(
                        param_name(kind, layer, d, api),
                        shape,
                        _prod(shape),
                        layer,
                        dname,
                        kind,
                        slices,
                    )
                )
            if spec.proj_size:
                shape = (spec.proj_size, hs)
                out.append(
                    ParamInfo(
                        f"weight_hr_l{layer}{sfx}",
                        shape,
                        _prod(shape),
                        layer,
                        dname,
                        "weight_hr",
                        (GateSlice("proj", (0, spec.proj_size), shape, _prod(shape)),),
                    )
                )
    return tuple(out)


def _prod(shape: Shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def keras_parameters(spec: Spec) -> int | None:
    """Count under Keras/TensorFlow's convention, or None where Keras has no equivalent.

    Keras LSTM and SimpleRNN keep one bias vector per gate where torch keeps two (b_ih and
    b_hh, which only ever appear summed). Keras GRU's default `reset_after=True` keeps two,
    like torch, because the recurrent bias sits inside r ⊙ (…). Keras has no proj_size.
    """
    if spec.proj_size:
        return None
    total = sum(p.count for p in parameter_inventory(spec))
    if spec.bias and spec.cell in ("lstm", "rnn"):
        total -= spec.state_rows * spec.gate_count * spec.hidden_size
    return total


def _formulas(spec: Spec, total: int, keras: int | None) -> tuple[str, str, str]:
    g, h, hout = spec.gate_count, spec.hidden_size, spec.out_hidden
    parts, kparts = [], []
    for layer in range(spec.num_layers):
        i = spec.layer_input_size(layer)
        term = f"({i} + {hout}) × ({h} × {g})"
        kterm = term
        if spec.bias:
            term += f" + 2 × {g} × {h}"
            kterm += f" + {2 if spec.cell == 'gru' else 1} × {g} × {h}"
        if spec.proj_size:
            term += f" + {h} × {spec.proj_size}"
        mult = f"{spec.num_directions} × " if spec.bidirectional else ""
        parts.append(f"{mult}[{term}]")
        kparts.append(f"{mult}[{kterm}]")
    torch_f = " + ".join(parts) + f" = {total:,}"
    if keras is None:
        keras_f = "no Keras equivalent: Keras recurrent layers have no proj_size"
        note = "PyTorch counts weight_hr (the projection) too; Keras has nothing to compare."
    else:
        keras_f = " + ".join(kparts) + f" = {keras:,}"
        diff = total - keras
        if spec.cell == "gru":
            note = (
                "Keras GRU (reset_after=True, the TF2 default) keeps two biases like PyTorch, "
                "so the counts agree; with reset_after=False it keeps one and has "
                f"{spec.state_rows * g * h:,} fewer."
            )
        elif diff:
            note = (
                f"PyTorch keeps two bias vectors (bias_ih and bias_hh) where Keras keeps one; "
                f"they are only ever added, so PyTorch has {diff:,} more parameters "
                f"({spec.state_rows} × {g} × {h}) for the same function."
            )
        else:
            note = "Without biases both conventions count the same weights."
    return torch_f, keras_f, note


def macs(spec: Spec) -> int:
    """Multiply-accumulates of one forward pass (see `Spec.macs`)."""
    return spec.macs


def shapes(spec: Spec, api: str = MODULE) -> ShapeReport:
    """The full shape and parameter report for `spec` run through `api` ("module" or "cell";
    see ShapeReport). SpecError names the field a Cell cannot take."""
    check_api(spec, api)
    params = parameter_inventory(spec, api)
    total = sum(p.count for p in params)
    layer_totals = tuple(
        sum(p.count for p in params if p.layer == k) for k in range(spec.num_layers)
    )
    gate_totals: dict[str, int] = {}
    for p in params:
        for gs in p.gates:
            gate_totals[gs.gate] = gate_totals.get(gs.gate, 0) + gs.count
    keras = keras_parameters(spec)
    torch_f, keras_f, note = _formulas(spec, total, keras)
    notes = []
    if spec.dropout and spec.num_layers == 1:
        notes.append(
            "dropout acts only between stacked layers, so with num_layers=1 it does "
            "nothing (torch warns about this too)."
        )
    if spec.dropout:
        notes.append("dropout is active only in training mode; rnnviz traces in eval mode.")
    if api == CELL and spec.dropout:
        notes.append("a *Cell has no dropout argument; it is not applied to the Cell.")
    other, rows = counterpart(spec, api)
    return ShapeReport(
        spec=spec,
        api=api,
        calls=call_lines(spec, api),
        per_call=frozenset({"x_t", "h_t", "c_t"}) if api == CELL else frozenset(),
        counterpart_title=other,
        counterpart=rows,
        tensors=tensor_shapes(spec, api),
        hn_slices=hn_slices(spec, api),
        identities=identities(spec, api),
        parameters=params,
        layer_totals=layer_totals,
        gate_totals=gate_totals,
        total_parameters=total,
        keras_parameters=keras,
        torch_formula=torch_f,
        keras_formula=keras_f,
        convention_note=note,
        macs=macs(spec),
        macs_formula=(
            f"seq_len {spec.seq_len} × batch {spec.batch_size} × Σ layers, directions "
            f"of gates × H × (I + H_out){' + H × proj' if spec.proj_size else ''}"
        ),
        notes=tuple(notes),
    )
