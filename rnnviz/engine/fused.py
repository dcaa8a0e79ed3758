"""torch's own fused RNN kernels, run one layer (or one direction, in chunks) at a time.

nn.RNNBase.forward makes one call of torch._VF.lstm/gru/rnn_* for all layers; the same kernel
called per layer with that layer's flat weights returns every layer's h_t, which the module
call does not. Run whole (both directions in one call, as the module does) it is bit-identical
to the module's own output. Very large layers run in chunks, so a cancel is seen: a float32
LSTM on the CPU through oneDNN's per-direction layer kernel (what torch's forward calls
itself), which stays bit-identical; anything else through the per-layer kernel on flipped
input, which agrees to round-off, and the trace says so in its notes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from rnnviz.config.spec import Spec
from rnnviz.engine.gates import DirectionWeights

#: Timesteps per fused-kernel call when a layer is run in chunks; a cancel is seen between them
#: (CALL_MACS bounds each call's work, and so the wait, whatever this is). 512, not 256: each
#: extra call costs a kernel launch and a smaller input GEMM, and the bench's large LSTM
#: (T = 500) then runs one call per direction, as torch's own forward does. Measured in one
#: process, calls alternated, 7 rounds, twice: full trace ÷ forward 1.976 → 1.922 and
#: 1.975 → 1.936, window 1.099 → 1.067 and 1.087 → 1.066.
CHUNK = 512


def fused_step(
    spec: Spec, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor | None, w: DirectionWeights
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """One layer, one direction, forward in time, through the same ATen kernel nn.RNNBase
    calls (torch._VF.*). Returns (output (T,B,H_out), h_T (1,B,H_out), c_T or None)."""
    args = (w.flat(), spec.bias, 1, 0.0, False, False, False)
    if spec.cell == "lstm":
        out, hn, cn = torch._VF.lstm(x, (h, c), *args)  # type: ignore[attr-defined,arg-type]
        return out, hn, cn
    out, hn = kernel(spec)(x, h, *args)
    return out, hn, None


def run_direction(
    spec: Spec,
    x: torch.Tensor,
    h0: torch.Tensor,
    c0: torch.Tensor | None,
    w: DirectionWeights,
    reverse: bool,
    tick: Callable[[], None],
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """torch's own h_t for every t of one direction (T, B, H_out), indexed by input position,
    and its final c (B, H) for LSTM. Runs in chunks so a cancel is seen between them."""
    seq = x.flip(0) if reverse else x
    h, c = h0.unsqueeze(0), (c0.unsqueeze(0) if c0 is not None else None)
    pieces = []
    step = chunk_steps(spec)
    for start in range(0, seq.shape[0], step):
        out, h, c = fused_step(spec, seq[start : start + step], h, c, w)
        pieces.append(out)
        tick()
    hseq = torch.cat(pieces, 0) if len(pieces) > 1 else pieces[0]
    if reverse:
        hseq = hseq.flip(0)
    return hseq, (c[0] if c is not None else None)


#: Work per fused call, in multiply-accumulates, above which a layer is split, so a cancel is
#: seen within the 200 ms the app promises even on a busy machine: 1.5e10 measured 0.25 s per
#: call with other work running here; 1.0e10 keeps the worst cancel at ~50 ms in
#: `rnnviz bench`, and chunking cost nothing measurable in the trace ÷ forward ratio.
CALL_MACS = 1.0e10


def _step_macs(spec: Spec) -> float:
    """Multiply-accumulates of one timestep of one direction of the widest layer."""
    widest = max(spec.layer_input_size(k) for k in range(min(spec.num_layers, 2)))
    return (
        spec.batch_size * spec.gate_count * spec.hidden_size * (widest + spec.out_hidden)
        + spec.batch_size * spec.hidden_size * spec.proj_size
    )


def chunk_steps(spec: Spec) -> int:
    """Timesteps per fused call when a layer runs in chunks: at most CHUNK, fewer when one
    step is so expensive that CHUNK of them would keep a cancel waiting."""
    return int(max(1, min(CHUNK, CALL_MACS // max(_step_macs(spec), 1.0))))


def whole_layers(spec: Spec) -> bool:
    """Whether to run each layer in one fused call (both directions at once).

    That is exactly what the module's forward does, so the results are bit-identical to
    module(x). Its only cost is that a cancel waits for the layer to finish, so layers above
    CALL_MACS run one direction at a time in `chunk_steps` pieces instead. Those agree with
    the module to round-off only: the kernel computes each chunk's input projection as its
    own GEMM, which rounds differently from one GEMM over all T·B rows (measured: ~1 ulp). A
    trace on that path says so in its notes instead of calling the module a second time,
    which would double the cost and keep a cancel waiting for the whole forward.
    """
    return spec.seq_len * _step_macs(spec) * spec.num_directions <= CALL_MACS


def run_layer(
    spec: Spec,
    x: torch.Tensor,
    h0: torch.Tensor,
    c0: torch.Tensor | None,
    ws: list[DirectionWeights],
) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor | None]]:
    """One whole layer (every direction) in one fused call, as nn.RNNBase.forward runs it.

    Returns the kernel's output (T, B, D·H_out) (the next layer's input, as is), per
    direction its view of torch's h_t for every t (T, B, H_out), indexed by input position,
    and the final c (B, H) for LSTM (else None)."""
    flat = [t for w in ws for t in w.flat()]
    args = (flat, spec.bias, 1, 0.0, False, spec.bidirectional, False)
    if spec.cell == "lstm":
        out, _, cn = torch._VF.lstm(x, (h0, c0), *args)  # type: ignore[attr-defined,arg-type]
    else:
        out, _ = kernel(spec)(x, h0, *args)
        cn = None
    hout = spec.out_hidden
    hseqs = [out[:, :, d * hout : (d + 1) * hout] for d in range(len(ws))]
    return out, hseqs, [cn[d] if cn is not None else None for d in range(len(ws))]


def onednn_lstm(spec: Spec, x: torch.Tensor) -> bool:
    """Whether torch's own LSTM forward on `x` runs oneDNN's per-direction layer kernel
    (aten::mkldnn_rnn_layer): CPU float32, oneDNN enabled, no projection. Then
    `run_layer_onednn` calls that very kernel and is bit-identical to module(x), in chunks
    and for the backward direction too (tests assert it)."""
    return (
        spec.cell == "lstm"
        and spec.proj_size == 0
        and x.device.type == "cpu"
        and x.dtype == torch.float32
        and x.numel() > 0
        and torch.backends.mkldnn.is_available()
        and torch._C._get_mkldnn_enabled()
    )


def run_layer_onednn(
    spec: Spec,
    x: torch.Tensor,
    h0: torch.Tensor,
    c0: torch.Tensor,
    ws: list[DirectionWeights],
    tick: Callable[[], None],
) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor | None]]:
    """One LSTM layer through the kernel torch's forward runs per direction, in chunks of
    `chunk_steps` so a cancel is seen between them; the backward direction runs with the
    kernel's own `reverse` flag, last chunk first. Every chunk writes into one (T, B, D·H)
    buffer, which is the next layer's input: no flips, no cat.

    Returns (that buffer, per direction its (T, B, H) view indexed by input position, per
    direction the final c (B, H))."""
    steps, bsz, hid = x.shape[0], x.shape[1], spec.hidden_size
    out = x.new_empty((steps, bsz, hid * len(ws)))
    step = chunk_steps(spec)
    starts = list(range(0, steps, step))
    hseqs: list[torch.Tensor] = []
    c_last: list[torch.Tensor | None] = []
    xs = x.contiguous()  # the kernel reads its input as dense (T, B, I), as torch's forward does
    for d, w in enumerate(ws):
        if w.b_ih is not None and w.b_hh is not None:
            b_ih, b_hh, has_bias = w.b_ih, w.b_hh, True
        else:  # torch's forward passes zeros to the kernel when the module has no bias
            b_ih = b_hh = x.new_zeros(spec.gate_count * hid)
            has_bias = False
        h, c = h0[d], c0[d]
        for start in reversed(starts) if d else starts:
            y, h, c, _ = torch.ops.aten.mkldnn_rnn_layer(
                xs[start : start + step], w.w_ih, w.w_hh, b_ih, b_hh, h, c,
                bool(d), [], 2, hid, 1, has_bias, False, False, False,
            )  # fmt: skip
            out[start : start + step, :, d * hid : (d + 1) * hid] = y
            tick()
        hseqs.append(out[:, :, d * hid : (d + 1) * hid])
        c_last.append(c)
    return out, hseqs, c_last


def kernel(spec: Spec) -> Any:
    """torch's fused kernel for a GRU or Elman RNN."""
    if spec.cell == "gru":
        return torch._VF.gru  # type: ignore[attr-defined]
    return torch._VF.rnn_relu if spec.nonlinearity == "relu" else torch._VF.rnn_tanh  # type: ignore[attr-defined]
