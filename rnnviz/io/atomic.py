"""Write files so that a failure never leaves a half-written or emptied file behind."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO


def _current_umask() -> int:
    """The process umask (reading it means setting it; set straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


#: Read once at import, while the process is single-threaded, because reading it writes it.
_UMASK = _current_umask()


def _final_mode(target: Path) -> int:
    """The permission bits the written file should end with: the old file's if it exists
    (rewriting a file should not change who can read it), else what open() would give a
    new file under the umask — not mkstemp's private 0600."""
    try:
        return target.stat().st_mode & 0o7777
    except OSError:
        return 0o666 & ~_UMASK


class WriteError(OSError):
    """A file could not be written; the message says which and why. Any old file is intact."""


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "wb") -> Iterator[IO]:
    """Yield a temporary file beside `path`; on success it is renamed over `path`.

    The temporary file lives in the same directory so the final `os.replace` is a rename on
    one filesystem, which POSIX makes atomic: readers see the old file or the new, never half.
    On any exception the temporary file is removed and the original is untouched.
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise WriteError(f"cannot write {target}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, mode) as fh:
            yield fh
            fh.flush()
            os.fchmod(fh.fileno(), _final_mode(target))
            os.fsync(fh.fileno())
        if target.is_dir():
            raise WriteError(f"cannot write {target}: it is a directory")
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, WriteError):
            raise WriteError(f"cannot write {target}: {exc.strerror or exc}") from None
        raise


def atomic_write(path: str | os.PathLike[str], data: bytes | str) -> None:
    """Write `data` (bytes, or str as UTF-8) to `path` atomically (see `atomic_open`)."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_open(path, "wb") as fh:
        fh.write(raw)
