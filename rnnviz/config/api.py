"""Which torch API a configuration is run through: the module (nn.RNN/LSTM/GRU) or its *Cell.

This is the one place that knows how the two differ in what a user sees: the constructor
line, the names torch gives the parameters, the call (one module call against a loop of cell
calls) and the names of the tensors that go in and come out. The shape report, the graph, the
trace's summary, the verdict and every view read these functions instead of special-casing a
Cell themselves. `RunOptions.api` ("module" or "cell", from its `stepper`) and `Trace.api` say
which applies. No torch here.
"""

from __future__ import annotations

from rnnviz.config.spec import Spec, SpecError

MODULE, CELL = "module", "cell"
APIS = (MODULE, CELL)

#: How each trace tensor is called in each API (display names; the Trace's keys are the left).
TENSOR_NAMES = {
    MODULE: {
        "input": "input",
        "h0": "h0",
        "c0": "c0",
        "output": "output",
        "h_n": "h_n",
        "c_n": "c_n",
    },
    CELL: {"input": "x", "h0": "hx", "c0": "cx", "h_t": "h_t", "c_t": "c_t"},
}


def check_api(spec: Spec, api: str) -> None:
    """Raise SpecError naming the field when `spec` cannot be run through `api`.

    A *Cell is one layer running forward, without a projection: num_layers, bidirectional and
    proj_size are refused with api "cell" rather than silently dropped.
    """
    if api not in APIS:
        raise SpecError("stepper", f"must be one of {', '.join(APIS)}, got {api!r}")
    if api != CELL:
        return
    name = class_name(spec, CELL)
    if spec.num_layers != 1:
        raise SpecError(
            "num_layers",
            f"{name} is one layer: must be 1 with stepper cell, got {spec.num_layers} "
            f"(use stepper module for nn.{spec.cell.upper()} with num_layers)",
        )
    if spec.bidirectional:
        raise SpecError(
            "bidirectional",
            f"{name} runs forward only: bidirectional must be off with stepper cell",
        )
    if spec.proj_size:
        raise SpecError("proj_size", f"{name} has no projection: must be 0 with stepper cell")


def class_name(spec: Spec, api: str) -> str:
    """torch's class name: 'RNN', 'LSTM', 'GRU' or 'RNNCell', 'LSTMCell', 'GRUCell'."""
    return spec.cell.upper() + ("Cell" if api == CELL else "")


def title(spec: Spec, api: str) -> str:
    """The constructor call torch builds, e.g. `LSTM(5, 6, num_layers=2)` or `RNNCell(4, 2)`.

    A Cell takes only input_size, hidden_size, bias and (RNNCell) nonlinearity; batch_first and
    the sequence length belong to the loop that calls it, not to the Cell.
    """
    if api != CELL:
        return spec.title()
    return f"{class_name(spec, api)}({', '.join(spec.constructor_args(cell=True))})"


def param_name(kind: str, layer: int, direction: int, api: str) -> str:
    """torch's name of a parameter: `weight_ih_l0`, `bias_hh_l1_reverse`, or a Cell's
    `weight_ih` (a Cell has one layer and one direction, so no suffix)."""
    if api == CELL:
        return kind
    return f"{kind}_l{layer}" + ("_reverse" if direction else "")


def call_lines(spec: Spec, api: str) -> tuple[str, ...]:
    """The Python a user writes to run it: one module call, or the loop over Cell calls.

    With batch_first a Cell loop indexes time on dim 1 (tutorial 004's `x[:, t, :]`).
    """
    lstm = spec.cell == "lstm"
    if api == CELL:
        state = "(h, c)" if lstm else "h"
        zeros = f"torch.zeros({spec.batch_size}, {spec.hidden_size})"
        head = f"h, c = {zeros}, {zeros}" if lstm else f"h = {zeros}"
        step = f"{state} = cell(x_t, {state})" if not lstm else "h, c = cell(x_t, (h, c))"
        if spec.batch_first:
            loop = f"for t in range(x.size(1)): x_t = x[:, t]; {step}"
        else:
            loop = f"for x_t in x: {step}"
        return (head, loop)
    if lstm:
        return ("output, (h_n, c_n) = lstm(input, (h0, c0))",)
    return (f"output, h_n = {spec.cell}(input, h0)",)


def tensor_name(key: str, api: str) -> str:
    """What tensor `key` of a trace is called in `api` (e.g. 'h0' is the Cell's 'hx')."""
    return TENSOR_NAMES.get(api, TENSOR_NAMES[MODULE]).get(key, key)
