"""Training as a document result: text settings in, a growing training history out.

The document's data source for text is a `TextSettings` (`set_text`). Pressing Train makes a
`TrainRequest` the source of the "train" result kind; the runner then runs `TRAIN_JOB` on its
own lane, which hands every epoch back as a partial `TrainingHistory` (so the loss curve
grows while it trains), holds between epochs while the document pauses "train", and stops
on `Document.cancel_kind("train")` keeping the epochs it finished.

Showing an epoch (`show_epoch`) makes an `EpochSource` the source of the forward trace: the
runner then traces the RNN with that epoch's weights on the training input, and the result
is a `TextSnapshot` — a Snapshot like any other, so the graph, gate heatmaps, equations and
shapes follow the epoch without knowing about text. Editing the spec or run options leaves
this mode (back to random inputs).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

from rnnviz.config.spec import Spec, SpecError
from rnnviz.document.document import TRACE, Document, ResultKey
from rnnviz.document.job import Job, JobContext
from rnnviz.document.snapshot import Snapshot
from rnnviz.text.notes import epoch_note
from rnnviz.text.settings import TextSettings

#: The result kind of a training history.
TRAIN = "train"
#: Partial histories are handed to the document at most this often (plus the last epoch), so
#: thousands of fast epochs do not flood the GUI thread.
PARTIAL_EVERY_S = 0.03


@dataclass(frozen=True)
class TrainRequest:
    """One press of Train: the settings to train and a number that makes each press new."""

    settings: TextSettings
    number: int = 0
    #: A run file being reopened (rnnviz.io.run_file.SavedRun): the job retrains its settings
    #: and checks every epoch against the file's history (see `reproduction`).
    expect: Any = field(default=None, compare=False, repr=False)
    #: Where `expect` was read from (shown in the UI).
    path: str = ""


@dataclass(frozen=True)
class TrainingHistory:
    """A training so far (a partial result while it runs, then the final one).

    `settings` has epochs and seed filled in; `spec` describes the RNN as traced on the
    training input (seq_len = longest sequence, batch = number of texts); `epochs` are
    rnnviz.text.training.EpochRecord in order (loss and predictions of each epoch's forward
    pass before its optimizer step); `initial`/`final` state_dicts (numpy; `final` None
    until done); `done` once the loop ended, `cancelled` if it ended early; `run` the
    TrainingRun once done (what save_run writes).
    """

    request: TrainRequest
    settings: TextSettings
    pipeline: Any
    spec: Spec
    initial: dict[str, Any]
    epochs: tuple[Any, ...]
    total: int
    final: dict[str, Any] | None = None
    done: bool = False
    cancelled: bool = False
    seconds: float = 0.0
    run: Any = field(default=None, compare=False, repr=False)
    #: For a reopened run file: how the retraining compared with the file ("" otherwise).
    reproduction: str = ""
    #: False when a reopened file's history was not reproduced (the views then show the
    #: retrained epochs, which the message says differ).
    reproduced: bool = True
    #: True when the loop is holding between epochs on the user's Pause: posted the moment
    #: it starts holding, with every epoch done by then. Until then a Pause is only asked
    #: for (the loop finishes its epoch first), and the partial before may lag the loop by
    #: up to PARTIAL_EVERY_S of epochs: a label may say "paused" only from this history on.
    paused: bool = False

    @property
    def losses(self) -> list[float]:
        """Every finished epoch's loss, in order."""
        return [e.loss for e in self.epochs]

    def as_run(self) -> Any:
        """A rnnviz.text.training.TrainingRun of the epochs so far (what trace_epoch takes)."""
        if self.run is not None:
            return self.run
        from rnnviz.text.training import TrainingRun

        last = self.epochs[-1].state if self.epochs else self.initial
        return TrainingRun(
            self.settings,
            self.pipeline,
            self.initial,
            self.final if self.final is not None else last,
            self.epochs,
            self.cancelled,
            self.seconds,
        )


