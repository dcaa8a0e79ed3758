"""The layers are enforced statically by the project's own import-linter contracts.

`lint-imports` reads every import, function-level ones included, so an upward import hidden
inside a function is caught as surely as one at the top of a module (tests/test_no_qt.py
checks what actually loads at run time)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(root))  # before the editable install's finder
    return subprocess.run(
        [LINT, "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_contracts_hold():
    if not Path(LINT).exists():
        pytest.skip("import-linter is not installed (pip install -e '.[test]')")
    proc = _lint(ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Contracts: 3 kept, 0 broken." in proc.stdout


@pytest.mark.parametrize(
    ("module", "upward"),
    [
        ("config/spec.py", "rnnviz.app.window"),  # core → app, hidden in a function
        ("engine/tracing.py", "rnnviz.cli.main"),  # core → CLI
        ("analysis/graph.py", "PySide6.QtCore"),  # core → Qt
        ("app/views/gate_view.py", "rnnviz.app.views.graph_view"),  # view → view
    ],
)
def test_an_inserted_upward_import_breaks_a_contract(tmp_path, module, upward):
    if not Path(LINT).exists():
        pytest.skip("import-linter is not installed (pip install -e '.[test]')")
    shutil.copytree(
        ROOT / "rnnviz", tmp_path / "rnnviz", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "rnnviz" / module
    target.write_text(
        target.read_text() + f"\n\ndef _sneaky() -> None:\n    import {upward}  # noqa\n"
    )
    proc = _lint(tmp_path)
    assert proc.returncode != 0, proc.stdout
    assert "BROKEN" in proc.stdout
    assert upward.split(".")[0] in proc.stdout
