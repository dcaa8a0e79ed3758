"""The window's job status and the export's wait tell the truth in every order of events: a
Cancel belongs to the job it was asked of, an export asked for after a Cancel is served, the
wait's percentage is the share of the lanes' multiply-adds verified, and the status line's
lane count never contradicts the badge's. Real torch, the real runner on its worker thread;
a gate holds the trace job after its first record so "still winding down" is a fact of the
test, not a race."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

import rnnviz.document.jobs as jobs
import rnnviz.document.runner as runner_module
import rnnviz.document.snapshot as snapshot_module
from rnnviz.app.dialogs.export_dialog import ExportDialog
from rnnviz.app.qt_post import TraceRunner
from rnnviz.app.views.status import StatusBar
from rnnviz.config.options import RunOptions
from rnnviz.config.spec import Spec
from rnnviz.document.document import GRAD, TRACE, Document
from rnnviz.document.runner import DEBOUNCE_S
from rnnviz.document.snapshot import compute_snapshot
from rnnviz.io.export import export_bytes

#: Lanes of unequal cost: a layer-0 lane reads 40 features, an upper one 2 × 3 (projected).
SPEC = Spec("lstm", 40, 6, 3, bidirectional=True, proj_size=3, seq_len=8, batch_size=2)
LEFT = Qt.MouseButton.LeftButton

pytestmark = [pytest.mark.gui, pytest.mark.filterwarnings("ignore::UserWarning")]


@dataclass
class Gate:
    """Holds every streaming trace job after its first record until `release` is set."""

    holding: threading.Event
    release: threading.Event


@pytest.fixture
def gate(monkeypatch):
    """Every spec streams; the window's trace job stops after its first record (the forward
    plus the lane on screen, already posted) until the test sets `release`."""
    monkeypatch.setattr(jobs, "STREAM_MACS", 0)
    g = Gate(threading.Event(), threading.Event())
    real = runner_module.JOBS[TRACE]

    def held(spec, options, progress, cancel, focus):
        records = real.stream(spec, options, progress, cancel, focus)
        yield next(records)
        g.holding.set()
        assert g.release.wait(120), "the test never released the trace job"
        yield from records

    monkeypatch.setattr(
        runner_module, "JOBS", {**runner_module.JOBS, TRACE: replace(real, stream=held)}
    )
    yield g
    g.release.set()


@pytest.fixture
def window(qtbot):
    """A document, the status bar and the runner (delivering on the GUI thread)."""
    made: list[TraceRunner] = []

    def make(state: Document, debounce_s: float = DEBOUNCE_S) -> tuple[StatusBar, TraceRunner]:
        bar = StatusBar(state)
        qtbot.addWidget(bar)
        made.append(TraceRunner(state, debounce_s))
        return bar, made[-1]

    yield make
    for runner in made:
        runner.shutdown()


def tracing(qtbot, window, gate: Gate) -> tuple[Document, StatusBar, TraceRunner]:
    """The window tracing SPEC, its job held after the first lane landed (1 of 6)."""
    state = Document(SPEC, RunOptions())
    bar, runner = window(state)
    runner.start_now()
    qtbot.waitUntil(lambda: gate.holding.is_set() and state.snapshot is not None, timeout=60_000)
    assert state.snapshot.trace.lanes_verified == 1 and TRACE in state.jobs
    return state, bar, runner


# ---- 1. a Cancel belongs to the job it was asked of ----------------------------------------
def test_a_job_started_after_a_cancel_is_not_cancelling(qtbot, window, gate):
    state, bar, runner = tracing(qtbot, window, gate)
    qtbot.mouseClick(bar.cancel_button, LEFT)
    assert state.job.cancelling
    seen = []
    state.sigJobChanged.connect(lambda job: seen.append((job, state.jobs.get(TRACE))))
    # An edit while the cancelled job is still winding down (held on the worker): the new
    # trace starts (the runner sets its line), queued behind the old one.
    assert state.edit_spec(hidden_size=7)
    qtbot.waitUntil(lambda: "LSTM(40, 7" in state.job.text, timeout=60_000)
    assert not gate.release.is_set()  # the cancelled job has not ended
    assert not state.job.cancelling, state.job
    assert not state.jobs[TRACE].cancelling, state.jobs[TRACE]
    assert "cancelling" not in bar.job_line() and bar.cancel_button.isEnabled()
    gate.release.set()
    qtbot.waitUntil(
        lambda: (
            state.snapshot.spec.hidden_size == 7
            and state.snapshot.trace.complete
            and not runner.busy
        ),
        timeout=60_000,
    )
    started = next(i for i, (job, _) in enumerate(seen) if "LSTM(40, 7" in job.text)
    assert all(not job.cancelling for job, _ in seen[started:]), seen[started:]
    assert all(kind is None or not kind.cancelling for _, kind in seen[started:])


def test_the_status_line_says_cancelling_while_the_cancelled_job_winds_down(qtbot, window, gate):
    state, bar, runner = tracing(qtbot, window, gate)
    assert bar.job_line().startswith("verifying the other lanes")
    qtbot.mouseClick(bar.cancel_button, LEFT)
    assert state.job.cancelling and state.jobs[TRACE].cancelling
    # The job only winds down: its line would promise lanes that will not come.
    assert bar.busy.text() == "cancelling the trace …"
    assert not bar.cancel_button.isEnabled()
    gate.release.set()
    qtbot.waitUntil(lambda: not runner.busy, timeout=60_000)
    assert not state.job.running and not state.jobs and bar.busy.text() == ""
    assert not state.snapshot.trace.complete  # the lanes verified so far stay on screen


# ---- 2. an export asked for after a Cancel is served ---------------------------------------
def cancelled(qtbot, window, gate: Gate, directory: Path):
    """The window's trace cancelled from the status bar while its job is held on the worker
    (so it is still winding down), and an export dialog open on gates-svg."""
    state, bar, runner = tracing(qtbot, window, gate)
    qtbot.mouseClick(bar.cancel_button, LEFT)
    dialog = ExportDialog(state, directory=str(directory))
    qtbot.addWidget(dialog)
    dialog.set_format("gates-svg")
    return state, runner, dialog


def test_an_export_asked_for_after_a_cancel_is_written(qtbot, window, gate, tmp_path):
    state, runner, dialog = cancelled(qtbot, window, gate, tmp_path)
    written: list[str] = []
    dialog.sigExported.connect(lambda path, _n: written.append(path))
    # The user exports while the cancelled job is still on the worker (held by the gate).
    qtbot.mouseClick(dialog.export_button, LEFT)
    asked = dialog.message.text()
    assert dialog.waiting
    gate.release.set()
    qtbot.waitUntil(lambda: not dialog.waiting and not runner.busy, timeout=60_000)
    assert "Nothing was written" not in dialog.message.text(), dialog.message.text()
    assert len(written) == 1
    # While the cancelled job wound down, the wait said so (not its stale lane count).
    assert "the cancelled trace job is stopping" in asked, asked
    snap = state.snapshot
    assert snap.trace.complete and snap.trace.verified
    full = compute_snapshot(SPEC, RunOptions(), lanes="all")
    data = Path(written[0]).read_bytes()
    assert data == export_bytes(SPEC, "gates-svg", snapshot=full, **dialog.choices())


def test_a_cancel_after_the_export_still_ends_the_wait(qtbot, window, gate, tmp_path):
    """The export after a Cancel is served, and a Cancel after the export still wins."""
    state, runner, dialog = cancelled(qtbot, window, gate, tmp_path)
    qtbot.mouseClick(dialog.export_button, LEFT)
    assert dialog.waiting
    state.cancel()
    assert not dialog.waiting and "Nothing was written: the trace was cancelled" in (
        dialog.message.text()
    )
    gate.release.set()
    qtbot.waitUntil(lambda: not runner.busy, timeout=60_000)
    assert not state.snapshot.trace.complete and not list(tmp_path.iterdir())


# ---- 3. the percentage is the share of multiply-adds verified ------------------------------
def shares_in_order(spec: Spec, first: tuple[int, str]) -> list[float]:
    """The share of the work done after the forward and k lanes (k = 0 … n) when `first` is
    verified first and the others follow in the order the job takes them with the selection
    on `first` (smallest pending lane next). The forward does as many multiply-adds as every
    lane's recompute together (`Spec.macs`)."""
    lanes = [(k, d) for k in range(spec.num_layers) for d in spec.directions]
    order = [first] + sorted(set(lanes) - {first})
    macs = [spec.macs]
    for layer, _ in order:
        macs.append(macs[-1] + spec.lane_macs(layer))
    return [m / macs[-1] for m in macs]


