"""Write files so that a failure never leaves a half-written or emptied file behind.

What the output path *is* decides how it is written (`output_kind`):

- a regular file, or a name not there yet: a temporary file beside it, renamed over it once
  complete (atomic: readers see the old file or the new, never half);
- a symlink: the same, in the directory of the file it points to, so the link stays a link
  and its target is the file that changes (a dangling link gets its target created);
- a FIFO, a character device (/dev/null, /dev/stdout, a tty) or "-" (standard output): written
  straight through, streamed — nothing can be renamed over those, and replacing a device
  node (as root) would break the system;
- a directory, a block device or a socket: refused with a `WriteError` saying so.

A temporary file is removed on any exception, including the `Interrupted` the CLI raises from
SIGTERM/SIGHUP (`rnnviz.cli.signals`), so an interrupted write leaves no debris. A signal
handler that raises goes through `raise_when_safe`, which holds the exception while the
temporary file is being created: raised inside `mkstemp`, after the file exists but before its
name is known here, it would leave that file behind.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

#: The output path that means standard output.
STDOUT = "-"
#: Temporary-name pieces: `.{name}.` + mkstemp's 8 random characters + `.tmp`.
_TMP_RANDOM, _TMP_SUFFIX = 8, ".tmp"


def _current_umask() -> int:
    """The process umask (reading it means setting it; set straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


#: Read once at import, while the process is single-threaded, because reading it writes it.
_UMASK = _current_umask()


#: How deep the main thread is in sections where a raised signal would leak a file, and the
#: exceptions signal handlers raised meanwhile. Python runs handlers in the main thread only,
#: so only the main thread's sections hold them.
_holding = 0
_held: list[BaseException] = []


def raise_when_safe(exc: BaseException) -> None:
    """Raise `exc` now, or, if the main thread is creating a temporary file, as soon as that
    file's name is known (so it is removed). For signal handlers that end the program."""
    if _holding:
        _held.append(exc)
        return
    raise exc


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Within the block, exceptions passed to `raise_when_safe` wait; the first is raised
    when the block ends."""
    global _holding
    if threading.current_thread() is not threading.main_thread():
        yield  # handlers never run in other threads: nothing to hold
        return
    _holding += 1
    try:
        yield
    finally:
        _holding -= 1
        if not _holding and _held:
            exc = _held[0]
            _held.clear()
            raise exc


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


def output_kind(path: str | os.PathLike[str]) -> str:
    """How `path` would be written: "stdout", "stream" (FIFO or character device), "file"
    (regular file or new name, through any symlink) — or WriteError if it cannot be."""
    if os.fspath(path) == STDOUT:
        return "stdout"
    if not os.fspath(path):
        raise WriteError("cannot write an empty path; give a file name (or - for stdout)")
    if "\x00" in os.fsdecode(path):
        raise WriteError(f"cannot write {path!r}: a file name cannot contain a NUL byte")
    try:
        st = os.stat(path)  # follows symlinks: the target's type is what is written
    except FileNotFoundError:
        return "file"
    except OSError as exc:  # ENOTDIR, ELOOP (a symlink loop), EACCES …
        raise WriteError(f"cannot write {path}: {exc.strerror or exc}") from None
    if stat.S_ISREG(st.st_mode):
        return "file"
    if stat.S_ISFIFO(st.st_mode) or stat.S_ISCHR(st.st_mode):
        return "stream"
    what = (
        "a directory"
        if stat.S_ISDIR(st.st_mode)
        else "a block device (refusing to overwrite a disk)"
        if stat.S_ISBLK(st.st_mode)
        else "a socket"
        if stat.S_ISSOCK(st.st_mode)
        else "not a regular file"
    )
    raise WriteError(f"cannot write {path}: it is {what}")


def real_target(path: str | os.PathLike[str]) -> Path:
    """The file a write to `path` should replace: `path` with every symlink followed (a
    dangling link gives the path it points to)."""
    return Path(os.path.realpath(path))


def _tmp_prefix(target: Path, directory: Path) -> str:
    """`.{name}.`, or a short fixed prefix when that would push the temporary name past the
    filesystem's name limit (a 250-byte name must still be writable)."""
    try:
        name_max = os.pathconf(directory, "PC_NAME_MAX")
    except (OSError, ValueError):
        name_max = 255
    prefix = f".{target.name}."
    if len(os.fsencode(prefix)) + _TMP_RANDOM + len(_TMP_SUFFIX) > name_max:
        return ".rnnviz."
    return prefix


class _StreamOnly(io.RawIOBase):
    """A write-only, unseekable view of a stream. /dev/null says it is seekable but its
    position is always 0, so zipfile (np.savez) would write a broken directory (or fail with
    struct.error); told the truth, zipfile streams with data descriptors, as to a pipe."""

    def __init__(self, fh: IO) -> None:
        super().__init__()
        self._fh = fh

    def writable(self) -> bool:
        """Always: this only writes."""
        return True

    def seekable(self) -> bool:
        """Never: a FIFO, device or stdout has no meaningful position."""
        return False

    def tell(self) -> int:
        """Unsupported (see seekable)."""
        raise io.UnsupportedOperation("a stream has no position")

    def write(self, data: Any) -> int:
        """Write all of `data` to the underlying stream; returns its length."""
        self._fh.write(data)
        return len(memoryview(data).cast("B")) if not isinstance(data, str) else len(data)

    def flush(self) -> None:
        """Flush the underlying stream."""
        self._fh.flush()


@contextlib.contextmanager
def _stream(path: str | os.PathLike[str], mode: str) -> Iterator[IO]:
    """Yield a handle writing straight to a FIFO, device or stdout (see module docstring)."""
    if os.fspath(path) == STDOUT:
        out = getattr(sys.stdout, "buffer", None) if "b" in mode else sys.stdout
        if out is None:  # stdout replaced by a text-only stream (a notebook, a test)
            raise WriteError("cannot write binary data to standard output here")
        try:
            yield _StreamOnly(out) if "b" in mode else out  # type: ignore[misc]
            out.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise WriteError(f"cannot write to standard output: {exc.strerror or exc}") from None
        return
    try:
        fh = open(path, mode)  # noqa: SIM115 - closed below; errors mapped to WriteError
    except OSError as exc:
        raise WriteError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with fh:
            yield _StreamOnly(fh) if "b" in mode else fh  # type: ignore[misc]
    except OSError as exc:
        if isinstance(exc, WriteError):
            raise
        raise WriteError(f"cannot write {path}: {exc.strerror or exc}") from None


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "wb") -> Iterator[IO]:
    """Yield a handle for writing `path`; see the module docstring for what each kind of path
    gets. For a regular file it is a temporary file in the (symlink-resolved) target's
    directory, renamed over the target on success, so the final `os.replace` is a rename on
    one filesystem, which POSIX makes atomic. On any exception (or signal turned into one)
    the temporary file is removed and the original is untouched.
    """
    if output_kind(path) != "file":
        with _stream(path, mode) as fh:
            yield fh
        return
    target = real_target(path)
    directory = target.parent
    tmp = None
    try:
        with _signals_held():  # the file and its name reach this frame together
            fd, tmp = tempfile.mkstemp(
                prefix=_tmp_prefix(target, directory), suffix=_TMP_SUFFIX, dir=directory
            )
        with os.fdopen(fd, mode) as fh:
            yield fh
            fh.flush()
            os.fchmod(fh.fileno(), _final_mode(target))
            os.fsync(fh.fileno())
        if target.is_dir():
            raise WriteError(f"cannot write {path}: it is a directory")
        os.replace(tmp, target)
    except BaseException as exc:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, (WriteError, BrokenPipeError)):
            raise WriteError(f"cannot write {path}: {exc.strerror or exc}") from None
        raise


def atomic_write(path: str | os.PathLike[str], data: bytes | str) -> None:
    """Write `data` (bytes, or str as UTF-8) to `path` atomically (see `atomic_open`)."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_open(path, "wb") as fh:
        fh.write(raw)
