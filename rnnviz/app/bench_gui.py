"""GUI latency benchmarks for `rnnviz bench`: real widgets, offscreen (and again under Xvfb
in a child process, `xvfb_measures`), timed end to end.

"Repainted" means the window's widgets have painted: synchronously (`QWidget.repaint`) for
a step or a landed snapshot, or by the event loop's pending updates after an edit's trace;
a figure covers the views' own work after the data change plus the paint itself.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from typing import Any

from rnnviz.bench.measure import Measure
from rnnviz.config.spec import Spec

BIG = Spec("lstm", 128, 512, 4, bidirectional=True, seq_len=500, batch_size=1)
GRAPH_BIG = Spec("lstm", 8, 16, 4, bidirectional=True, seq_len=2000, batch_size=1)


def _app() -> Any:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from rnnviz.app.qt_messages import install_message_filter

    app = QApplication.instance() or QApplication(["rnnviz-bench"])
    install_message_filter()
    app.setOrganizationName("rnnviz-bench")  # keep the user's settings out of it
    return app


def _window() -> Any:
    from rnnviz.app.window import MainWindow
    from rnnviz.document.document import Document

    win = MainWindow(Document())
    win.persist = False
    win.resize(1400, 900)
    win.show()
    return win


def _wait_idle(app: Any, win: Any, timeout: float = 300.0) -> float:
    """Process events until the runner is idle; returns the longest gap between event-loop
    turns (seconds), i.e. how long the GUI thread was blocked at most."""
    from PySide6.QtCore import QEventLoop, QTimer

    gaps = []
    last = time.perf_counter()
    end = last + timeout
    loop = QEventLoop()
    tick = QTimer()
    tick.setInterval(5)

    def on_tick() -> None:
        nonlocal last
        now = time.perf_counter()
        gaps.append(now - last)
        last = now
        if not win.runner.busy or now > end:
            loop.quit()

    tick.timeout.connect(on_tick)
    tick.start()
    loop.exec()
    tick.stop()
    app.processEvents()
    return max(gaps) if gaps else 0.0


def _edit_latency(app: Any, win: Any, field: str, values: list[int]) -> list[float]:
    """Seconds from a config edit to every view repainted with the new trace, per value."""
    out = []
    for v in values:
        t0 = time.perf_counter()
        win.state.edit_spec(**{field: v})
        win.runner.start_now()  # measure the pipeline, not the debounce timer
        # _wait_idle ends with processEvents, which paints every widget the new snapshot
        # marked dirty; a repaint() after it would paint the whole window a second time.
        _wait_idle(app, win)
        out.append(time.perf_counter() - t0)
        assert getattr(win.state.snapshot.spec, field) == v
    return out


def edit_measures(app: Any, quick: bool) -> list[Measure]:
    """Config edit → repainted (default config, and H=512 T=500 L=4 bi after the trace lands)."""
    from rnnviz.app.launch import DEFAULT_PRESET
    from rnnviz.config.presets import preset
    from rnnviz.document.snapshot import compute_snapshot

    win = _window()
    default = preset(DEFAULT_PRESET)
    win.state.set_spec(default.spec, default.options)
    win.runner.start_now()
    _wait_idle(app, win)
    n = 5 if quick else 15
    small = _edit_latency(app, win, "hidden_size", [7 + (k % 5) for k in range(n)])
    out = [
        Measure(
            "config edit → all views repainted, default config",
            statistics.median(small) * 1000,
            "ms",
            50,
            f"{win.state.spec.title()}, median of {n}, trace included, debounce not",
        )
    ]
    # Big config: the trace itself takes about a second; the target is what follows it.
    win.state.set_spec(BIG)
    gap = _wait_idle(app, win)
    snaps = [compute_snapshot(BIG.replace(hidden_size=h)) for h in (511, 512)]
    times = []
    for k in range(3 if quick else 6):
        t0 = time.perf_counter()
        win.state.set_snapshot(snaps[k % 2])
        win.repaint()
        times.append(time.perf_counter() - t0)
    out.append(
        Measure(
            "trace landed → all views repainted, H=512 T=500 L=4 bi",
            statistics.median(times) * 1000,
            "ms",
            250,
            f"median of {len(times)}",
        )
    )
    out.append(
        Measure(
            "GUI thread longest block while tracing H=512 T=500 L=4 bi",
            gap * 1000,
            "ms",
            100,
            "max gap between 5 ms timer ticks",
        )
    )
    steps = []
    for k in range(20 if quick else 60):
        t0 = time.perf_counter()
        win.state.select(t=(k * 7) % BIG.seq_len)
        win.repaint()
        steps.append(time.perf_counter() - t0)
    out.append(
        Measure(
            "one timestep step → all views repainted, H=512 T=500 L=4 bi",
            statistics.median(steps) * 1000,
            "ms",
            16,
            f"median of {len(steps)}, max {max(steps) * 1000:.1f} ms",
        )
    )
    win.close()
    return out


def graph_measures(app: Any) -> list[Measure]:
    """Unrolled graph of L=4 bi T=2000: build + first paint, and its SVG export."""
    from PySide6.QtWidgets import QGraphicsView

    from rnnviz.analysis.graph import build_graph
    from rnnviz.app.drawing.render import render_graph
    from rnnviz.app.drawing.scene import GraphScene
    from rnnviz.document.snapshot import draw_fold

    t0 = time.perf_counter()
    graph = build_graph(GRAPH_BIG, fold=draw_fold(GRAPH_BIG))
    scene = GraphScene(graph, GRAPH_BIG)
    view = QGraphicsView(scene)
    view.resize(1000, 600)
    view.show()
    view.repaint()
    built = time.perf_counter() - t0
    view.close()
    t0 = time.perf_counter()
    data = render_graph(GRAPH_BIG, "svg")
    svg = time.perf_counter() - t0
    return [
        Measure(
            "unrolled graph L=4 bi T=2000: build + first paint",
            built * 1000,
            "ms",
            1000,
            f"{graph.number_of_nodes()} nodes drawn (folded)",
        ),
        Measure("SVG export of it", svg * 1000, "ms", 3000, f"{len(data) / 1024:.0f} KiB"),
    ]


def launch_measures(quick: bool = False) -> list[Measure]:
    """Process start → the window's first paint, and → the default config's first trace on
    screen: fresh `rnnviz gui` processes, as a user starts them (rnnviz.app.launch_times), on
    the platform this process uses (offscreen, or X under Xvfb). Each is set beside the
    floor under it: `import torch` alone in a fresh process, measured in the same runs."""
    from rnnviz.app.launch import DEFAULT_PRESET
    from rnnviz.app.launch_times import launches

    runs, floor = launches(DEFAULT_PRESET, 2 if quick else 3)
    painted = statistics.median(r.painted for r in runs)
    first = statistics.median(r.first_trace for r in runs)
    platform = runs[0].platform
    early = sum(r.torch_before_paint for r in runs)
    child = sum(r.from_child for r in runs)
    return [
        Measure(
            "launch → window painted",
            painted * 1000,
            "ms",
            1500,
            f"{platform}: median of {len(runs)} fresh `rnnviz gui` processes; torch's import "
            f"begun before the first paint in {early} of them",
        ),
        Measure(
            "launch → first trace on screen",
            first * 1000,
            "ms",
            2000,
            f"{platform}: default config, same processes (load {os.getloadavg()[0]:.1f}); "
            f"traced in a child process, which imports torch while the window is built, "
            f"in {child} of them. Limited by: `import torch` alone in a fresh process "
            f"{floor * 1000:.0f} ms (median, measured between the launches); the rest "
            f"(starting the child, the trace, sending it, its paint) "
            f"{(first - floor) * 1000:+.0f} ms",
        ),
    ]


def gui_measures(quick: bool = False) -> list[Measure]:
    """Every GUI latency benchmark, on this process's Qt platform."""
    app = _app()
    return edit_measures(app, quick) + graph_measures(app) + launch_measures(quick)


