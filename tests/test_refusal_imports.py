"""A refused configuration is answered before torch is imported (torch alone takes seconds)."""

from __future__ import annotations

import subprocess
import sys

HUGE = ["--hidden-size", "65536", "--num-layers", "64", "--seq-len", "100000"]

PROBE = """
import sys
from rnnviz.cli.main import main
status = main(sys.argv[1:])
print(status, "torch" in sys.modules)
"""


def test_trace_refusal_does_not_import_torch():
    p = subprocess.run(
        [sys.executable, "-c", PROBE, "trace", *HUGE],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "refused" in p.stderr, p.stderr
    assert p.stdout.split() == ["2", "False"], p.stdout
