"""torch's global random generator, seeded for one block at a time across threads.

Module constructors (and the tutorials' `x = torch.randn(...)`) draw from torch's one global
generator, so "the same seed gives the same weights" holds only if no other thread reseeds
or restores that generator in between. The window builds modules on two worker threads (the
trace lane and the training lane) and a notebook may too: every block that seeds the global
generator takes this one lock, and leaves the caller's generator state as it found it. Code that draws from the
global generator without seeding it (a module built only to have its weights overwritten)
takes the same lock through `holding_global`, or its draws land inside another thread's
seeded block and change that block's weights.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

_GLOBAL_RNG = threading.RLock()


@contextlib.contextmanager
def seeded_global(seed: int) -> Iterator[None]:
    """Run the block with torch's global generator seeded to `seed`, holding the process-wide
    lock, and restore the generator's previous state after (torch is imported here, lazily,
    so importing the configuration never loads it)."""
    import torch

    with _GLOBAL_RNG, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


@contextlib.contextmanager
def holding_global() -> Iterator[None]:
    """Run the block holding the process-wide lock, without seeding: for draws from torch's
    global generator whose values do not matter (weights about to be overwritten), so they
    never fall inside another thread's `seeded_global` block. Re-entrant: a block already
    inside `seeded_global` on this thread passes straight through."""
    with _GLOBAL_RNG:
        yield
