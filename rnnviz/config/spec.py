"""The configuration of one recurrent module: what the user sets, validated and serialisable.

`Spec` is immutable. Every field is checked when a Spec is made, and a bad value raises
`SpecError` naming the field and what it allows, so the CLI, the window and session files all
give the same message for the same mistake. Torch is imported only inside `build`, so the app
can show its window before the (slow) torch import finishes.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch

#: Version of the session/spec JSON format. Bump when a field changes meaning.
SPEC_VERSION = 1

CELLS = ("rnn", "lstm", "gru")
NONLINEARITIES = ("tanh", "relu")

#: Gate arrays a trace records for each cell, in the order the views show them.
#: LSTM and GRU pre-activations are stacked in torch's weight rows in exactly the order of the
#: first entries (i|f|g|o, r|z|n); `a` is the RNN pre-activation W_ih x + b_ih + W_hh h + b_hh.
TRACE_GATES = {
    "lstm": ("i", "f", "g", "o", "c", "h"),
    "gru": ("r", "z", "n", "h"),
    "rnn": ("a", "h"),
}
#: The gates stacked in the rows of weight_ih/weight_hh, in torch's order.
WEIGHT_GATES = {"lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n"), "rnn": ("a",)}

#: Upper bounds that keep a typo from asking for an absurd module; the memory budget
#: (rnnviz.config.budget) is the real guard, these only bound the integers themselves.
MAX_SIZE = 1 << 20
MAX_LAYERS = 1024
MAX_SEQ = 10_000_000
MAX_BATCH = 1 << 20


class SpecError(ValueError):
    """A configuration value is not allowed; `field` names it, the message says what is."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def check_keys(cls: Any, data: Any, what: str, field_word: str) -> dict[str, Any]:
    """`data` as a dict whose keys are all fields of the dataclass `cls`, or SpecError.

    Shared by every `from_dict` (specs, run options, sessions): a JSON object is required,
    and the first unknown key is named with the list of known ones. `what` is the record's
    name in messages ("spec", "options"), `field_word` what its keys are called.
    """
    if not isinstance(data, dict):
        raise SpecError(what, f"must be a JSON object, got {type(data).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names, key=str)
    if unknown:
        key = unknown[0]
        listing = f"is not a {field_word} ({field_word}s: {', '.join(sorted(names))})"
        if isinstance(key, str) and key.isidentifier():
            raise SpecError(key, listing)
        # A key from a file can be empty or hold a newline: name it quoted, in one line.
        raise SpecError(what, f"{key!r} {listing}")
    return dict(data)


def _check_int(name: str, value: Any, lo: int, hi: int) -> int:
    # bool is an int subclass; `True` as a size is always a mistake.
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise SpecError(name, f"must be a whole number from {lo} to {hi}, got {value!r}")
    if not lo <= value <= hi:
        raise SpecError(name, f"must be from {lo} to {hi}, got {value}")
    return int(value)


def _check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise SpecError(name, f"must be true or false, got {value!r}")
    return value


@dataclass(frozen=True)
class Spec:
    """One nn.RNN / nn.LSTM / nn.GRU configuration plus the input it is run on.

    Sizes follow torch's names. `seq_len` and `batch_size` describe the input tensor, which is
    `(seq_len, batch_size, input_size)`, or `(batch_size, seq_len, input_size)` with batch_first.
    """

    cell: str = "lstm"
    input_size: int = 5
    hidden_size: int = 6
    num_layers: int = 1
    bidirectional: bool = False
    batch_first: bool = False
    bias: bool = True
    nonlinearity: str = "tanh"
    dropout: float = 0.0
    proj_size: int = 0
    seq_len: int = 3
    batch_size: int = 1

    def __post_init__(self) -> None:
        # Normalise then validate; frozen, so write through object.__setattr__.
        cell = self.cell.lower() if isinstance(self.cell, str) else self.cell
        if cell not in CELLS:
            raise SpecError("cell", f"must be one of {', '.join(CELLS)}, got {self.cell!r}")
        object.__setattr__(self, "cell", cell)
        for name, hi in (
            ("input_size", MAX_SIZE),
            ("hidden_size", MAX_SIZE),
            ("num_layers", MAX_LAYERS),
            ("seq_len", MAX_SEQ),
            ("batch_size", MAX_BATCH),
        ):
            object.__setattr__(self, name, _check_int(name, getattr(self, name), 1, hi))
        for name in ("bidirectional", "batch_first", "bias"):
            _check_bool(name, getattr(self, name))
        nl = self.nonlinearity.lower() if isinstance(self.nonlinearity, str) else self.nonlinearity
        if nl not in NONLINEARITIES:
            raise SpecError(
                "nonlinearity",
                f"must be one of {', '.join(NONLINEARITIES)}, got {self.nonlinearity!r}",
            )
        if cell != "rnn" and nl != "tanh":
            raise SpecError(
                "nonlinearity",
                f"applies to cell rnn only; {cell} has fixed activations (leave it at tanh)",
            )
        object.__setattr__(self, "nonlinearity", nl)
        d = self.dropout
        # The range test comes before isfinite: math.isfinite of a huge int overflows.
        if (
            isinstance(d, bool)
            or not isinstance(d, (int, float))
            or not 0.0 <= d < 1.0
            or not math.isfinite(d)
        ):
            raise SpecError("dropout", f"must be a number in [0, 1), got {d!r}")
        object.__setattr__(self, "dropout", float(d))
        p = _check_int("proj_size", self.proj_size, 0, MAX_SIZE)
        if p and cell != "lstm":
            raise SpecError("proj_size", f"applies to cell lstm only; must be 0 for {cell}")
        if p and p >= self.hidden_size:
            raise SpecError(
                "proj_size", f"must be from 0 to hidden_size - 1 ({self.hidden_size - 1}), got {p}"
            )
        object.__setattr__(self, "proj_size", p)

    # ---- derived facts -------------------------------------------------------------------
    @property
    def num_directions(self) -> int:
        """2 when bidirectional, else 1."""
        return 2 if self.bidirectional else 1

    @property
    def directions(self) -> tuple[str, ...]:
        """Direction names in torch's order: ("fwd",) or ("fwd", "bwd")."""
        return ("fwd", "bwd") if self.bidirectional else ("fwd",)

    @property
    def state_rows(self) -> int:
        """Rows of h0/h_n (and c0/c_n): num_layers × num_directions."""
        return self.num_layers * self.num_directions

    def state_index(self, layer: int, direction: int | str) -> int:
        """The row of h0/h_n that belongs to (layer, direction): torch's
        `layer × num_directions + direction` (direction 0/"fwd" or 1/"bwd")."""
        d = direction if isinstance(direction, int) else self.directions.index(direction)
        return layer * self.num_directions + d

    @property
    def out_hidden(self) -> int:
        """Size of h as torch returns it: proj_size when projecting, else hidden_size."""
        return self.proj_size or self.hidden_size

    @property
    def gate_count(self) -> int:
        """Gates stacked in each weight matrix: 4 for LSTM, 3 for GRU, 1 for RNN."""
        return len(WEIGHT_GATES[self.cell])

    @property
    def trace_gates(self) -> tuple[str, ...]:
        """Names of the per-timestep arrays a trace records for this cell."""
        return TRACE_GATES[self.cell]

    def layer_input_size(self, layer: int) -> int:
        """Features fed to `layer`: input_size for layer 0, else out_hidden × directions."""
        return self.input_size if layer == 0 else self.out_hidden * self.num_directions

    @property
    def macs(self) -> int:
        """Multiply-accumulates of one forward pass: the matrix products only.

        Per layer, direction, timestep and batch row: gates × H × (I_layer + H_out), plus
        H × proj_size for the projection. Elementwise gate arithmetic is not counted.
        """
        return self.num_directions * sum(self.lane_macs(k) for k in range(self.num_layers))

    def lane_macs(self, layer: int) -> int:
        """Multiply-accumulates of one direction of `layer` over the sequence and batch (one
        lane; `macs` is the sum over every lane): gates × H × (I_layer + H_out), plus
        H × proj_size for the projection, per timestep and batch row."""
        one = self.gate_count * self.hidden_size * (self.layer_input_size(layer) + self.out_hidden)
        one += self.hidden_size * self.proj_size
        return one * self.seq_len * self.batch_size

    def constructor_args(self, cell: bool = False, exact: bool = False) -> list[str]:
        """The arguments torch's constructor needs for this spec, non-defaults only, in the
        constructor's own order: ['5', '6', 'num_layers=2', 'bidirectional=True']. With `cell`
        those of the *Cell (input_size, hidden_size, bias, RNNCell's nonlinearity). `exact`
        writes dropout as Python's repr (for runnable code) instead of the short display form.
        """
        args = [str(self.input_size), str(self.hidden_size)]
        nonlinearity = (
            [f"nonlinearity='{self.nonlinearity}'"]
            if self.cell == "rnn" and self.nonlinearity != "tanh"
            else []
        )
        if cell:
            return args + (["bias=False"] if not self.bias else []) + nonlinearity
        if self.num_layers != 1:
            args.append(f"num_layers={self.num_layers}")
        args += nonlinearity
        if not self.bias:
            args.append("bias=False")
        if self.batch_first:
            args.append("batch_first=True")
        if self.dropout:
            args.append(f"dropout={self.dropout!r}" if exact else f"dropout={self.dropout:g}")
        if self.bidirectional:
            args.append("bidirectional=True")
        if self.proj_size:
            args.append(f"proj_size={self.proj_size}")
        return args

    def title(self) -> str:
        """A torch-like constructor call, e.g. `LSTM(5, 6, num_layers=2, bidirectional=True)`."""
        return f"{self.cell.upper()}({', '.join(self.constructor_args())})"

    def replace(self, **changes: Any) -> Spec:
        """A copy with `changes` applied, validated like a new Spec."""
        return dataclasses.replace(self, **changes)

    # ---- serialisation --------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain dict of every field plus `version`, for JSON."""
        d: dict[str, Any] = {"version": SPEC_VERSION}
        d.update(dataclasses.asdict(self))
        return d

    @classmethod
    def from_dict(cls, data: Any) -> Spec:
        """Spec from a dict such as `to_dict` makes; unknown keys and bad versions raise SpecError."""
        if not isinstance(data, dict):
            raise SpecError("spec", f"must be a JSON object, got {type(data).__name__}")
        data = dict(data)
        version = data.pop("version", SPEC_VERSION)
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise SpecError("version", f"must be a positive whole number, got {version!r}")
        if version > SPEC_VERSION:
            raise SpecError(
                "version",
                f"{version} is newer than this rnnviz understands "
                f"({SPEC_VERSION}); upgrade rnnviz to open it",
            )
        data = check_keys(cls, data, "spec", "spec field")
        return cls(**data)

    def to_json(self) -> str:
        """JSON text of `to_dict`, keys sorted so equal specs give equal bytes."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Spec:
        """Parse `to_json` output; malformed JSON raises SpecError."""
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:
            # ValueError covers JSONDecodeError, UnicodeDecodeError and an integer literal past
            # Python's digit limit; RecursionError is pathologically deep nesting.
            raise SpecError("spec", f"is not valid JSON ({exc})") from None
        return cls.from_dict(data)

    # ---- torch --------------------------------------------------------------------------------
    def build(self, seed: int = 0) -> torch.nn.Module:
        """The real `torch.nn.RNN/LSTM/GRU` for this spec, its weights drawn from `seed`.

        The module is returned in eval mode: dropout only acts between layers in training,
        and a visualiser must show the deterministic pass.
        """
        from rnnviz.config.rng import seeded_global

        # The caller's global RNG is left as it was: building a module for display must not
        # change what their own next torch.randn returns (and no other thread reseeds it
        # while the weights are drawn).
        with seeded_global(seed):
            return self.build_unseeded()

    def build_unseeded(self) -> torch.nn.Module:
        """`build` without seeding: the weights are the global generator's next draws, as in a
        script that calls torch.manual_seed and then the constructor. Returned in eval mode."""
        import torch

        kwargs: dict[str, Any] = dict(
            input_size=self.input_size,
            hidden_size=self.hidden_size,
            num_layers=self.num_layers,
            bias=self.bias,
            batch_first=self.batch_first,
            dropout=self.dropout,
            bidirectional=self.bidirectional,
        )
        if self.cell == "lstm":
            module: torch.nn.Module = torch.nn.LSTM(proj_size=self.proj_size, **kwargs)
        elif self.cell == "gru":
            module = torch.nn.GRU(**kwargs)
        else:
            module = torch.nn.RNN(nonlinearity=self.nonlinearity, **kwargs)
        return module.eval()

    def input_shape(self) -> tuple[int, int, int]:
        """Shape of the input tensor torch expects for this spec."""
        if self.batch_first:
            return (self.batch_size, self.seq_len, self.input_size)
        return (self.seq_len, self.batch_size, self.input_size)