@dataclass(frozen=True)
class EpochSource:
    """The forward trace shows epoch `epoch` (1-based) of training request `request`;
    `sequence` None traces the whole batch, b one sequence to its own length. `history` is
    the record the epoch is read from (not part of the key: an epoch's weights never change
    while later epochs arrive)."""

    request: TrainRequest
    epoch: int
    sequence: int | None = None
    history: TrainingHistory | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class TextSnapshot(Snapshot):
    """A Snapshot of the RNN at one epoch of training, plus the pipeline around it.

    `stages` is the rnnviz.text.pipeline.PipelineRun of that epoch's weights on the training
    text (tokens … loss, each a Stage, and the graph nodes/edges around the RNN);
    `history` the training the epoch belongs to."""

    epoch: int = 0
    stages: Any = None
    history: TrainingHistory | None = None
    #: The labels of the graph around the RNN (rnnviz.analysis.text_graph.TextFrame): the
    #: graph is drawn with them, and a re-fold or an export rebuilds it with them.
    frame: Any = None
    #: The one sequence traced alone (its EpochSource's), None for the whole batch.
    sequence: int | None = None

    @property
    def source_note(self) -> str:
        """The epoch (and sequence) whose weights ran, in the trace's own words
        ("text model: epoch 15 weights"): what every export of this snapshot names."""
        return epoch_note(self.epoch, self.sequence)


# ---- the document side (GUI thread) ---------------------------------------------------------
def text_settings(doc: Document) -> TextSettings | None:
    """The text settings the document holds (the training view's form), or None."""
    return getattr(doc, "text", None)


def attach(doc: Document) -> None:
    """Mark "train" as a kind computed only on request (a training view calls this before
    it wants the kind, so opening the view trains nothing)."""
    doc._needs_source.add(TRAIN)


def set_text(doc: Document, settings: TextSettings) -> None:
    """Make `settings` the document's text source (not trained until `request_training`)."""
    if settings != text_settings(doc):
        doc.text = settings  # type: ignore[attr-defined]
        doc.sigSourceChanged.emit()


def request_training(
    doc: Document,
    settings: TextSettings | None = None,
    *,
    expect: Any = None,
    path: str = "",
) -> TrainRequest:
    """Train `settings` (default: the document's text settings): a new request each call,
    so pressing Train again retrains (the same seed gives the same history). `expect` (a
    SavedRun read from `path`) reopens a run file: its epochs are retrained and compared.
    Returns the request."""
    settings = settings or text_settings(doc) or TextSettings()
    if settings != text_settings(doc):
        doc.text = settings  # type: ignore[attr-defined]
    old = doc.sources.get(TRAIN)
    request = TrainRequest(settings, (old.number + 1) if old is not None else 1, expect, path)
    doc.paused.discard(TRAIN)
    set_following(doc, True)
    attach(doc)
    if TRAIN not in doc.wanted():
        doc.want(TRAIN)  # a Train press wants its result even with no training view open
    doc.set_source(TRAIN, request, needed=True)
    return request


def history(doc: Document) -> TrainingHistory | None:
    """The training of the current request so far (None before Train)."""
    request = doc.sources.get(TRAIN)
    if request is None:
        return None
    return doc.results.get(doc.key(TRAIN))


def following(doc: Document) -> bool:
    """True while the views should follow the newest epoch as training runs (the default;
    moving an epoch slider back turns it off, moving it to the newest epoch on again)."""
    return bool(getattr(doc, "follow_epochs", True))


def set_following(doc: Document, on: bool) -> None:
    """Follow the newest epoch (True) or stay on the epoch shown (False)."""
    doc.follow_epochs = on  # type: ignore[attr-defined]


def newest_epoch(doc: Document) -> int:
    """How many epochs the current training has finished so far (0 before any)."""
    hist = history(doc)
    return len(hist.epochs) if hist is not None else 0


def epoch_trace_pending(doc: Document) -> bool:
    """True while the views were asked for an epoch whose trace has not landed yet."""
    return isinstance(doc.sources.get(TRACE), EpochSource) and doc.key(TRACE) not in doc.results


