"""The layers hold: the core never imports Qt or argparse, and `import rnnviz; rnnviz.Spec`
never imports torch. The static side of this (every import, function-level ones included) is
import-linter's (tests/test_layers.py); this file checks what actually loads at run time."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import rnnviz

#: Packages above the core: the app (Qt) and the command line.
_ABOVE_CORE = ("rnnviz.app", "rnnviz.cli", "rnnviz.__main__")


def _core_modules() -> list[str]:
    return sorted(
        m.name
        for m in pkgutil.walk_packages(rnnviz.__path__, "rnnviz.")
        if not m.name.startswith(_ABOVE_CORE)
    )


def _loaded_after(code: str) -> set[str]:
    probe = code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_core_module_list_is_complete():
    mods = _core_modules()
    for expected in (
        "rnnviz.config.spec",
        "rnnviz.engine.tracing",
        "rnnviz.engine.gates",
        "rnnviz.analysis.graph",
        "rnnviz.engine.record",
        "rnnviz.io.export",
        "rnnviz.document.document",
        "rnnviz.document.runner",
    ):
        assert expected in mods
    assert not any(m.startswith(_ABOVE_CORE) for m in mods)


def test_importing_every_core_module_loads_no_qt_or_argparse_users():
    imports = "\n".join(f"import {m}" for m in _core_modules())
    loaded = _loaded_after(imports)
    assert "torch" in loaded  # sanity: the probe really imported the tracing code
    qt = sorted(
        m
        for m in loaded
        if m.split(".")[0] in ("PySide6", "pyqtgraph", "PyQt5", "PyQt6", "shiboken6")
    )
    assert not qt, f"core imports Qt: {qt}"
    assert not any(m.startswith(_ABOVE_CORE) for m in loaded)


def test_document_and_runner_load_no_qt():
    loaded = _loaded_after(
        "import rnnviz.document.document, rnnviz.document.runner, rnnviz.document.jobs"
    )
    assert "psygnal" in loaded
    assert not any(m.split(".")[0] in ("PySide6", "shiboken6", "pyqtgraph") for m in loaded)


def test_spec_and_shapes_do_not_import_torch():
    loaded = _loaded_after(
        "import rnnviz\nrnnviz.Spec\nrnnviz.shapes(rnnviz.Spec())\n"
        "import rnnviz.config.options, rnnviz.config.presets, "
        "rnnviz.config.budget, rnnviz.analysis.graph"
    )
    assert "rnnviz.config.spec" in loaded
    assert "torch" not in loaded
