"""Ready-made configurations taken from the tutorials our users learn from.

Each preset is a Spec plus the RunOptions the tutorial uses (most of them draw h0/c0 with
torch.randn, so their init is "randn"). Tutorial examples use seeding "tutorial", the order
their code draws in (manual_seed; build; x = randn; h0 = randn), so the same seed prints
the same numbers in the window as in the tutorial's script.
"""

from __future__ import annotations

from dataclasses import dataclass

from rnnviz.config.options import RunOptions
from rnnviz.config.spec import Spec


@dataclass(frozen=True)
class Preset:
    """A named configuration with the run options that reproduce its tutorial example."""

    key: str
    name: str
    description: str
    spec: Spec
    options: RunOptions
    #: The gate view's colour scale this preset is meant to be seen in ("fixed", "stretched",
    #: "signed-log"; None: whatever the view shows). Loading the preset in the window picks
    #: it, and `rnnviz export --preset … --format gates-*` uses it unless --scale-mode is given.
    gate_scale: str | None = None


PRESETS: tuple[Preset, ...] = (
    Preset(
        "rnn-5-6-2",
        "nn.RNN(5, 6, 2) on (1, 3, 5)",
        "Tutorial 000: seq_len 1, batch 3, h0 ~ randn(2, 3, 6); output (1, 3, 6), h_n (2, 3, 6).",
        Spec("rnn", 5, 6, 2, seq_len=1, batch_size=3),
        RunOptions(init="randn", seeding="tutorial"),
    ),
    Preset(
        "rnncell-4-2",
        "nn.RNNCell(4, 2) over seq 3",
        "Tutorial 001: a cell stepped by hand over seq_len 3, batch 1, hidden starts at zeros; "
        "with torch.manual_seed(0) the first call prints h = (-0.6982, -0.2092), as here.",
        Spec("rnn", 4, 2, 1, seq_len=3, batch_size=1),
        RunOptions(stepper="cell", seeding="tutorial"),
    ),
    Preset(
        "lstm-5-6-2",
        "nn.LSTM(5, 6, 2) on (1, 3, 5)",
        "Tutorial 000: as the RNN example, with c0 ~ randn(2, 3, 6) as well.",
        Spec("lstm", 5, 6, 2, seq_len=1, batch_size=3),
        RunOptions(init="randn", seeding="tutorial"),
    ),
    Preset(
        "gru-5-6-2",
        "nn.GRU(5, 6, 2) on (1, 3, 5)",
        "Tutorial 000: as the RNN example, GRU gates r, z, n.",
        Spec("gru", 5, 6, 2, seq_len=1, batch_size=3),
        RunOptions(init="randn", seeding="tutorial"),
    ),
    Preset(
        "lstm-28-128",
        "LSTM 28 → 128 (parameter formula)",
        "Tutorial 002: (128 + 28) × (128 × 4) + 4 × 128 = 80,384 in TensorFlow/Keras' "
        "one-bias convention (the tutorial prints 128 + 25, a typo: its x has 28 features); "
        "PyTorch has 80,896. seq_len 28 is rnnviz's choice, one 28-feature x per step.",
        Spec("lstm", 28, 128, 1, seq_len=28, batch_size=1),
        RunOptions(seeding="tutorial"),
    ),
    Preset(
        "bilstm-2",
        "2-layer bidirectional LSTM",
        "For tutorial 000's Bi-LSTM section (figures only, no code: these sizes are rnnviz's): "
        "both directions, two layers, h_n of shape (4, batch, H).",
        Spec("lstm", 5, 6, 2, bidirectional=True, seq_len=6, batch_size=1),
        RunOptions(seeding="tutorial"),
    ),
    Preset(
        "relu-explode",
        "Deep relu RNN that explodes",
        "Tutorial 004's warning that a relu RNN can reach huge values over many steps, "
        "forward: 6 relu layers with weights × 8 pass "
        "float32's 3.4e38 and overflow to Inf, then NaN (Inf − Inf). Opens on the signed-log "
        "colour scale, the one that shows 1e38 beside 0.1.",
        Spec("rnn", 8, 32, 6, nonlinearity="relu", seq_len=80, batch_size=1),
        RunOptions(weight_scale=8.0),
        # On a fixed (own, ±max) scale one 1e38 value leaves every other cell white.
        gate_scale="signed-log",
    ),
    Preset(
        "hello-ohlol-shapes",
        "Shapes of tutorial 001's char model (random input)",
        'The shapes of tutorial 001\'s "hello" → "ohlol" model, RNN 4 → 4 over seq_len 5, '
        "batch 1 — run on torch.randn input, NOT the one-hot letters of hello (the text "
        "presets feed real characters).",
        Spec("rnn", 4, 4, 1, seq_len=5, batch_size=1),
        RunOptions(seeding="tutorial"),
    ),
    # Backward through time (Gradients view). The figures are loss "last" at seed 0, checked
    # by tests/test_grad_presets.py.
    Preset(
        "grad-vanishing",
        "Vanishing gradient: tanh RNN over 100 steps",
        "Tutorial 004's chain: L = Σ output[99] of a tanh RNN 10 → 32. In the Gradients view "
        "‖∂L/∂h_t‖ falls from 5.7 at t = 99 to about 6e-28 at t = 0 (a ratio of about 1e-28): "
        "every step back multiplies it by J_sᵀ, J_s = diag(tanh′)·W_hh. Not because each J_s is "
        "small: on the Chain page at t = 99 their norms ‖J_s‖₂ run from 0.90 to 1.10 (median "
        "1.02, 40 of 100 below 1) and their product over the 99 steps to t = 0 is about 3. "
        "The matrices' directions do not line up, so their product shrinks the gradient "
        "although the product of their norms does not.",
        Spec("rnn", 10, 32, 1, seq_len=100, batch_size=1),
        RunOptions(),
    ),
    Preset(
        "grad-exploding",
        "Exploding gradient: relu RNN, weights × 3",
        "A relu RNN 10 → 32 over 60 steps with every weight × 3: ‖∂L/∂h_t‖ (L = Σ output[59]) "
        "grows from 5.7 at t = 59 to about 1e8 at t = 0, while the forward values stay "
        "finite; every step norm ‖J_s‖₂ on the Chain page is 2.5 to 3.1. Clip ‖∂L/∂θ‖ on "
        "the Compare page to see clip_grad_norm_ at work.",
        Spec("rnn", 10, 32, 1, nonlinearity="relu", seq_len=60, batch_size=1),
        RunOptions(weight_scale=3.0),
    ),
    Preset(
        "grad-lstm-gru",
        "LSTM vs GRU over 100 steps",
        "An LSTM 10 → 32 over 100 steps; the Gradients view's Compare page runs GRU (and both "
        "RNNs) on the same sizes, seed and input. ‖∂L/∂h_0‖ / ‖∂L/∂h_99‖: LSTM about 1e-22, "
        "GRU 7e-22, tanh RNN 1e-28 at torch's default init; a forget-gate bias of +1 lifts "
        "the LSTM to about 1e-9 and +3 to about 0.08, because the c → c block of its step "
        "Jacobian (∂c_t/∂c_{t−1} at fixed h_{t−1}) is just diag(f_t).",
        Spec("lstm", 10, 32, 1, seq_len=100, batch_size=1),
        RunOptions(),
    ),
)


def preset(key: str) -> Preset:
    """The preset with `key`; KeyError lists the keys."""
    for p in PRESETS:
        if p.key == key:
            return p
    raise KeyError(f"no preset {key!r}; presets: {', '.join(p.key for p in PRESETS)}")