@pytest.fixture
def waiting(qtbot, window, monkeypatch, tmp_path):
    """The window holding a cancelled trace (layer 0 fwd verified of six), idle, and an
    export dialog on gates-svg whose Export starts the wait for every lane."""
    monkeypatch.setattr(jobs, "STREAM_MACS", 0)
    state = Document(SPEC, RunOptions())
    state.set_snapshot(compute_snapshot(SPEC, RunOptions(), lanes=[(0, "fwd")]))
    bar, runner = window(state)
    dialog = ExportDialog(state, directory=str(tmp_path))
    qtbot.addWidget(dialog)
    dialog.set_format("gates-svg")
    return state, bar, runner, dialog


def test_the_waits_percentage_weighs_each_lane_by_its_multiply_adds(qtbot, waiting):
    state, bar, runner, dialog = waiting
    shares = shares_in_order(SPEC, (0, "fwd"))
    assert shares[1] > 0.3 and shares[2] - shares[1] > 3 * (shares[3] - shares[2])  # uneven
    shown = []

    def record(_job):
        job = state.jobs.get(TRACE)
        if dialog.waiting and job is not None:
            shown.append((dialog.message.text(), job.text, job.progress))

    with qtbot.waitSignal(dialog.sigExported, timeout=60_000):
        assert not dialog.export()
        state.sigJobChanged.connect(record)  # after the dialog's own handler
    qtbot.waitUntil(lambda: not runner.busy, timeout=60_000)
    progresses = [p for _, _, p in shown]
    assert progresses == sorted(progresses), progresses  # monotone
    first_at: dict[int, float] = {}
    for text, job_text, progress in shown:
        m = re.search(r"— verifying the other lanes \((\d+) of 6 done[^)]*\), (\d+)%\.", text)
        assert m, text
        k = int(m[1])
        # One source: the dialog shows the job's own count and percentage.
        assert f"({k} of 6 done" in job_text and m[2] == f"{progress * 100:.0f}"
        assert shares[k] <= progress < shares[k + 1], (k, progress, shares)
        first_at.setdefault(k, progress)
    assert sorted(first_at) == [1, 2, 3, 4, 5]
    # The line saying k lanes are done comes with exactly their share of the work.
    assert all(first_at[k] == pytest.approx(shares[k], abs=1e-12) for k in first_at), first_at


