"""Open the window (`rnnviz gui`, `python main.py`), or render it to a PNG and exit.

The window is shown before torch is imported in this process. A child process, started
first, imports torch on the other core while the window is built and traces the first
configuration (rnnviz.document.first_trace); the window's runner takes that trace, and this
process imports torch once it is on screen. So the window appears in a fraction of the
import's time, and the first trace at about the import's time from the start, not after both.
Without a child (a screenshot, a trace too large to send, a failed child) the first trace
starts after the first paint and torch loads on the worker thread, as before.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rnnviz.app.launch_times import TRACE_MARK, WINDOW_MARK
from rnnviz.config.options import RunOptions
from rnnviz.config.spec import Spec

#: The configuration shown when there is no spec, session or remembered last session.
DEFAULT_PRESET = "bilstm-2"
#: Screenshot mode gives up waiting for the first trace after this long.
SCREENSHOT_TIMEOUT_MS = 180_000
NO_DISPLAY = """rnnviz: no display found (DISPLAY and WAYLAND_DISPLAY are unset), so the window cannot open.
Run it headless and render the window to a PNG instead:
    QT_QPA_PLATFORM=offscreen rnnviz gui --screenshot out.png
or under a virtual X server:
    xvfb-run rnnviz gui"""


def has_display() -> bool:
    """True if Qt can open a window here (a display, or a platform chosen explicitly)."""
    return bool(
        os.environ.get("DISPLAY")
        or os.environ.get("WAYLAND_DISPLAY")
        or os.environ.get("QT_QPA_PLATFORM")
    ) or sys.platform in ("win32", "darwin")


def _app():  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        app = QApplication([sys.argv[0] if sys.argv else "rnnviz"])
    if not app.organizationName():
        app.setOrganizationName("rnnviz")
    app.setApplicationName("rnnviz")
    return app


def _quiet_offscreen() -> None:
    """Drop Qt's meaningless offscreen notices (see rnnviz.app.qt_messages)."""
    from rnnviz.app.qt_messages import install_message_filter

    install_message_filter()


def import_engine_early() -> None:
    """Start importing torch and the trace engine on a short-lived thread, so the window's
    event loop runs (it stays responsive while torch loads) and the first trace's imports
    are under way before the runner's job asks for them. `launch` calls it once the window
    has painted (see there). Only imports run there: no torch op, so no OpenMP team is
    made on that thread (torch work stays on the runner's one worker thread)."""
    import threading

    def load() -> None:
        try:
            import rnnviz.document.snapshot  # noqa: F401  (networkx, the analysis)
            import rnnviz.engine.tracing  # noqa: F401  (torch)
        except Exception:  # noqa: S110 - the runner imports again and reports any failure
            return
        # torch's objects are all in now: keep the collector from walking them (see there).
        from rnnviz.app.heap import freeze_loaded_heap

        freeze_loaded_heap()

    thread = threading.Thread(target=load, name="rnnviz-import", daemon=True)
    thread.start()
    _IMPORTS.append(thread)


#: Import threads started by the launch, joined before it returns (`_finish_imports`).
_IMPORTS: list = []
#: How long a closing window waits for an import still running, in seconds.
IMPORT_JOIN_S = 60.0


def _finish_imports() -> None:
    """Wait for the launch's import threads. Interpreter shutdown while a daemon thread is
    still importing torch crashed the process (SIGSEGV, seen when the window was closed
    within a second of its first trace, whose torch import starts then): the window is
    already closed, so the wait costs the user nothing they see."""
    while _IMPORTS:
        _IMPORTS.pop().join(IMPORT_JOIN_S)


