"""Launch as a user sees it, timed from outside: a fresh `rnnviz gui` process, from its start
to the window's first paint and to the first trace on screen, and the floor under both,
`import torch` alone in a fresh process.

The app prints both moments (wall clock) when RNNVIZ_LAUNCH_TIMES is set (`rnnviz.app.launch`).
The start is taken by a shell just before it execs Python, so neither the shell's nor an X
server's own start-up is counted. Each launch gets a throwaway config directory: the window
saves its settings when it is closed, and a benchmark must not overwrite the user's.
Used by `rnnviz bench` (offscreen, and under Xvfb) and tools/launch_times.py.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass

#: The line the app prints once its window has painted for the first time: mark, time,
#: platform, and whether torch's import had begun by then (True/False: torch is in
#: sys.modules from the moment its import starts).
WINDOW_MARK = "RNNVIZ_WINDOW_PAINTED"
#: The line it prints once the first trace has been painted: mark, time, and whether a
#: child process traced it (True/False; rnnviz.document.first_trace).
TRACE_MARK = "RNNVIZ_FIRST_TRACE_PAINTED"

#: A shell prints the wall-clock time, then becomes the command.
_STAMPED = ["sh", "-c", 'date +%s.%N; exec "$0" "$@"']


@dataclass(frozen=True)
class Launch:
    """One launch: seconds from process start to the window's first paint and to the first
    trace on screen, the Qt platform it ran on, whether torch's import had begun (or
    finished) in the window's process before its first paint, and whether the first trace
    was made in a child process."""

    painted: float
    first_trace: float
    platform: str
    torch_before_paint: bool
    from_child: bool


def launch_once(preset: str, env: dict[str, str] | None = None, timeout: float = 180) -> Launch:
    """Start `rnnviz gui --preset <preset>` (with `env`, default this process's), wait for both
    marks, then close it (SIGTERM, as a user's `kill`). RuntimeError if it exits first or
    takes longer than `timeout` seconds."""
    with tempfile.TemporaryDirectory(prefix="rnnviz-launch-") as config:
        child_env = dict(env if env is not None else os.environ)
        child_env.update(RNNVIZ_LAUNCH_TIMES="1", XDG_CONFIG_HOME=config)
        cmd = [*_STAMPED, sys.executable, "-m", "rnnviz", "gui", "--preset", preset]
        proc = subprocess.Popen(
            cmd,
            env=child_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        watchdog = threading.Timer(timeout, proc.kill)  # ends the read below by closing stdout
        watchdog.start()
        try:
            marks = _read_marks(proc)
        finally:
            watchdog.cancel()
            if proc.poll() is None:
                proc.terminate()
            _, err = proc.communicate(timeout=60)
    if "start" not in marks or WINDOW_MARK not in marks or TRACE_MARK not in marks:
        raise RuntimeError(f"launch measurement failed (seen {sorted(marks)}): {err[-500:]}")
    start = float(marks["start"][0])
    painted, platform, torch_loaded = marks[WINDOW_MARK]
    traced, from_child = marks[TRACE_MARK]
    return Launch(
        float(painted) - start,
        float(traced) - start,
        platform,
        torch_loaded == "True",
        from_child == "True",
    )


def _read_marks(proc: subprocess.Popen[str]) -> dict[str, list[str]]:
    assert proc.stdout is not None
    marks: dict[str, list[str]] = {}
    first = proc.stdout.readline().strip()
    if not first:
        return marks
    marks["start"] = [first]
    for line in proc.stdout:
        word, *rest = line.split()
        if word in (WINDOW_MARK, TRACE_MARK):
            marks[word] = rest
        if WINDOW_MARK in marks and TRACE_MARK in marks:
            break
    return marks


def import_torch_seconds(env: dict[str, str] | None = None) -> float:
    """Seconds from process start to `import torch` done, in a fresh interpreter."""
    code = "import time, torch; print(time.time())"
    out = subprocess.run(
        [*_STAMPED, sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    ).stdout.split()
    return float(out[1]) - float(out[0])


def launches(
    preset: str, runs: int, env: dict[str, str] | None = None
) -> tuple[list[Launch], float]:
    """`runs` launches, each followed by a fresh `import torch` (so the host's load falls on
    both alike), and the median seconds of those imports."""
    found, imports = [], []
    for _ in range(runs):
        found.append(launch_once(preset, env))
        imports.append(import_torch_seconds(env))
    return found, statistics.median(imports)
