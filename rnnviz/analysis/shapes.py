"""What torch will do with a Spec: tensor shapes, parameter inventory, counts and MACs.

Pure arithmetic, no torch: the app shows this table instantly, before torch is even imported.
`tests/test_shapes.py` checks every figure here against real torch modules over Hypothesis's
config space, so "computed" never drifts from "what torch actually returns".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

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
            "title": self.spec.title(),
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


def tensor_shapes(spec: Spec) -> dict[str, Shape | None]:
    """Shapes of input, h0, c0, output, h_n, c_n as torch produces them (c0/c_n None unless LSTM).

    batch_first swaps the first two dims of input and output only; h0/h_n stay
    (num_layers × directions, batch, H_out). With proj_size, h is proj_size wide and c is not.
    """
    ld = spec.state_rows
    b, t = spec.batch_size, spec.seq_len
    out_feat = spec.num_directions * spec.out_hidden
    is_lstm = spec.cell == "lstm"
    return {
        "input": spec.input_shape(),
        "h0": (ld, b, spec.out_hidden),
        "c0": (ld, b, spec.hidden_size) if is_lstm else None,
        "output": (b, t, out_feat) if spec.batch_first else (t, b, out_feat),
        "h_n": (ld, b, spec.out_hidden),
        "c_n": (ld, b, spec.hidden_size) if is_lstm else None,
    }


def hn_slices(spec: Spec) -> tuple[HnSlice, ...]:
    """Label h_n[k] for every k: torch stores layer-major, so k = layer × directions + direction."""
    out = []
    for layer in range(spec.num_layers):
        for d, name in enumerate(spec.directions):
            k = spec.state_index(layer, d)
            out.append(HnSlice(k, layer, name, f"h_n[{k}] = layer {layer}, {name}"))
    return tuple(out)


def identities(spec: Spec) -> tuple[str, ...]:
    """The output ↔ h_n equalities users most often get wrong, written for this spec."""
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


def parameter_inventory(spec: Spec) -> tuple[ParamInfo, ...]:
    """Every parameter tensor in torch's own `named_parameters()` order, split by gate.

    Rows of weight_ih/weight_hh/bias_* stack the gates hidden_size rows apiece (i|f|g|o for
    LSTM, r|z|n for GRU); weight_hr (proj_size) maps h's hidden_size units down to proj_size.
    """
    gates = WEIGHT_GATES[spec.cell]
    hs, g = spec.hidden_size, spec.gate_count
    out: list[ParamInfo] = []
    for layer in range(spec.num_layers):
        for d, dname in enumerate(spec.directions):
            sfx = "_reverse" if d else ""
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
                        f"{kind}_l{layer}{sfx}", shape, _prod(shape), layer, dname, kind, slices
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


def shapes(spec: Spec) -> ShapeReport:
    """The full shape and parameter report for `spec` (see ShapeReport)."""
    params = parameter_inventory(spec)
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
    return ShapeReport(
        spec=spec,
        tensors=tensor_shapes(spec),
        hn_slices=hn_slices(spec),
        identities=identities(spec),
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