def launch(
    spec: Spec | None,
    options: RunOptions | None,
    timestep: int = 0,
    screenshot: str | os.PathLike[str] | None = None,
    session: str | os.PathLike[str] | None = None,
    size: tuple[int, int] | None = None,
    scale_mode: str | None = None,
    overrides: dict[str, Any] | None = None,
    child: Any = None,
) -> int:
    """Open the window on `spec`/`options` (or `session`, or the last session, or a default).

    `size` (width, height) sets the window's size (default: the saved one, or 1400×900
    fitted to the screen). `scale_mode` is the gate view's colour scale to start in (a
    preset's `gate_scale`; None: fixed). `overrides` are run options given on the command
    line without a spec: they apply on top of whatever configuration opens. `timestep`
    outside the opened spec's steps is refused (exit 2), as `rnnviz export` refuses it.

    With `screenshot`, render the window (at `size`, default 1400×900) to that PNG once the
    first trace is drawn and return 0 (offscreen if there is no display). Without a display
    and without
    `screenshot`, print how to run headless and return 2. Returns the exit status.

    `child` is the first trace's child process if the caller started it already
    (`start_child`, as early as it could); else it is started here.
    """
    if screenshot is None and not has_display():
        print(NO_DISPLAY, file=sys.stderr)
        _end_child(child)
        return 2
    if screenshot is not None and not has_display():
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    if screenshot is not None:
        _end_child(child)
        child = None
    elif child is None:
        child = start_child(screenshot)
    from rnnviz.app.preflight import preflight

    # Qt aborts (status 134, with a misleading hint) when the xcb plugin cannot load; say
    # which packages are missing instead, before Qt is loaded at all.
    if preflight():
        _end_child(child)
        return 1
    app = _app()
    if app.platformName() == "offscreen":
        _quiet_offscreen()

    from rnnviz.app.user_settings import take_last_session
    from rnnviz.app.window import MainWindow
    from rnnviz.config.presets import preset
    from rnnviz.document.document import Document
    from rnnviz.io.session import SessionError, load_session

    selection: dict = {}
    startup_message = ""
    if session is not None:
        try:
            s = load_session(session)
        except SessionError as exc:
            print(f"rnnviz: cannot open session: {exc}", file=sys.stderr)
            _end_child(child)
            return 2
        spec, options, selection = s.spec, s.options, dict(s.selection)
    elif spec is None:
        # A screenshot must not depend on what this user looked at last.
        remembered, startup_message = (None, "") if screenshot is not None else take_last_session()
        if remembered is not None:
            spec, options, selection = (
                remembered.spec,
                remembered.options,
                dict(remembered.selection),
            )
        else:
            p = preset(DEFAULT_PRESET)
            spec, options = p.spec, p.options
    options = options or RunOptions()
    try:
        if overrides:
            options = RunOptions.from_dict({**options.to_dict(), **overrides})
        options.check(spec)
        if not 0 <= timestep < spec.seq_len:
            raise ValueError(
                f"timestep: must be from 0 to {spec.seq_len - 1} (seq_len {spec.seq_len}), "
                f"got {timestep}"
            )
    except ValueError as exc:
        print(f"rnnviz: {exc}", file=sys.stderr)
        _end_child(child)
        return 2

    state = Document(spec, options)
    window = MainWindow(state)
    if screenshot is None:
        window.runner.hold()  # the first trace starts once the window has painted (below)
    if startup_message:
        window.status.showMessage(startup_message, 30_000)
    if timestep:
        selection["t"] = timestep
    state.set_spec(spec, options, selection)
    first = _first_trace(window, child)
    if scale_mode:
        window.set_gate_scale(scale_mode)  # applied when the Gates view is built: no build now
    if screenshot is not None:
        return _screenshot(app, window, Path(screenshot), size)
    window.restore_layout()
    if size is not None:
        window.resize(*size)
    timed = bool(os.environ.get("RNNVIZ_LAUNCH_TIMES"))
    if timed:
        _report_first_trace(app, window, lambda: first is not None and first.used)
    window.show()

    def start_engine() -> None:
        if timed:
            _print_mark(WINDOW_MARK, app.platformName(), str("torch" in sys.modules))
        if first is None:
            import_engine_early()
        window.runner.release()

    # torch's import holds the GIL for most of its 1-2 s: started in this process before
    # the window, it slowed the window's build and first paint by about as much (under
    # Xvfb, window mapped after 2.2 s instead of 1.2 s), while the first trace landed no
    # sooner (3.0-3.4 s either way). So here torch, and the first trace job, start once
    # the window has painted; the child process imports it meanwhile on the other core.
    _after_first_paint(window, start_engine)
    _after_first_trace(window, _import_hidden_views)
    if first is not None:
        # The child's trace is drawn without torch; this process needs it for every later
        # trace, and imports it once that first one is on screen (not before: the import
        # holds the GIL, and would slow the drawing of it).
        _after_first_trace(window, import_engine_early)
    if session is not None:
        window.session_path = Path(session)
        window.update_title()
    with _on_signals(window, window.close) as received:
        status = int(app.exec())
    _finish_imports()
    return _signal_exit(received[0]) if received else status