def shown_epoch(doc: Document) -> int | None:
    """The epoch the views are asked to show (None: random-input mode)."""
    src = doc.sources.get(TRACE)
    return src.epoch if isinstance(src, EpochSource) else None


def show_epoch(doc: Document, epoch: int, sequence: int | None = None) -> bool:
    """Show epoch `epoch` (1-based) of the current training in every view: the spec becomes
    the trained RNN's and the trace that epoch's. False if there is no such epoch yet."""
    hist = history(doc)
    if hist is None or not 1 <= epoch <= len(hist.epochs):
        return False
    source = EpochSource(hist.request, epoch, sequence, hist)
    if doc.sources.get(TRACE) == source and doc.spec == hist.spec:
        return True
    attach(doc)
    # The options follow the model too: a Cell preset is stepped by hand, and its seed is the
    # training's (the constructor line and title read them).
    options = replace(doc.options, stepper=hist.settings.stepper, seed=hist.settings.seed)
    spec_changed, options_changed = doc.spec != hist.spec, doc.options != options
    doc.spec, doc.options = hist.spec, options
    doc.sources[TRACE] = source
    if options_changed:
        doc.sigOptionsChanged.emit(options)
    if spec_changed or options_changed:
        doc.sigSpecChanged.emit(hist.spec)
    doc.sigSourceChanged.emit()
    return True


# ---- the jobs (worker thread) ----------------------------------------------------------------
def _check_train(spec: Spec, options: Any) -> None:
    # Runs on the document's thread; settings were validated when made, so only what train
    # itself refuses is checked here (before any torch import).
    return None


def _describe_train(spec: Spec, options: Any) -> str:
    return "training …"


def run_training(key: ResultKey, ctx: JobContext) -> TrainingHistory:
    """The TRAIN job: rnnviz.text.training.train on the request's settings, handing each epoch
    to `ctx.partial` as a TrainingHistory; returns the final one (cancelled if stopped)."""
    from rnnviz.engine.inputs import spec_of
    from rnnviz.engine.threads import default_threads, set_threads_for
    from rnnviz.text.pipeline import check_trainable, run_pipeline
    from rnnviz.text.training import train

    request: TrainRequest = key.source
    settings = request.settings
    import torch

    # One torch thread from the first op on: a thread that once runs a two-thread op keeps
    # an OpenMP team, and two teams on two cores made every later two-thread trace on the
    # trace lane slower (1.6x for a GRU 64/256/2 bi forward, 15x for a small LSTM).
    default_threads()  # torch's default, recorded before this 1 becomes what new threads get
    torch.set_num_threads(1)
    pipeline = check_trainable(settings)  # refused (SpecError) before any weight is drawn
    first = run_pipeline(pipeline)  # the initial weights (same seed) give the traced spec
    spec = spec_of(first.model.recurrent, first.rnn_input)
    set_threads_for(spec)  # these models are tiny: one torch thread beats two fighting
    initial = {k: v.detach().numpy().copy() for k, v in first.model.state_dict().items()}
    epochs: list[Any] = []
    started = time.perf_counter()
    last_post = [0.0]

    def post(paused: bool = False) -> None:
        now = time.perf_counter()
        last_post[0] = now
        ctx.partial(
            TrainingHistory(
                request,
                settings,
                pipeline,
                spec,
                initial,
                tuple(epochs),
                settings.epochs,
                seconds=now - started,
                paused=paused,
            )
        )

    def on_epoch(record: Any) -> None:
        epochs.append(record)
        ctx.progress(record.epoch / settings.epochs)
        if time.perf_counter() - last_post[0] >= PARTIAL_EVERY_S or record.epoch == settings.epochs:
            post()

    holding = [False]

    def pause() -> bool:
        # The loop asks before every epoch, and every 20 ms while held: the first time it
        # holds, every epoch done so far is posted, said to be paused at.
        asked = ctx.paused()
        if asked and not holding[0]:
            post(paused=True)
        holding[0] = asked
        return asked

    run = train(settings, on_epoch=on_epoch, cancel=ctx.cancel, pause=pause)
    message, ok = ("", True)
    if request.expect is not None:
        message, ok = reproduction(run, request.expect)
    return TrainingHistory(
        request,
        run.settings,
        run.pipeline,
        spec,
        run.initial,
        run.epochs,
        settings.epochs,
        run.final,
        True,
        run.cancelled,
        run.seconds,
        run,
        message,
        ok,
    )


