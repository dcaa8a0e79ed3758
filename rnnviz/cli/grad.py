"""`rnnviz grad`: gradients through time of a seeded module, verified against torch's backward.

`rnnviz grad [spec flags] [run flags] --loss {last,sum,hn} [--out FILE.npz] [--json]
[--plot FILE.png|svg] [--csv FILE.csv]` prints one line with both verdicts (forward and
gradients). `--compare` runs RNN tanh, RNN relu, LSTM and GRU on the same sizes, seed and
input and prints ‖∂L/∂h_0‖ / ‖∂L/∂h_{T−1}‖ per layer and direction for each.
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from rnnviz.cli.args import CliError, options_from_args
from rnnviz.config.budget import human
from rnnviz.config.options import RunOptions
from rnnviz.config.spec import Spec, SpecError
from rnnviz.io.atomic import WriteError


def add_grad_flags(p: argparse.ArgumentParser) -> None:
    """The flags of `rnnviz grad` beyond the spec and run flags."""
    from rnnviz.cli.args import _float

    g = p.add_argument_group("gradients")
    g.add_argument(
        "--loss",
        choices=("last", "sum", "hn"),
        default="last",
        help="last: L = Σ output[T−1]; sum: L = Σ output; hn: L = Σ h_n",
    )
    g.add_argument("--out", "-o", default=None, help="write trace + gradients to FILE.npz")
    g.add_argument("--json", action="store_true", help="per-timestep norms as one JSON object")
    g.add_argument(
        "--compare",
        action="store_true",
        help="RNN tanh / RNN relu / LSTM / GRU on the same spec: decay ratio per layer",
    )
    g.add_argument(
        "--forget-bias",
        type=_float,
        default=None,
        help="with --compare: add this to the LSTM's forget-gate bias rows",
    )
    g.add_argument(
        "--clip",
        type=_float,
        default=None,
        help="with --compare: clip_grad_norm_ threshold (norms before and after)",
    )
    g.add_argument("--plot", default=None, help="draw the norm plot to FILE.png or FILE.svg")
    g.add_argument("--csv", default=None, help="write the per-timestep norms to FILE.csv")


def _finite(v: float) -> Any:
    return v if math.isfinite(v) else str(v)


def norms_json(gt: Any) -> dict[str, Any]:
    """{"loss", "loss_value", "grad_verified", "norms": {"l0/fwd/h": [...], ...}}."""
    spec = gt.spec
    norms: dict[str, list[Any]] = {}
    for layer in range(spec.num_layers):
        for d in spec.directions:
            norms[f"l{layer}/{d}/h"] = [_finite(float(v)) for v in gt.norms(layer, d)]
            if spec.cell == "lstm":
                norms[f"l{layer}/{d}/c"] = [_finite(float(v)) for v in gt.c_norms(layer, d)]
    return {
        "spec": spec.title(),
        "loss": gt.loss,
        "loss_value": _finite(gt.loss_value),
        "verified": bool(gt.trace.verified),
        "grad_verified": bool(gt.grad_verified),
        "grad_max_abs_diff": gt.grad_max_abs_diff,
        "grad_max_rel_diff": gt.grad_max_rel_diff,
        "norms": norms,
    }


def compare_text(cmp: Any) -> str:
    """The `--compare` table: one row per cell, one column per (layer, direction), in the
    window's words and marks (`decay_header`, `decay_cells`: "°", "—" and their legend;
    a raw "nan" was printed where no ratio exists)."""
    from rnnviz.grad.text import decay_cells, decay_header, grad_norm_text

    first = cmp.entries[0]
    names, cells, legend = decay_cells(cmp)
    head = f"{decay_header(cmp)}; loss {cmp.loss}, T = {first.spec.seq_len}, "
    head += f"weights × {cmp.weight_scale:g}"
    if cmp.forget_bias is not None:
        head += f", LSTM forget bias +{cmp.forget_bias:g}"
    rows = [head, "cell      " + "".join(f"{n:>12}" for n in names) + "   ‖∂L/∂θ‖"]
    for e, row in zip(cmp.entries, cells):
        ratios = "".join(f"{c:>12}" for c in row)
        rows.append(f"{e.label:<10}{ratios}   {grad_norm_text(cmp, e)}")
    return "\n".join(rows + legend)


def _write(path: str, data: bytes) -> None:
    from rnnviz.io.export import write_export

    try:
        write_export(path, data)
    except WriteError as exc:
        raise CliError(str(exc)) from None


def _plot_format(path: str) -> str:
    ext = path.rsplit(".", 1)[-1].lower() if "." in path else ""
    if ext not in ("png", "svg"):
        raise CliError(f"--plot {path}: draw to a .png or .svg file")
    return ext


def cmd_grad(args: argparse.Namespace, spec: Spec) -> int:
    """`rnnviz grad`: see the module docstring. Exit 0; 2 for a user error."""
    from rnnviz.document.jobs import JOBS
    from rnnviz.grad.text import compare_csv

    options = options_from_args(args, args._explicit)
    if args.plot:
        _plot_format(args.plot)
    if args.compare:
        if args.out:
            raise CliError("--out writes one module's gradients; drop it with --compare")
        if args.forget_bias is not None and not spec.bias:
            raise SpecError("forget_bias", "needs bias (drop --no-bias)")
        JOBS["compare"].check(spec, options)
        from rnnviz.grad.chain import compare

        cmp = compare(spec, options, args.loss, None, args.forget_bias, args.clip)
        if args.json:
            print(
                json.dumps(
                    {
                        e.label: {
                            f"l{layer}/{d}": _finite(v) for (layer, d), v in sorted(e.decay.items())
                        }
                        for e in cmp.entries
                    },
                    indent=1,
                    ensure_ascii=False,
                )
            )
        else:
            print(compare_text(cmp))
        if args.csv:
            _write(args.csv, compare_csv(cmp))
        if args.plot:
            from rnnviz.app.drawing.grad_figures import render_compare

            _write(args.plot, render_compare(cmp, _plot_format(args.plot)))
        return 0
    if args.forget_bias is not None or args.clip is not None:
        raise CliError("--forget-bias and --clip apply to --compare")
    JOBS["grad"].check(spec, options)
    from rnnviz.grad.result import grad_result

    res = grad_result(spec, options, args.loss)
    return _report(args, res, options)


def cmd_grad_run(args: argparse.Namespace) -> int:
    """`rnnviz grad --run FILE [--text T]`: the gradients of a trained text model's RNN
    (the file's final weights) on T (default: the run's first training text), as the
    window's Gradients tab computes them for an epoch; the same outputs as `rnnviz grad`."""
    from rnnviz.cli.train import run_file_pass
    from rnnviz.grad.result import module_grad_result
    from rnnviz.text.notes import epoch_note

    if args.plot:
        _plot_format(args.plot)
    rp = run_file_pass(args)
    rnn = rp.prun.model.recurrent
    # One sentence, on the trace and on the plot: "text model: epoch final weights, text …".
    note = f"{epoch_note(None)}, text {rp.text!r}"
    res = module_grad_result(rnn, rp.prun.rnn_input, rp.prun.hx, args.loss, (note,))
    status = _report(args, res, None, note)
    if not args.json:
        print(f"Input: {rp.text!r}  (the run's final weights, as `trace --run` takes them)")
    return status


