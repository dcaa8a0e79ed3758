"""The core never imports Qt, and `import rnnviz; rnnviz.Spec` never imports torch."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import rnnviz


def _core_modules() -> list[str]:
    return sorted(f"rnnviz.{m.name}" for m in pkgutil.iter_modules(rnnviz.__path__)
                  if m.name not in ("app", "__main__"))


def _loaded_after(code: str) -> set[str]:
    probe = code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, timeout=120)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_core_module_list_is_complete():
    mods = _core_modules()
    for expected in ("rnnviz.spec", "rnnviz.tracing", "rnnviz.gates", "rnnviz.cli",
                     "rnnviz.graph", "rnnviz.record", "rnnviz.export"):
        assert expected in mods


def test_importing_every_core_module_loads_no_qt():
    imports = "\n".join(f"import {m}" for m in _core_modules())
    loaded = _loaded_after(imports)
    assert "torch" in loaded  # sanity: the probe really imported the tracing code
    qt = sorted(m for m in loaded if m.split(".")[0] in ("PySide6", "pyqtgraph", "PyQt5",
                                                           "PyQt6", "shiboken6"))
    assert not qt, f"core imports Qt: {qt}"


def test_spec_and_shapes_do_not_import_torch():
    loaded = _loaded_after("import rnnviz\nrnnviz.Spec\nrnnviz.shapes(rnnviz.Spec())\n"
                           "import rnnviz.options, rnnviz.presets, rnnviz.budget, rnnviz.graph")
    assert "rnnviz.spec" in loaded
    assert "torch" not in loaded
