"""The forward of a trace: torch's own kernels run layer by layer, each lane collected.

nn.RNNBase.forward returns only the last layer's h_t; running the same kernels one layer at a
time (rnnviz.engine.fused) yields every layer's, bit-identical to module(x). Each
(layer, direction) becomes a `Lane`: its input, torch's h_t for every t, its initial state
and final c, and its weights, which is everything the gate recompute reads.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from rnnviz.config.spec import Spec
from rnnviz.engine.cancel import Meter
from rnnviz.engine.fused import (
    chunk_steps,
    onednn_lstm,
    run_direction,
    run_layer,
    run_layer_onednn,
    whole_layers,
)
from rnnviz.engine.inputs import direction_weights
from rnnviz.engine.recompute import Lane


@dataclass
class LayerRuns:
    """What the per-layer forward produced."""

    lanes: list[Lane]  # every (layer, direction), in state_index order
    output: torch.Tensor  # the last layer's output (T, B, D·H_out), time-major
    h_last: list[torch.Tensor]  # each lane's final h (B, H_out), in state_index order
    c_last: list[torch.Tensor]  # each lane's final c (B, H) for LSTM, else empty
    #: True when the layers ran in chunks through the per-layer kernel on flipped input,
    #: which agrees with module(x) to round-off only (see rnnviz.engine.fused).
    rounded: bool


def forward_units(spec: Spec) -> int:
    """How many `Meter` ticks `run_layers` makes for `spec`."""
    if whole_layers(spec):
        return spec.num_layers
    return spec.state_rows * -(-spec.seq_len // chunk_steps(spec))


def run_layers(
    module: nn.RNNBase,
    spec: Spec,
    xt: torch.Tensor,
    h0: torch.Tensor,
    c0: torch.Tensor | None,
    meter: Meter,
) -> LayerRuns:
    """Run `module`'s own kernels on `xt` (T, B, I), one layer at a time, from h0 (and c0
    for LSTM), each (state_rows, B, ·); `meter` ticks after every kernel call."""
    whole = whole_layers(spec)
    onednn = not whole and onednn_lstm(spec, xt)
    lanes: list[Lane] = []
    h_last: list[torch.Tensor] = []
    c_last: list[torch.Tensor] = []
    layer_in = xt
    for layer in range(spec.num_layers):
        rows = slice(spec.state_index(layer, 0), spec.state_index(layer + 1, 0))
        ws = [direction_weights(module, layer, d) for d in range(spec.num_directions)]
        c_layer = c0[rows] if c0 is not None else None
        layer_out: torch.Tensor | None = None
        if whole:
            layer_out, hseqs, c_lasts = run_layer(spec, layer_in, h0[rows], c_layer, ws)
            meter.tick()
        elif onednn:
            assert c_layer is not None
            layer_out, hseqs, c_lasts = run_layer_onednn(
                spec, layer_in, h0[rows], c_layer, ws, meter.tick
            )
        else:
            hseqs, c_lasts = [], []
            for d in range(spec.num_directions):
                hseq, c_fin = run_direction(
                    spec,
                    layer_in,
                    h0[rows][d],
                    c_layer[d] if c_layer is not None else None,
                    ws[d],
                    bool(d),
                    meter.tick,
                )
                hseqs.append(hseq)
                c_lasts.append(c_fin)
        for d, dname in enumerate(spec.directions):
            idx = spec.state_index(layer, d)
            lanes.append(
                Lane(
                    layer,
                    dname,
                    layer_in,
                    hseqs[d],
                    h0[idx],
                    c0[idx] if c0 is not None else None,
                    c_lasts[d],
                    ws[d],
                )
            )
            h_last.append(hseqs[d][0 if d else -1])
            if c_lasts[d] is not None:
                c_last.append(c_lasts[d])  # type: ignore[arg-type]
        if layer_out is not None:
            layer_in = layer_out
        else:
            layer_in = torch.cat(hseqs, dim=2) if len(hseqs) > 1 else hseqs[0]
    return LayerRuns(lanes, layer_in, h_last, c_last, rounded=not whole and not onednn)