#: Largest |Δ| accepted between a retrained epoch's loss and the file's (float32 losses).
LOSS_TOL = 1e-5


def reproduction(run: Any, saved: Any) -> tuple[str, bool]:
    """Compare a retrained TrainingRun with a SavedRun read from a file: (message, ok).

    A run file keeps initial and final weights and every epoch's loss and predictions, not
    every epoch's weights; the window retrains from the file's settings (same seed, same
    torch ops), which reproduces every epoch. This says whether it did: initial weights
    identical, every loss within LOSS_TOL, every prediction equal, final weights equal."""
    import numpy as np

    problems = []
    if set(run.initial) != set(saved.initial) or not all(
        np.array_equal(run.initial[k], saved.initial[k]) for k in saved.initial
    ):
        problems.append("initial weights differ from the file's")
    # A cancelled retrain (the user's Cancel) stopped early: only the epochs it ran can be
    # compared, and its "final" weights are those after its last epoch, not the file's end.
    stopped = run.cancelled and len(run.epochs) < len(saved.history)
    if len(run.epochs) != len(saved.history) and not stopped:
        problems.append(f"{len(run.epochs)} epochs retrained, the file has {len(saved.history)}")
    worst = 0.0
    wrong = 0
    for e, h in zip(run.epochs, saved.history):
        worst = max(worst, abs(e.loss - h["loss"]))
        wrong += list(e.predicted) != list(h["predicted"])
    if worst > LOSS_TOL:
        problems.append(f"losses differ by up to {worst:.3g}")
    if wrong:
        problems.append(f"{wrong} epochs predict differently")
    final_diff = 0.0
    if not stopped:
        final_diff = max(
            (float(np.max(np.abs(run.final[k] - saved.final[k]))) for k in saved.final),
            default=0.0,
        )
    if final_diff > LOSS_TOL:
        problems.append(f"final weights differ by up to {final_diff:.3g}")
    n = len(saved.history)
    if stopped and not problems:
        k = len(run.epochs)
        return (
            f"cancelled after {k} of the file's {n} epochs: initial weights identical and the "
            f"{k} retrained epochs match the file (max |Δ| {worst:.2g}); the rest and the final "
            "weights were not compared",
            True,
        )
    if problems:
        return (
            f"retrained the file's settings, but NOT reproduced: {'; '.join(problems)}; "
            "the views show the retrained epochs",
            False,
        )
    return (
        f"the file keeps initial/final weights and the history, not every epoch's weights: "
        f"retrained its {n} epochs from its settings and initial weights — identical initial "
        f"weights, all {n} losses match (max |Δ| {worst:.2g}), predictions equal, final "
        f"weights match (max |Δ| {final_diff:.2g})",
        True,
    )


def run_epoch_trace(key: ResultKey, ctx: JobContext) -> TextSnapshot:
    """The forward-trace job in text mode: the verified Trace of the RNN with the source's
    epoch weights on the training input, with the pipeline stages of that pass."""
    from rnnviz.analysis.graph import build_graph
    from rnnviz.analysis.shapes import shapes
    from rnnviz.document.snapshot import draw_fold
    from rnnviz.engine.threads import set_threads_for
    from rnnviz.text.pipeline import run_pipeline
    from rnnviz.text.training import trace_epoch

    source: EpochSource = key.source
    if source.history is None:
        raise SpecError("epoch", "no training to show")
    started = time.perf_counter()
    spec = key.spec
    set_threads_for(spec)
    run = source.history.as_run()
    tr = trace_epoch(run, source.epoch, source.sequence)
    prun = run_pipeline(run.pipeline, run.epochs[source.epoch - 1].state)
    if tr.spec != spec:
        spec = tr.spec  # one sequence alone is shorter than the padded batch
    frame = text_frame(prun, source.epoch, source.sequence)
    graph = build_graph(spec, fold=draw_fold(spec), text=frame)
    return TextSnapshot(
        spec,
        key.options,
        tr,
        shapes(spec),
        graph,
        time.perf_counter() - started,
        epoch=source.epoch,
        stages=prun,
        history=source.history,
        frame=frame,
        sequence=source.sequence,
    )


