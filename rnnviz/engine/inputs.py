"""The module and input a Spec describes, and the Spec a user's module describes.

`build_module` and `make_inputs` are how the window, the CLI and `trace_spec` turn a
configuration into torch objects; `spec_of` reads a user's module back into a Spec."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from rnnviz.config.options import INIT_KINDS, INPUT_KINDS, RunOptions
from rnnviz.config.rng import seeded_global
from rnnviz.config.spec import Spec
from rnnviz.engine.gates import DirectionWeights

#: The largest dropout a Spec holds, standing in for a module's dropout=1.0.
MAX_SPEC_DROPOUT = 0.99

CELL_TYPES: dict[type, str] = {nn.LSTMCell: "lstm", nn.GRUCell: "gru", nn.RNNCell: "rnn"}


def spec_of(module: nn.Module, x: torch.Tensor) -> Spec:
    """The Spec describing `module` run on input `x` (batched, in the module's layout)."""
    if isinstance(module, nn.RNNBase):
        cell = {"LSTM": "lstm", "GRU": "gru", "RNN_TANH": "rnn", "RNN_RELU": "rnn"}[module.mode]
        t_dim, b_dim = (1, 0) if module.batch_first else (0, 1)
        return Spec(
            cell=cell,
            input_size=module.input_size,
            hidden_size=module.hidden_size,
            num_layers=module.num_layers,
            bidirectional=module.bidirectional,
            batch_first=module.batch_first,
            bias=module.bias,
            nonlinearity="relu" if module.mode == "RNN_RELU" else "tanh",
            # torch allows dropout=1.0, a Spec takes [0, 1); dropout acts only in
            # training, so the traced (eval) pass is the same either way — see notes.
            dropout=min(float(module.dropout), MAX_SPEC_DROPOUT),
            proj_size=getattr(module, "proj_size", 0),
            seq_len=x.shape[t_dim],
            batch_size=x.shape[b_dim],
        )
    for cls, cell in CELL_TYPES.items():
        if isinstance(module, cls):
            assert isinstance(module, nn.RNNCellBase)
            return Spec(
                cell=cell,
                input_size=module.input_size,
                hidden_size=module.hidden_size,
                bias=module.bias,
                nonlinearity=getattr(module, "nonlinearity", "tanh"),
                seq_len=x.shape[0],
                batch_size=x.shape[1],
            )
    raise TypeError(
        f"rnnviz traces nn.RNN, nn.LSTM, nn.GRU and their *Cell versions, "
        f"not {type(module).__name__}"
    )


def direction_weights(module: nn.Module, layer: int, direction: int) -> DirectionWeights:
    """The parameters of (layer, direction) of an RNNBase module, or of a *Cell (layer 0)."""
    if isinstance(module, nn.RNNCellBase):
        return DirectionWeights(
            module.weight_ih,
            module.weight_hh,
            getattr(module, "bias_ih", None),
            getattr(module, "bias_hh", None),
        )
    sfx = f"_l{layer}" + ("_reverse" if direction else "")
    # A registered parameter lives in `_parameters`, where Module.__getattr__ would find it
    # (nothing can shadow it: register_parameter refuses a name already taken); looking
    # there first skips that slow Python hook, five times per lane. Anything else (a
    # parametrization's property, a missing bias) goes through getattr as before.
    own = module._parameters

    def get(name: str) -> Any:
        p = own.get(name + sfx)
        return p if p is not None else getattr(module, name + sfx, None)

    w_ih, w_hh = get("weight_ih"), get("weight_hh")
    if w_ih is None or w_hh is None:  # what getattr without a default raised before
        raise AttributeError(f"{type(module).__name__} has no weight_ih{sfx}/weight_hh{sfx}")
    return DirectionWeights(w_ih, w_hh, get("bias_ih"), get("bias_hh"), get("weight_hr"))


def default_state(spec: Spec, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    ld = spec.state_rows
    b = spec.batch_size
    h0 = torch.zeros(ld, b, spec.out_hidden, dtype=x.dtype, device=x.device)
    c0 = (
        torch.zeros(ld, b, spec.hidden_size, dtype=x.dtype, device=x.device)
        if spec.cell == "lstm"
        else None
    )
    return h0, c0


def make_inputs(
    spec: Spec,
    seed: int = 0,
    input_kind: str = "randn",
    init: str = "zeros",
    dtype: torch.dtype = torch.float32,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, Any]:
    """The input x (spec.input_shape()) and hx for a spec: x seeded normal (randn), uniform
    [0, 1) (rand), zeros or ones; hx zeros (torch's default) or seeded normal as the
    tutorials do. hx is h0, or (h0, c0), each (layers × directions, batch, size).

    x and h0 are drawn from `generator` when given, else from their own Generator(seed + 1),
    never the stream that drew the weights."""
    if input_kind not in INPUT_KINDS:
        raise ValueError(f"input_kind must be one of {', '.join(INPUT_KINDS)}, got {input_kind!r}")
    if init not in INIT_KINDS:
        raise ValueError(f"init must be one of {', '.join(INIT_KINDS)}, got {init!r}")
    gen = generator or torch.Generator().manual_seed(seed + 1)
    shape = spec.input_shape()
    if input_kind in ("randn", "rand"):
        draw = torch.randn if input_kind == "randn" else torch.rand
        x = draw(shape, generator=gen, dtype=dtype)
    else:
        x = (torch.zeros if input_kind == "zeros" else torch.ones)(shape, dtype=dtype)
    ld, b = spec.state_rows, spec.batch_size

    def state(size: int) -> torch.Tensor:
        if init == "randn":
            return torch.randn((ld, b, size), generator=gen, dtype=dtype)
        return torch.zeros((ld, b, size), dtype=dtype)

    h0 = state(spec.out_hidden)
    return x, ((h0, state(spec.hidden_size)) if spec.cell == "lstm" else h0)


def _new_module(spec: Spec, options: RunOptions) -> nn.Module:
    """The module or *Cell, its weights drawn from torch's global generator as it stands."""
    if options.stepper == "cell":
        cls = {"lstm": nn.LSTMCell, "gru": nn.GRUCell, "rnn": nn.RNNCell}[spec.cell]
        kwargs: dict[str, Any] = {"bias": spec.bias}
        if spec.cell == "rnn":
            kwargs["nonlinearity"] = spec.nonlinearity
        return cls(spec.input_size, spec.hidden_size, **kwargs).eval()
    # Spec.build seeds and restores the global generator itself; the tutorial order needs
    # the draws to continue on it, so the constructor is called the same way here.
    return spec.build_unseeded()


def _scale(module: nn.Module, options: RunOptions) -> nn.Module:
    if options.weight_scale != 1.0:
        with torch.no_grad():
            for name, p in module.named_parameters():
                if name.startswith("weight"):
                    p.mul_(options.weight_scale)
    return module


def build_module(spec: Spec, options: RunOptions) -> nn.Module:
    """The module `options` asks for: spec.build(seed), or the matching *Cell with weights from
    the same seed, then every weight scaled by `weight_scale`."""
    options.check(spec)
    with seeded_global(options.seed):  # the caller's global RNG is left as it was
        module = _new_module(spec, options)
    return _scale(module, options)


def make_run(spec: Spec, options: RunOptions) -> tuple[nn.Module, torch.Tensor, Any]:
    """The module, input x and hx a run of `spec` under `options` uses.

    Seeding "separate": the module from manual_seed(seed), x and h0 from Generator(seed + 1).
    Seeding "tutorial": the order the tutorials write, on torch's global generator —
    `torch.manual_seed(seed)`; build the module; `x = torch.randn(...)` (or rand);
    `h0 = torch.randn(...)` (then c0) — so a pasted tutorial example gives the same numbers.
    The caller's global generator is restored either way. x is in the spec's layout and hx is
    (layers × directions, batch, size), as `make_inputs` returns them.
    """
    if options.seeding != "tutorial":
        module = build_module(spec, options)
        x, hx = make_inputs(spec, options.seed, options.input_kind, options.init)
        return module, x, hx
    options.check(spec)
    with seeded_global(options.seed):
        module = _new_module(spec, options)
        x, hx = make_inputs(
            spec, options.seed, options.input_kind, options.init, generator=torch.default_generator
        )
    return _scale(module, options), x, hx