# ---- 4. the status line's lane counts never contradict the badge ---------------------------
def test_the_status_line_and_dialog_never_contradict_the_badge(qtbot, waiting):
    state, bar, runner, dialog = waiting
    seen = []

    def record(_job):
        if dialog.waiting and TRACE in state.jobs:
            seen.append((bar.badge.text(), bar.job_line(), dialog.message.text()))

    bar._snapshot(state.snapshot)  # the badge of the trace on screen (it landed before the bar)
    with qtbot.waitSignal(dialog.sigExported, timeout=60_000):
        assert not dialog.export()
        state.sigJobChanged.connect(record)  # after the bar's and the dialog's handlers
    qtbot.waitUntil(lambda: not runner.busy, timeout=60_000)
    assert seen
    ahead = 0
    for badge, line, message in seen:
        b = re.match(r"verified (\d+) of 6 lanes", badge)
        assert b, badge
        on_screen = int(b[1])
        m = re.search(r"\((\d+) of 6 done, (\d+) on screen\)", line)
        assert m, line
        # The status line's count of what is on screen is the badge's; what the worker has
        # verified is worded apart ("done") and is never less.
        assert int(m[2]) == on_screen and int(m[1]) >= on_screen, (badge, line)
        assert m[0] in message, message  # the dialog tells the same story, from the job
        ahead += int(m[1]) > on_screen
    assert ahead  # the counts did differ: the test saw the case that misled
    assert bar.badge.text().startswith("matches torch")


