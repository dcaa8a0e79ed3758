"""Keep Python's cyclic garbage collector from pausing the window for 100 ms at a time.

Importing torch leaves a few hundred thousand objects the collector tracks (modules,
functions, dispatch tables), all alive for the whole session. Each full collection walks
every one of them: measured here during a trace of H=512 T=500 L=4 bi, full collections
of 90–160 ms, each holding the GIL and so the GUI thread, were the longest stalls the
window had (the longest gap between its 5 ms timer ticks: 245 ms with one, 50–80 without).
`gc.freeze()` moves everything alive at that moment to a generation the collector never
walks again; objects made later are collected as before.

What it costs: a reference cycle among objects alive at the freeze that later becomes
garbage is never collected. At the freeze the window holds its first result (its graph is
a cycle: networkx caches views that point back at it), a few hundred KiB at most, once.
"""

from __future__ import annotations

import gc
import sys
import threading

_lock = threading.Lock()
_frozen = False


def freeze_loaded_heap() -> bool:
    """Freeze the collector's view of the heap once torch has been imported (see the
    module's docstring); later calls do nothing. Returns True when this call froze it."""
    global _frozen
    with _lock:
        if _frozen or "torch" not in sys.modules:
            return False
        gc.freeze()
        _frozen = True
        return True


def frozen() -> bool:
    """Whether `freeze_loaded_heap` has frozen the heap in this process."""
    return _frozen