def run_epoch_grad(key: ResultKey, ctx: JobContext) -> Any:
    """The gradients job in text mode: a GradResult of the source's epoch RNN on the
    training input (what the trace on screen ran), for the kind's loss, verified against
    torch's autograd through that same module."""
    from rnnviz.engine.threads import set_threads_for
    from rnnviz.grad.result import module_grad_result
    from rnnviz.text.training import epoch_rnn

    source: EpochSource = key.source
    if source.history is None:
        raise SpecError("epoch", "no training to show")
    set_threads_for(key.spec)
    rnn = epoch_rnn(source.history.as_run(), source.epoch, source.sequence)
    loss = dict(key.params).get("loss", "last")
    return module_grad_result(
        rnn.module, rnn.x, rnn.hx, loss, rnn.notes, progress=ctx.progress, cancel=ctx.cancel
    )


def text_frame(prun: Any, epoch: int = 0, sequence: int | None = None) -> Any:
    """The TextFrame (rnnviz.analysis.text_graph) of a recorded pass `prun`
    (rnnviz.text.pipeline.PipelineRun): the tokens fed at each step, the encoder and head
    modules, the predicted and target token per step and the per-step shapes, all read from
    that pass's tensors. `sequence` b keeps only row b (the trace of one sequence alone)."""
    from rnnviz.analysis.text_graph import TextFrame

    model, pipe, fwd = prun.model, prun.pipeline, prun.forward
    s = pipe.settings
    rows = list(range(len(pipe.inputs))) if sequence is None else [sequence]
    width = max(len(pipe.inputs[b]) for b in rows)
    tv = pipe.target_vocab

    def per_step(table: list[list[str]]) -> tuple[str, ...]:
        # Several sequences at one step read "h | a"; padding past a length shows "·".
        return tuple(" | ".join(r[t] if t < len(r) else "·" for r in table) for t in range(width))

    tokens = per_step([list(pipe.input_tokens[b]) for b in rows])
    pred = fwd.scores.detach().max(dim=-1).indices  # (B, T) per step, (B,) for head "last"
    lengths = pipe.lengths
    if pred.dim() == 2:
        predicted = per_step([tv.decode(pred[b, : lengths[b]].tolist()) for b in rows])
    else:  # one class per sequence, read at its last step
        last = [[""] * (lengths[b] - 1) + tv.decode([int(pred[b])]) for b in rows]
        predicted = per_step(last)
    targets = per_step([list(pipe.target_tokens[b]) for b in rows]) if pipe.target_tokens else ()
    n = len(rows)
    c = int(fwd.logits.shape[-1])
    if model.embedding is not None:
        encoder = f"Embedding({model.vocab_size}, {s.embedding_dim})"
    else:
        encoder = f"one_hot({model.vocab_size})"
    head = f"Linear({s.hidden_size}, {model.num_classes})" if model.head is not None else ""
    return TextFrame(
        tokens=tokens,
        encoder=encoder,
        index_shape=f"({n},)",
        encoded_shape=f"({n}, {model.input_size})",
        head=head,
        head_mode=s.head if model.head is not None else "none",
        head_in_shape=f"({n}, {s.hidden_size})",
        logits_shape=f"({n}, {c})",
        predicted=predicted,
        targets=targets,
        epoch=epoch,
    )


def _no_source(*_: Any) -> None:
    raise SpecError("train", "press Train: training runs only for a TrainRequest")


TRAIN_JOB = Job(_check_train, _describe_train, _no_source, run_source=run_training, lane="train")
