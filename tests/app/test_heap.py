"""The window freezes the collector's view of the heap once torch is in (rnnviz.app.heap):
full collections then walk only what was made after, not torch's few hundred thousand
objects, and stop pausing the GUI thread for 100 ms and more."""

from __future__ import annotations

import sys

from app_helpers import run_probe

_SCRIPT = r"""
import gc, sys
from PySide6.QtWidgets import QApplication
app = QApplication([])
from rnnviz.app.heap import frozen
from rnnviz.app.window import MainWindow
from rnnviz.config.presets import preset
from rnnviz.document.document import Document
print("torch before", "torch" in sys.modules, "frozen", gc.get_freeze_count())
p = preset("bilstm-2")
win = MainWindow(Document(p.spec, p.options))
win.persist = False
win.runner.start_now()
while win.runner.busy or win.state.snapshot is None:
    app.processEvents()
print("traced", win.state.snapshot.spec == p.spec, "frozen", frozen(), gc.get_freeze_count())
# Objects made after the freeze are still collected: a cycle made now is freed.
class Node: pass
a, b = Node(), Node()
a.other, b.other = b, a
import weakref
gone = weakref.ref(a)
del a, b
gc.collect()
print("cycle collected", gone() is None)
win.close()
"""


def test_the_first_result_after_torch_freezes_the_heap(tmp_path):
    p = run_probe(_SCRIPT, tmp_path)
    assert p.returncode == 0, p.stderr[-800:]
    out = p.stdout.splitlines()
    assert out[0] == "torch before False frozen 0"
    traced = out[1].split()
    assert traced[:4] == ["traced", "True", "frozen", "True"]
    assert int(traced[4]) > 50_000  # torch's objects, and the window's
    assert out[2] == "cycle collected True"


def test_freezing_waits_for_torch_and_happens_once():
    import gc

    from rnnviz.app import heap

    if "torch" not in sys.modules and not heap.frozen():
        assert heap.freeze_loaded_heap() is False  # too early: torch's objects are not in
        assert not heap.frozen() and gc.get_freeze_count() == 0
    import torch  # noqa: F401

    heap.freeze_loaded_heap()
    count = gc.get_freeze_count()
    assert heap.frozen() and count > 0
    assert heap.freeze_loaded_heap() is False  # once per process
    assert gc.get_freeze_count() == count
