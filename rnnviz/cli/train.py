"""`rnnviz train` (train a text model, one line per epoch) and `rnnviz trace --run FILE`.

`train` prints what tutorial 001's loop prints: the predicted string, then the epoch and the
loss of that epoch's forward pass before its optimizer step (the same values; the words differ
a little: the tutorial's print puts two spaces after "Predicted:", and its RNNCell version
says "Predicted string:"). Both call the same core the
window's training job calls (rnnviz.text.training.train, rnnviz.engine.tracing.trace).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from typing import Any

from rnnviz.cli.args import CliError, _float, _int
from rnnviz.config.spec import CELLS, SpecError
from rnnviz.text.presets import TEXT_PRESETS, text_preset
from rnnviz.text.settings import TextSettings


def add_train_flags(p: argparse.ArgumentParser) -> None:
    """The `rnnviz train` flags: a text preset and every setting that overrides it."""
    p.add_argument(
        "--preset",
        choices=[t.key for t in TEXT_PRESETS],
        default=None,
        help="a tutorial preset (default: one-hot nn.RNN(4, 4) on hello → ohlol, seed 0)",
    )
    p.add_argument("--text", action="append", default=None, help="input text (repeatable)")
    p.add_argument("--target", action="append", default=None, help="target text per --text")
    p.add_argument("--task", choices=("map", "next"), default=None)
    p.add_argument("--tokens", choices=("chars", "words"), default=None)
    p.add_argument(
        "--embedding-size", type=_int, default=None, help="nn.Embedding(V, N); 0 = one-hot"
    )
    p.add_argument("--head", choices=("none", "step"), default=None)
    p.add_argument("--cell", choices=CELLS, default=None)
    p.add_argument("--hidden-size", type=_int, default=None)
    p.add_argument("--num-layers", type=_int, default=None)
    p.add_argument("--optimizer", choices=("adam", "sgd"), default=None)
    p.add_argument("--lr", type=_float, default=None)
    p.add_argument("--epochs", type=_int, default=None)
    p.add_argument("--seed", type=_int, default=None)
    p.add_argument("--out", "-o", default=None, help="write the run file (torch.save)")
    p.add_argument("--json", action="store_true", help="one JSON object per epoch")


def settings_from_args(args: argparse.Namespace) -> TextSettings:
    """TextSettings from the preset (or the defaults) with every given flag applied."""
    base = text_preset(args.preset).settings if args.preset else TextSettings()
    changes: dict[str, Any] = {}
    if args.text is not None:
        changes["texts"] = tuple(args.text)
    if args.task is not None:
        changes["task"] = args.task
        if args.task == "next":
            changes["targets"] = ()
    if args.target is not None:
        changes["targets"] = tuple(args.target)
    if args.tokens is not None:
        changes["tokenizer"] = args.tokens
    if args.embedding_size is not None:
        if args.embedding_size == 0:
            changes["encoding"] = "onehot"
        else:
            changes.update(encoding="embedding", embedding_dim=args.embedding_size)
    for flag, name in (
        ("head", "head"),
        ("cell", "cell"),
        ("hidden_size", "hidden_size"),
        ("num_layers", "num_layers"),
        ("optimizer", "optimizer"),
        ("lr", "lr"),
        ("epochs", "epochs"),
        ("seed", "seed"),
    ):
        value = getattr(args, flag)
        if value is not None:
            changes[name] = value
    return base.replace(**changes) if changes else base


def epoch_line(epoch: Any, epochs: int) -> str:
    """Tutorial 001's line: `Predicted: ohlol, Epoch [15/15] loss=0.5741`."""
    return f"Predicted: {' | '.join(epoch.predicted)}, Epoch [{epoch.epoch}/{epochs}] loss={epoch.loss:.4f}"


def cmd_train(args: argparse.Namespace) -> int:
    """`rnnviz train`: train, print one line (or JSON object) per epoch, optionally save."""
    import torch

    from rnnviz.io.atomic import WriteError
    from rnnviz.io.run_file import save_run
    from rnnviz.text.training import train

    settings = settings_from_args(args)
    # These models are tiny: one thread is faster than two (TEXT_NOTES), and the losses
    # printed then do not depend on the machine's core count.
    torch.set_num_threads(1)

    def on_epoch(e: Any) -> None:
        if args.json:
            print(json.dumps({"epoch": e.epoch, "loss": e.loss, "predicted": list(e.predicted)}))
        else:
            print(epoch_line(e, settings.epochs))
        sys.stdout.flush()

    run = train(settings, on_epoch=on_epoch)
    if args.out:
        try:
            save_run(run, args.out)
        except (WriteError, OSError) as exc:
            raise CliError(str(exc)) from None
        print(f"run saved to {args.out}", file=sys.stderr)
    return 0


@dataclass(frozen=True)
class RunFilePass:
    """A run file's trained model on one text: the file read, the text, its one-sequence
    pipeline and the recorded pass (final weights)."""

    saved: Any
    text: str
    tokens: tuple[str, ...]
    pipe: Any
    prun: Any


def run_file_pass(args: argparse.Namespace) -> RunFilePass:
    """Read `args.run` and run its final weights on `args.text` (default: the run's first
    training text), as `trace --run` and `grad --run` both take them; CliError/SpecError for
    an unreadable file or a text the vocabulary cannot encode."""
    from rnnviz.io.run_file import RunFileError, load_run
    from rnnviz.text.pipeline import Pipeline, run_pipeline
    from rnnviz.text.tokens import VocabularyError, tokenize

    try:
        saved = load_run(args.run)
    except (RunFileError, OSError) as exc:
        raise CliError(f"cannot read run file {args.run}: {exc}") from None
    s = saved.settings
    text = args.text if args.text is not None else s.texts[0]
    tokens = tuple(tokenize(text, s.tokenizer))
    if not tokens:
        raise SpecError("text", "has no tokens")
    try:
        indices = tuple(saved.pipeline.vocab.encode(tokens))
    except VocabularyError as exc:
        raise SpecError("text", str(exc)) from None
    pipe = Pipeline(
        s, saved.pipeline.vocab, saved.pipeline.target_vocab, (tokens,), (), (indices,), ()
    )
    return RunFilePass(saved, text, tokens, pipe, run_pipeline(pipe, saved.final))


def cmd_trace_run(args: argparse.Namespace) -> int:
    """`rnnviz trace --run FILE [--text T]`: trace the trained RNN (final weights) on T
    (default: the run's first training text); prints the trace line and the prediction."""
    from rnnviz.engine.tracing import trace
    from rnnviz.io.atomic import WriteError

    rp = run_file_pass(args)
    text, tokens, pipe, prun = rp.text, rp.tokens, rp.pipe, rp.prun
    result = trace(prun.model.recurrent, prun.rnn_input, prun.hx)
    if args.out:
        from rnnviz.io.trace_file import save_trace  # here: `rnnviz` builds its parser from here

        try:
            save_trace(result, args.out)
        except WriteError as exc:
            raise CliError(str(exc)) from None
    pred = prun.stage("predicted").value[0]
    print(result.summary() + (f" -> {args.out}" if args.out else ""))
    print(f"Input: {text!r}  Predicted: {pipe.decode(pred.tolist(), len(tokens))}")
    return 0
