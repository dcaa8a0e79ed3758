"""Shared test setup: Hypothesis profiles and the --regen-golden flag.

Profiles: "core" (default; quick enough that the core suite runs in about two minutes on two
cores) and "long" (the fuzz tests run >= 10,000 examples each):

    python -m pytest tests/test_fuzz.py --hypothesis-profile=long
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# deadline=None: the first example of a test pays torch's import and kernel warm-up, which
# would trip Hypothesis's per-example deadline without saying anything about correctness.
settings.register_profile(
    "core",
    deadline=None,
    max_examples=100,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "long",
    deadline=None,
    max_examples=10_000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
# Loaded here; `--hypothesis-profile=NAME` (Hypothesis's pytest plugin) overrides it later.
settings.load_profile("core")


def _interruptible() -> None:
    """Ctrl-C as a terminal delivers it. A run started in the background by a non-interactive
    shell (`.ci/run &`) inherits SIGINT ignored, as POSIX has it, and Python keeps it so: the
    Ctrl-C tests then saw no KeyboardInterrupt in-process and a child that exited 0. Python's
    own handler here also reaches the children (exec resets a handler to the default)."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_addoption(parser):
    parser.addoption(
        "--regen-golden",
        action="store_true",
        default=False,
        help="rewrite tests/golden/* from the current code instead of comparing",
    )


def pytest_configure(config):
    _interruptible()
    config.addinivalue_line(
        "markers",
        "fuzz: Hypothesis fuzzing of inputs users type "
        "(--hypothesis-profile=long for the 10,000-example run)",
    )


GOLDEN_DIR = Path(__file__).parent / "golden"


@pytest.fixture
def golden(request):
    """`golden(name, text)`: compare `text` with tests/golden/NAME, or rewrite the file when
    run with --regen-golden (review the diff, never edit a golden file by hand)."""

    def check(name: str, text: str) -> None:
        path = GOLDEN_DIR / name
        if request.config.getoption("--regen-golden"):
            GOLDEN_DIR.mkdir(exist_ok=True)
            path.write_text(text, encoding="utf-8")
        assert path.exists(), f"missing {path}; run pytest with --regen-golden"
        assert text == path.read_text(encoding="utf-8"), f"{name} differs from its golden file"

    return check


# ---- the runner's jobs, watched (tests of lanes finished later and of the first trace) ------
@pytest.fixture
def calls(monkeypatch):
    """Every spec streams lane by lane; records each compute_snapshot/complete_snapshot call
    (the jobs look them up in their module when they run)."""
    import rnnviz.document.jobs as jobs
    import rnnviz.document.snapshot as snapshot_module

    monkeypatch.setattr(jobs, "STREAM_MACS", 0)
    seen: list[str] = []
    compute, complete = snapshot_module.compute_snapshot, snapshot_module.complete_snapshot

    def computing(*args, **kwargs):
        seen.append("compute")
        return compute(*args, **kwargs)

    def completing(*args, **kwargs):
        seen.append("complete")
        return complete(*args, **kwargs)

    monkeypatch.setattr(snapshot_module, "compute_snapshot", computing)
    monkeypatch.setattr(snapshot_module, "complete_snapshot", completing)
    return seen


@pytest.fixture
def runs():
    """Runner(doc, loop, **kw) for the test, shut down after it."""
    from test_document import Loop

    from rnnviz.document.runner import Runner

    made: list = []

    def make(doc, **kw):
        loop = Loop()
        made.append(Runner(doc, loop, debounce_s=0.05, **kw))
        return made[-1], loop

    yield make
    for runner in made:
        runner.shutdown()
