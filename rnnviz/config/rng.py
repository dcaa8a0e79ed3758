"""torch's global random generator, seeded for one block at a time across threads.

Module constructors (and the tutorials' `x = torch.randn(...)`) draw from torch's one global
generator, so "the same seed gives the same weights" holds only if no other thread reseeds
or restores that generator in between. The window builds modules on two worker threads (the
trace lane and the training lane) and a notebook may too: every block that seeds the global
generator takes this one lock, and leaves the caller's generator state as it found it.
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