def test_a_lane_verified_before_the_user_moved_to_it_is_shown(qtbot, waiting, monkeypatch):
    """The worker verifies lanes off screen; when the user moves to one of them, it lands
    with the next lane (the view no longer says "computing this lane next" about a lane that
    is done, and the badge's count catches up)."""
    state, bar, runner, _dialog = waiting
    held, holding, calls = threading.Event(), threading.Event(), []
    real = snapshot_module.complete_snapshot

    def third_held(*args, **kwargs):
        calls.append(args[1])
        if len(calls) == 3:
            holding.set()
            assert held.wait(120), "the test never released the third lane"
        return real(*args, **kwargs)

    monkeypatch.setattr(snapshot_module, "complete_snapshot", third_held)
    landed = []
    state.sigSnapshotChanged.connect(lambda snap: landed.append(snap.trace))
    state.complete_trace()
    qtbot.waitUntil(holding.is_set, timeout=60_000)
    assert calls[:2] == [[(0, "bwd")], [(1, "bwd")]] and not landed  # verified, not shown
    state.select(layer=0, direction="bwd")  # the user moves to a lane done off screen
    held.set()
    qtbot.waitUntil(lambda: state.snapshot.trace.complete and not runner.busy, timeout=60_000)
    early = [tr for tr in landed if not tr.complete]
    assert early and early[0].has_lane(0, "bwd") and early[0].lanes_verified == 4, early
    assert bar.badge.text().startswith("matches torch")


def _bar_with_a_trace_job(qtbot, progress: float) -> tuple[Document, StatusBar]:
    """A status bar on a fresh document whose trace job has got to `progress`, shown."""
    state = Document(SPEC, RunOptions())
    bar = StatusBar(state)
    qtbot.addWidget(bar)
    bar.show()
    state.start_job(TRACE, "verifying the other lanes (1 of 6 done, 1 on screen) …", progress)
    qtbot.waitUntil(bar.progress.isVisible, timeout=5_000)
    return state, bar


def test_the_progress_bar_shows_the_jobs_progress_after_a_notice(qtbot):
    """A notice in the status bar (e.g. "cancelled; …") hides the job's widgets; when they
    come back they show the job's progress, not a bar reset to 0 while the dialog says 77%."""
    state, bar = _bar_with_a_trace_job(qtbot, 0.35)
    assert bar.progress.value() == 350
    state.notify("cancelled; showing the last finished result")  # hides the job's widgets
    assert not bar.progress.isVisible()
    state.start_job(TRACE, "verifying the other lanes (3 of 6 done, 1 on screen) …", 0.77)
    qtbot.waitUntil(bar.progress.isVisible, timeout=5_000)
    assert bar.progress.value() == 770


