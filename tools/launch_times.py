"""Measure launch as a user sees it, under a real X server (run inside xvfb-run).

Starts `python main.py` as a fresh process and reports (1) process start → the rnnviz window
mapped (IsViewable, polled with xwininfo from outside) and (2) process start → the first
trace drawn (the app prints the moment its first snapshot has been painted when
RNNVIZ_LAUNCH_TIMES=1). Usage: xvfb-run -a python tools/launch_times.py [runs]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time


def one_run() -> tuple[float, float]:
    env = dict(os.environ, RNNVIZ_LAUNCH_TIMES="1")
    env.pop("QT_QPA_PLATFORM", None)
    t0 = time.time()
    proc = subprocess.Popen(
        [sys.executable, "main.py", "--preset", "bilstm-2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    mapped = None
    while mapped is None and proc.poll() is None:
        out = subprocess.run(
            ["xwininfo", "-root", "-tree"], capture_output=True, text=True
        ).stdout
        for line in out.splitlines():
            if '"rnnviz' in line:
                wid = line.split()[0]
                info = subprocess.run(
                    ["xwininfo", "-id", wid], capture_output=True, text=True
                ).stdout
                if "IsViewable" in info:
                    mapped = time.time() - t0
                    break
        time.sleep(0.01)
    first = None
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("RNNVIZ_FIRST_TRACE_PAINTED"):
            first = float(line.split()[1]) - t0
            break
    proc.terminate()
    proc.wait(timeout=30)
    return mapped or float("nan"), first or float("nan")


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    results = [one_run() for _ in range(runs)]
    for m, f in results:
        print(f"mapped {m:.2f} s, first trace on screen {f:.2f} s")
    print(
        f"median of {runs}: window mapped {statistics.median(r[0] for r in results):.2f} s, "
        f"first trace on screen {statistics.median(r[1] for r in results):.2f} s"
    )


if __name__ == "__main__":
    main()