def xvfb_measures(quick: bool = False) -> list[Measure]:
    """The window's latencies again under a virtual X server (`xvfb-run`), in a child
    process, names suffixed "(Xvfb)"; [] with a note when xvfb-run is not installed."""
    import json
    import shutil

    if shutil.which("xvfb-run") is None:
        print("(Xvfb benchmarks skipped: xvfb-run not found)")
        return []
    env = dict(os.environ, QT_QPA_PLATFORM="xcb")  # the X server, not offscreen
    cmd = ["xvfb-run", "-a", "-s", "-screen 0 1920x1080x24", sys.executable, "-m"]
    cmd += ["rnnviz.app.bench_gui", "--json"] + (["--quick"] if quick else [])
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, env=env)
    start = proc.stdout.find("[")
    if proc.returncode or start < 0:
        print(f"(Xvfb benchmarks failed: {proc.stderr[-500:]})")
        return []
    rows = json.loads(proc.stdout[start:])
    return [
        Measure(
            f"{r['name']} (Xvfb)",
            r["value"],
            r["unit"],
            r["target"],
            r["detail"],
        )
        for r in rows
    ]


if __name__ == "__main__":
    import json
    from dataclasses import asdict

    found = gui_measures("--quick" in sys.argv)
    if "--json" in sys.argv:
        print(json.dumps([asdict(m) for m in found]))
    else:
        from rnnviz.bench.measure import table

        print(table(found))