def start_child(screenshot: object = None) -> Any:
    """Start the first trace's child process, which imports torch on the other core while
    this one builds the window (rnnviz.document.first_trace): a TraceChild, or None when no
    window will open (a screenshot traces in-process, as it always has; no display) or no
    process could start. Call it first thing: everything before it is waited for twice.
    `rnnviz gui` had started it after importing what its checks need (networkx and numpy,
    300 ms here), and its trace came that much later."""
    if screenshot is not None or not has_display():
        return None
    from rnnviz.engine.trace_child import TraceChild

    return TraceChild.start()


def _end_child(child) -> None:  # type: ignore[no-untyped-def]
    if child is not None:
        child.close()


def _first_trace(window, child):  # type: ignore[no-untyped-def]
    """Hand the child's first trace of the window's configuration to its runner; the
    FirstTrace, or None when there is none (no child, or too large a trace to send)."""
    if child is None:
        return None
    from rnnviz.document.first_trace import first_trace

    state = window.state
    sel = state.selection
    first = first_trace(child, state.spec, state.options, (sel.layer, sel.direction))
    if first is not None:
        window.runner.adopt_first_trace(first)
    return first


def _after_first_paint(window, start) -> None:  # type: ignore[no-untyped-def]
    """Call `start` once, after the window's first expose has been painted (Qt paints a
    widget window synchronously while handling its Expose event), or after a second if no
    expose comes (a window opened minimised, a platform that sends none)."""
    from PySide6.QtCore import QEvent, QObject, QTimer

    started = False

    def run() -> None:
        nonlocal started
        if not started:
            started = True
            start()

    class Painted(QObject):
        def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
            if event.type() == QEvent.Type.Expose:
                obj.removeEventFilter(self)
                QTimer.singleShot(0, run)  # after this Expose, and so the paint, is handled
            return False

    handle = window.windowHandle()
    if handle is not None:
        window._first_paint_filter = Painted(window)
        handle.installEventFilter(window._first_paint_filter)
    QTimer.singleShot(1000, run)


def _after_first_trace(window, start) -> None:  # type: ignore[no-untyped-def]
    """Call `start` once, in the event-loop turn after the first snapshot has landed (and
    been drawn)."""
    from PySide6.QtCore import QTimer

    def landed(_snap: object) -> None:
        window.state.sigSnapshotChanged.disconnect(landed)
        QTimer.singleShot(0, start)

    window.state.sigSnapshotChanged.connect(landed)


def _import_hidden_views() -> None:
    # The tabs behind the Graph tab are built when first opened (rnnviz.app.lazy_view); their
    # pyqtgraph import, most of that cost, is done on a thread once the first trace is on
    # screen, so it delays neither the first paint nor the first trace, nor the first open.
    from rnnviz.app.lazy_view import import_later

    _IMPORTS.append(import_later("pyqtgraph"))


def _print_mark(mark: str, *rest: str) -> None:
    """One line for rnnviz.app.launch_times: the mark, the wall-clock time, anything else."""
    import time

    print(mark, time.time(), *rest, flush=True)


def _report_first_trace(app, window, from_child) -> None:  # type: ignore[no-untyped-def]
    """Print the wall-clock time the first trace has been painted, and whether a child
    process traced it (`from_child()`; rnnviz.app.launch_times)."""
    from PySide6.QtCore import QTimer

    def painted(_snap: object) -> None:
        window.state.sigSnapshotChanged.disconnect(painted)
        window.repaint()  # the views have taken the snapshot; this paints them
        app.processEvents()
        QTimer.singleShot(0, lambda: _print_mark(TRACE_MARK, str(from_child())))

    window.state.sigSnapshotChanged.connect(painted)