def test_the_progress_bar_says_whose_progress_it_shows_when_several_jobs_run(qtbot):
    """One bar, several jobs: it follows the first job of the status line and names it,
    instead of showing the newest job's progress beside the other's line."""
    state, bar = _bar_with_a_trace_job(qtbot, 0.2)
    assert bar.progress.value() == 200 and not bar.progress.isTextVisible()
    assert bar.progress.toolTip() == "progress of the trace"
    state.start_job(GRAD, "gradients: backward through time …", 0.9)  # the newest job
    assert bar.busy.text().index("verifying") < bar.busy.text().index("gradients")
    assert bar.progress.value() == 200  # still the trace's, the first job named
    assert bar.progress.isTextVisible() and bar.progress.text() == "trace 20%"
    state.set_kind_job(TRACE, "")  # the trace ends: the bar is the gradients' alone
    assert bar.progress.value() == 900 and not bar.progress.isTextVisible()
    assert bar.progress.toolTip() == "progress of the gradients"


# ---- 5. between a cancelled job's end and the next start, nothing says "cancelling" --------
@pytest.fixture
def slow_window(window):
    """`window` shown, its runner debouncing for 3 s, so the gap between a cancelled job's end
    and the start the user asked for meanwhile is a fact of the test (the real one is 120 ms)."""

    def make(state: Document) -> tuple[StatusBar, TraceRunner]:
        bar, runner = window(state, 3.0)
        bar.show()
        return bar, runner

    return make


def shown_cancelled(qtbot, slow_window, gate: Gate) -> tuple[Document, StatusBar, TraceRunner]:
    """The window tracing SPEC (held after the first lane), its status widgets on screen,
    and the user's Cancel pressed: the status line says "cancelling the trace …"."""
    state, bar, runner = tracing(qtbot, slow_window, gate)
    qtbot.waitUntil(bar.busy.isVisible, timeout=5_000)
    qtbot.mouseClick(bar.cancel_button, LEFT)
    assert bar.busy.text() == "cancelling the trace …"
    return state, bar, runner


def notices(state: Document) -> list[str]:
    """Every notice the document gives from now on."""
    seen: list[str] = []
    state.sigStatus.connect(seen.append)
    return seen


def test_once_the_cancelled_job_has_ended_the_line_names_what_is_next(qtbot, slow_window, gate):
    state, bar, runner = shown_cancelled(qtbot, slow_window, gate)
    said = notices(state)
    assert state.edit_spec(hidden_size=7)  # waits for the debounce behind the cancelled job
    gate.release.set()
    qtbot.waitUntil(lambda: TRACE not in state.jobs, timeout=60_000)  # the job has ended
    assert runner.busy and state.snapshot.spec.hidden_size == 6  # the new trace not started
    assert not state.job.cancelling, state.job
    assert "cancelling" not in bar.busy.text(), bar.busy.text()
    assert bar.busy.text() == "next: " + jobs.JOBS[TRACE].describe(state.spec, state.options)
    # No flicker: the status widgets stay on screen, no notice covers them, and Cancel
    # (enabled again) would stop what is next.
    assert bar.busy.isVisible() and bar.currentMessage() == "" and not said, said
    assert bar.cancel_button.isEnabled()
    lines = []
    state.sigJobChanged.connect(lambda job: lines.append((job.text, job.cancelling)))
    qtbot.waitUntil(lambda: state.snapshot.trace.complete and not runner.busy, timeout=60_000)
    assert state.snapshot.spec.hidden_size == 7 and bar.busy.text() == ""
    assert any(text.startswith("tracing LSTM(40, 7") for text, _ in lines), lines
    assert not any(cancelling or "cancelling" in text for text, cancelling in lines), lines


