"""Copy as code: a short, runnable torch-only snippet that rebuilds what a Spec and RunOptions
run, so a learner can paste it and print the very numbers the window shows.

It mirrors `rnnviz.engine.inputs` step for step: the weights come from
`torch.manual_seed(seed)` then the module's constructor (`Spec.build` / `build_module`),
every `weight*` parameter is multiplied by `weight_scale`, and x, h0 and c0 come, in that
order, from a separate `torch.Generator` seeded `seed + 1` (`make_inputs`). A Cell stepper
makes x in the spec's layout and steps it time-major, h0 as the (batch, hidden) slice.

Each input kind, initial state and seeding mode is one small function in a table
(`INPUTS`, `INITS`, `SEEDINGS`), so a new mode is one new entry; an unknown mode raises
`CodeError` rather than writing code that would print other numbers.
`tests/test_code_snippet.py` runs the snippets in a fresh interpreter and compares them with
`trace_spec` bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rnnviz.config.options import RunOptions
from rnnviz.config.spec import Spec

_CLASS = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}


class CodeError(ValueError):
    """The options ask for a mode this generator cannot write as code (yet)."""


@dataclass(frozen=True)
class Draw:
    """Where random tensors come from: `setup` lines, run after the module is built, and the
    keyword argument every random draw takes (e.g. ', generator=g', or '' for the global
    RNG)."""

    setup: tuple[str, ...]
    kwarg: str


def _seeding_generator(options: RunOptions) -> Draw:
    """rnnviz's default: inputs from their own Generator seeded seed + 1, so changing the
    input kind never changes the weights (make_inputs)."""
    return Draw(
        (
            "# x and h0 come from their own generator (seed + 1), apart from the weights",
            f"g = torch.Generator().manual_seed({options.seed + 1})",
        ),
        ", generator=g",
    )


def _seeding_tutorial(options: RunOptions) -> Draw:
    """The tutorials' order: x and h0 drawn from torch's global generator right after the
    module is built from manual_seed(seed) (make_run with seeding "tutorial")."""
    return Draw(("# x and h0 follow the weights on torch's global generator",), "")


#: Seeding mode (RunOptions.seeding) → how inputs are drawn.
SEEDINGS: dict[str, Callable[[RunOptions], Draw]] = {
    "separate": _seeding_generator,
    "tutorial": _seeding_tutorial,
}


def _input_randn(shape: str, draw: Draw) -> str:
    return f"torch.randn({shape}{draw.kwarg})"


def _input_rand(shape: str, draw: Draw) -> str:
    return f"torch.rand({shape}{draw.kwarg})"


def _input_zeros(shape: str, draw: Draw) -> str:
    return f"torch.zeros({shape})"


def _input_ones(shape: str, draw: Draw) -> str:
    return f"torch.ones({shape})"


#: Input kind → the expression that makes x of a shape.
INPUTS: dict[str, Callable[[str, Draw], str]] = {
    "randn": _input_randn,
    "rand": _input_rand,
    "zeros": _input_zeros,
    "ones": _input_ones,
}
#: Initial state kind → the expression that makes h0 / c0 of a shape.
INITS: dict[str, Callable[[str, Draw], str]] = {"randn": _input_randn, "zeros": _input_zeros}


def _shape(dims: tuple[int, ...]) -> str:
    return ", ".join(str(d) for d in dims)


def constructor(spec: Spec, cell: bool) -> str:
    """The torch constructor call, only non-default arguments: 'nn.LSTM(5, 6, num_layers=2)'
    or 'nn.RNNCell(4, 2)'."""
    args = ", ".join(spec.constructor_args(cell, exact=True))
    return f"nn.{_CLASS[spec.cell]}{'Cell' if cell else ''}({args})"


def _module_lines(spec: Spec, options: RunOptions, name: str) -> list[str]:
    cell = options.stepper == "cell"
    lines = [
        f"torch.manual_seed({options.seed})  # the weights",
        f"{name} = {constructor(spec, cell)}",
    ]
    if spec.dropout and not cell:
        lines[-1] += ".eval()  # dropout acts only in training"
    if options.weight_scale != 1.0:
        lines += [
            "for pname, p in "
            f"{name}.named_parameters():  # weight_scale: every weight matrix, not the biases",
            '    if pname.startswith("weight"):',
            f"        p.mul_({options.weight_scale!r})",
        ]
    return lines


def _lookup(table: dict[str, Callable], key: str, what: str) -> Callable:
    if key not in table:
        raise CodeError(f"Copy as code cannot write {what} {key!r} yet ({', '.join(table)})")
    return table[key]


def code_for(spec: Spec, options: RunOptions | None = None) -> str:
    """A runnable snippet (torch only, no rnnviz) building `spec`'s module and input as
    `options` say and printing output and h_n (Cell mode: every h_t and the last h).

    Its variables `output`, `h_n` (and `c_n` for LSTM) hold exactly the trace's
    tensors["output"], tensors["h_n"], tensors["c_n"] (Cell mode: h_n and c_n are the last
    h and c, (batch, hidden)). Raises CodeError for a mode it cannot write.
    """
    options = options or RunOptions()
    options.check(spec)
    seeding = options.seeding
    draw = _lookup(SEEDINGS, seeding, "the seeding mode")(options)
    make_x = _lookup(INPUTS, options.input_kind, "the input kind")
    make_h = _lookup(INITS, options.init, "the initial state")
    cell = options.stepper == "cell"
    name = "cell" if cell else {"lstm": "lstm", "gru": "gru", "rnn": "rnn"}[spec.cell]
    lstm = spec.cell == "lstm"
    t, b = spec.seq_len, spec.batch_size

    head = f"# rnnviz: {constructor(spec, cell)}, seq_len={t}, batch={b}, seed {options.seed}"
    lines = [head, "import torch", "from torch import nn", ""]
    # No autograd: the trace runs under no_grad, and tensors then print without grad_fn.
    lines += ["torch.set_grad_enabled(False)"]
    lines += _module_lines(spec, options, name)
    lines.append("")
    # make_inputs draws x first, then h0, then c0: the order is part of the numbers.
    lines += list(draw.setup)
    layout = "(batch, seq_len, input)" if spec.batch_first else "(seq_len, batch, input)"
    x_shape = _shape(spec.input_shape())
    if cell:
        x_expr = make_x(x_shape, draw)
        if spec.batch_first:
            lines.append(f"x = {x_expr}.transpose(0, 1)  # made {layout}; a cell steps dim 0")
        else:
            lines.append(f"x = {x_expr}  # {layout}")
        hshape = _shape((b, spec.hidden_size))
        lines.append(f"h = {make_h(hshape, draw)}  # (batch, hidden)")
        if lstm:
            lines.append(f"c = {make_h(hshape, draw)}")
        lines += [
            "",
            "hs = []",
            "for x_t in x:  # x_t: (batch, input)",
            f"    h, c = {name}(x_t, (h, c))" if lstm else f"    h = {name}(x_t, h)",
            "    hs.append(h)",
            "output = torch.stack(hs)  # every h_t: (seq_len, batch, hidden)",
            "h_n = h",
        ]
        if lstm:
            lines.append("c_n = c")
    else:
        ld = spec.num_layers * spec.num_directions
        lines.append(f"x = {make_x(x_shape, draw)}  # {layout}")
        lines.append(
            f"h0 = {make_h(_shape((ld, b, spec.out_hidden)), draw)}"
            "  # (num_layers * directions, batch, hidden)"
        )
        if lstm:
            lines.append(f"c0 = {make_h(_shape((ld, b, spec.hidden_size)), draw)}")
            lines += ["", f"output, (h_n, c_n) = {name}(x, (h0, c0))"]
        else:
            lines += ["", f"output, h_n = {name}(x, h0)"]
    if draw.kwarg and draw.kwarg not in "\n".join(lines):
        lines = [ln for ln in lines if ln not in draw.setup]  # nothing random: no generator
    lines += ["print(output)", "print(h_n)"]
    if lstm:
        lines.append("print(c_n)")
    return "\n".join(lines) + "\n"