@contextlib.contextmanager
def _on_signals(window, action) -> Iterator[list[int]]:  # type: ignore[no-untyped-def]
    """Within the block, Ctrl+C in the terminal (SIGINT), SIGTERM and SIGHUP run `action` —
    close the window the normal way (trace cancelled, settings saved), or end a screenshot's
    wait — and are put in the yielded list, for `_signal_exit`; the handlers before are
    restored after (the command line's, or an embedding program's).

    The command line's handlers (rnnviz.cli.signals) raise an exception instead, which in a
    window lands in whatever Qt callback Python runs next: PySide prints it and the window
    stays up (seen: `kill` left the app running, a traceback per signal). Qt's loop never
    returns to Python on its own, so a timer wakes it to let a handler run."""
    from PySide6.QtCore import QTimer

    received: list[int] = []

    def handle(signum: int, _frame: object) -> None:
        received.append(signum)
        action()

    previous = {}
    try:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            previous[sig] = signal.signal(sig, handle)
    except ValueError:  # not the main thread (embedded use): leave signals alone
        pass
    timer = QTimer(window)
    timer.timeout.connect(lambda: None)
    if previous:
        timer.start(250)
    try:
        yield received
    finally:
        timer.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _signal_exit(signum: int) -> int:
    """As the command line ends on a signal: one line, and status 128 + the signal (130 for
    Ctrl+C)."""
    name = signal.Signals(signum).name
    print(
        "rnnviz: interrupted" if name == "SIGINT" else f"rnnviz: terminated by {name}",
        file=sys.stderr,
    )
    return 128 + signum


def _screenshot(app, window, path: Path, size=None) -> int:  # type: ignore[no-untyped-def]
    """Show the window at `size` (default DEFAULT_SIZE), wait for the first trace, save it
    as PNG."""
    from PySide6.QtCore import QEventLoop, QTimer

    from rnnviz.app.window import DEFAULT_SIZE

    window.persist = False
    window.resize(*(size or DEFAULT_SIZE))
    window.show()
    state = window.state
    outcome: dict[str, str] = {}
    loop = QEventLoop()

    def done(kind: str, message: str = "") -> None:
        outcome.setdefault(kind, message)
        loop.quit()

    def landed(snap) -> None:  # type: ignore[no-untyped-def]
        # A large trace lands the lane on screen first; the picture waits for every lane.
        if snap.trace.complete:
            done("ok")

    state.sigSnapshotChanged.connect(landed)
    state.sigFailed.connect(lambda msg: done("failed", msg))

    def refused(field: str, message: str) -> None:
        if message:
            done("failed", f"{field}: {message}")

    state.sigSpecError.connect(refused)
    with _on_signals(window, lambda: done("signal")) as received:
        QTimer.singleShot(
            SCREENSHOT_TIMEOUT_MS, lambda: done("failed", "timed out waiting for the first trace")
        )
        window.runner.start_now()
        if not outcome:
            loop.exec()
        return _save_screenshot(app, window, path, outcome, received)


def _save_screenshot(app, window, path: Path, outcome: dict, received: list) -> int:  # type: ignore[no-untyped-def]
    """`_screenshot` once its wait has ended: the PNG of the window, unless the trace
    failed or a signal ended the run; closes the window either way."""
    from PySide6.QtCore import QBuffer, QIODevice

    from rnnviz.io.atomic import WriteError, atomic_write

    try:
        if received:  # nothing is written for a run the user ended
            return _signal_exit(received[0])
        if "ok" not in outcome:
            print(f"rnnviz: no screenshot: {outcome.get('failed', 'no trace')}", file=sys.stderr)
            return 1
        for _ in range(5):
            app.processEvents()
        if received:  # a signal while the views painted
            return _signal_exit(received[0])
        image = window.grab().toImage()
        buf = QBuffer()
        buf.open(QIODevice.OpenModeFlag.WriteOnly)
        image.save(buf, "PNG")
        try:
            atomic_write(path, bytes(buf.data().data()))
        except WriteError as exc:
            print(f"rnnviz: {exc}", file=sys.stderr)
            return 1
        print(f"wrote {path} ({image.width()}×{image.height()})")
        return 0
    finally:
        window.close()