def _report(args: argparse.Namespace, res: Any, options: RunOptions | None, note: str = "") -> int:
    """Write --out/--csv/--plot and print the verdict line (or --json) for a GradResult;
    `note` (what the module is of) goes into the plot's caption."""
    from rnnviz.grad.text import grad_badge_text, norms_csv

    gt = res.grads
    spec = res.spec
    if args.out:
        # Here, not at the top: `rnnviz` imports this module to build its parser, and the
        # file format's import (numpy, the records) delayed every command, `gui`'s first
        # trace among them.
        from rnnviz.io.trace_file import save_gradients

        try:
            save_gradients(gt, args.out)
        except WriteError as exc:
            raise CliError(str(exc)) from None
    if args.csv:
        _write(args.csv, norms_csv(gt))
    if args.plot:
        from rnnviz.app.drawing.grad_figures import render_norms

        _write(args.plot, render_norms(res, _plot_format(args.plot), options, note=note))
    if args.json:
        print(json.dumps(norms_json(gt), ensure_ascii=False))
        return 0
    # The forward's verdict in its own words, as the window's badge: "matches torch" was
    # printed for a forward that agrees only up to float32's limit.
    print(
        f"{spec.title()}: forward {gt.trace.verdict.text}; "
        f"{grad_badge_text(gt)}; loss {gt.loss} = {gt.loss_value:.6g}"
        + (f" -> {args.out}" if args.out else "")
        + f" ({human(gt.trace.nbytes)} traced, {gt.seconds * 1000:.0f} ms)"
    )
    return 0