def test_an_export_after_a_cancel_flashes_no_cancelled_notice(qtbot, slow_window, gate, tmp_path):
    """The cancelled job ends before the export's resume starts: the notice "cancelled;
    showing the last finished result" would claim the result on screen is final, but the
    export resumes the trace, and the line says so."""
    state, bar, runner = shown_cancelled(qtbot, slow_window, gate)
    dialog = ExportDialog(state, directory=str(tmp_path))
    qtbot.addWidget(dialog)
    dialog.set_format("gates-svg")
    said = notices(state)
    qtbot.mouseClick(dialog.export_button, LEFT)
    gate.release.set()
    qtbot.waitUntil(lambda: TRACE not in state.jobs, timeout=60_000)  # the job has ended
    assert runner.busy and dialog.waiting and not said, said
    text, done = jobs.JOBS[TRACE].describe_partial(state.snapshot)
    assert bar.busy.text() == f"next: {text}" and not state.job.cancelling
    assert bar.busy.isVisible() and bar.currentMessage() == ""
    assert bar.progress.value() == round(done * 1000)  # where the resume starts from
    assert "1 of 6 lanes verified" in dialog.message.text(), dialog.message.text()
    with qtbot.waitSignal(dialog.sigExported, timeout=60_000):
        pass
    qtbot.waitUntil(lambda: not runner.busy, timeout=60_000)
    assert not said, said  # nothing claimed the partial result was final
    assert state.snapshot.trace.verified and len(list(tmp_path.iterdir())) == 1


# ---- 6. the forward is weighed in the percentage --------------------------------------------
def test_the_first_stage_weighs_the_forward(qtbot, window, gate, tmp_path):
    """The forward does as many multiply-adds as all the lanes' recompute together
    (Spec.macs); with the first lane it is the first stage, and the percentage the bar, the
    status line and the export's wait show after it weighs it in."""
    state = Document(SPEC, RunOptions())
    bar, runner = window(state)
    bar.show()
    before: list[float] = []
    state.sigJobChanged.connect(
        lambda _job: (
            before.append(state.jobs[TRACE].progress)
            if state.snapshot is None and TRACE in state.jobs
            else None
        )
    )
    runner.start_now()
    qtbot.waitUntil(lambda: gate.holding.is_set() and state.snapshot is not None, timeout=60_000)
    forward, lanes = SPEC.macs, SPEC.num_directions * sum(map(SPEC.lane_macs, range(3)))
    assert forward == lanes  # the premise: as many multiply-adds as every lane together
    after_first = (forward + SPEC.lane_macs(0)) / (forward + lanes)
    job = state.jobs[TRACE]
    assert job.progress == pytest.approx(after_first, abs=1e-12), job
    assert before == sorted(before) and all(p < after_first for p in before), before
    qtbot.waitUntil(bar.progress.isVisible, timeout=5_000)
    assert bar.progress.value() == round(after_first * 1000)
    assert bar.busy.text() == job.text == "verifying the other lanes (1 of 6 done, 1 on screen) …"
    dialog = ExportDialog(state, directory=str(tmp_path))
    qtbot.addWidget(dialog)
    dialog.set_format("gates-svg")
    with qtbot.waitSignal(dialog.sigExported, timeout=60_000):
        qtbot.mouseClick(dialog.export_button, LEFT)
        assert f"(1 of 6 done, 1 on screen), {after_first:.0%}." in dialog.message.text()
        gate.release.set()
    qtbot.waitUntil(lambda: not runner.busy, timeout=60_000)


def test_a_long_status_line_does_not_widen_the_window(qtbot):
    """The status line of a new trace beside the badge of a partial one ("verified 1 of 6
    lanes …") fits a 1280 px window: the line is elided (whole as its tooltip), it does not
    push the window wider than the screen."""
    from rnnviz.app.window import MainWindow

    state = Document(replace(SPEC, hidden_size=7), RunOptions())
    win = MainWindow(state)
    win.persist = False
    qtbot.addWidget(win)
    win.runner.hold()  # the document is driven by hand here
    win.resize(1280, 720)
    win.show()
    state.set_snapshot(compute_snapshot(state.spec, RunOptions(), lanes=[(0, "fwd")]))
    line = "next: " + jobs.JOBS[TRACE].describe(state.spec, state.options)
    state.start_job(TRACE, line, 0.1)
    qtbot.waitUntil(win.status.busy.isVisible, timeout=5_000)
    assert win.status.busy.text() == line
    assert win.minimumSizeHint().width() <= 1280 and win.width() == 1280, win.width()
    assert win.status.busy.toolTip() == line  # elided, nothing lost
    win.runner.shutdown()
