"""Measure launch as a user sees it (run inside `xvfb-run -a` for a real X server).

Starts fresh `rnnviz gui` processes and reports process start → the window's first paint and
→ the first trace on screen, beside `import torch` alone in a fresh process (the floor under
both). The same measurement as `rnnviz bench`'s launch rows (rnnviz.app.launch_times).
Usage: xvfb-run -a python tools/launch_times.py [runs] [preset]
"""

from __future__ import annotations

import statistics
import sys

from rnnviz.app.launch import DEFAULT_PRESET
from rnnviz.app.launch_times import launches


def main() -> None:
    """Print each launch's two times, then their medians and the import floor."""
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    name = sys.argv[2] if len(sys.argv) > 2 else DEFAULT_PRESET
    found, floor = launches(name, runs)
    for r in found:
        print(
            f"{r.platform}: window painted {r.painted:.2f} s, first trace on screen "
            f"{r.first_trace:.2f} s (torch's import begun before the first paint: "
            f"{r.torch_before_paint}; first trace made in a child process: {r.from_child})"
        )
    print(
        f"median of {runs}: window painted {statistics.median(r.painted for r in found):.2f} s, "
        f"first trace on screen {statistics.median(r.first_trace for r in found):.2f} s; "
        f"import torch alone {floor:.2f} s"
    )


if __name__ == "__main__":
    main()
