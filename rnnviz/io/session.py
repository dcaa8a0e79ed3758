"""Session files: the spec, run options and selection of a window, as versioned JSON.

A session is `{"version": 1, "spec": Spec.to_dict(), "options": RunOptions.to_dict(),
"selection": {"layer", "direction", "t", "unit", "batch"}}`. Validation is the core's
(`Spec.from_dict`, `RunOptions.from_dict`); this module only frames it, so a bad session
gives the same message as the same mistake on the command line. Files are written with
`atomic_write`, and reading never writes, so a corrupt file is left exactly as it was.
No Qt here: the window turns a SessionError into a message.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnnviz.config.options import RunOptions
from rnnviz.config.spec import Spec, SpecError
from rnnviz.io.atomic import atomic_write

SESSION_VERSION = 1
#: How many files File → Recent sessions remembers.
MAX_RECENT = 8
SELECTION_KEYS = ("layer", "direction", "t", "unit", "batch")
#: Largest selection index: what a Qt spin box (a C int) can hold; no spec dimension is larger.
MAX_INDEX = 2**31 - 1


class SessionError(ValueError):
    """A session file cannot be read or used; the message names the file and the reason."""


@dataclass(frozen=True)
class Session:
    """What a session file holds. `selection` has only the keys the file gave (validated)."""

    spec: Spec
    options: RunOptions
    selection: dict[str, Any] = field(default_factory=dict)


def session_to_dict(
    spec: Spec,
    options: RunOptions,
    selection: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON object of a session."""
    sel = {k: v for k, v in (selection or {}).items() if k in SELECTION_KEYS}
    return {
        "version": SESSION_VERSION,
        "spec": spec.to_dict(),
        "options": options.to_dict(),
        "selection": sel,
    }


def dumps_session(
    spec: Spec,
    options: RunOptions,
    selection: dict[str, Any] | None = None,
) -> str:
    """Session JSON text (indented, keys sorted, trailing newline)."""
    return json.dumps(session_to_dict(spec, options, selection), indent=2, sort_keys=True) + "\n"


def _selection(data: Any) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SessionError(f"selection must be a JSON object, got {type(data).__name__}")
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key not in SELECTION_KEYS:
            raise SessionError(
                f"selection has an unknown key {key!r} (keys: {', '.join(SELECTION_KEYS)})"
            )
        if key == "direction":
            if value not in ("fwd", "bwd"):
                raise SessionError(f"selection direction must be fwd or bwd, got {value!r}")
        elif isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_INDEX:
            raise SessionError(
                f"selection {key} must be a whole number from 0 to {MAX_INDEX}, "
                f"got {str(value)[:30]!r}"
            )
        out[key] = value
    return out


def loads_session(text: str) -> Session:
    """Parse session JSON; any problem raises SessionError saying what is wrong.

    Nothing else escapes: deep nesting, 5000-digit numbers, Infinity and NaN are all
    SessionErrors (a session restored at start-up must never stop the app)."""
    try:
        return _loads_session(text)
    except SessionError:
        raise
    except Exception as exc:  # RecursionError, OverflowError, ValueError … from any field
        raise SessionError(
            f"has an unusable value ({type(exc).__name__}: {str(exc)[:80]})"
        ) from None


def _loads_session(text: str) -> Session:
    """`loads_session` without the catch-all."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError; a >4300-digit integer
        raise SessionError(f"is not valid JSON (truncated or corrupt?): {str(exc)[:80]}") from None
    if not isinstance(data, dict):
        raise SessionError(f"must hold a JSON object, got {type(data).__name__}")
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise SessionError(
            f"has no valid version (got {str(version)[:20]!r}); not an rnnviz session?"
        )
    if version > SESSION_VERSION:
        raise SessionError(
            f"is version {str(version)[:20]}, newer than this rnnviz understands "
            f"({SESSION_VERSION}); upgrade rnnviz to open it"
        )
    unknown = sorted(set(data) - {"version", "spec", "options", "selection"})
    if unknown:
        raise SessionError(f"has an unknown key {unknown[0]!r}")
    if "spec" not in data:
        raise SessionError("has no spec")
    try:
        spec = Spec.from_dict(data["spec"])
        options = RunOptions.from_dict(data.get("options", {}))
        options.check(spec)
    except SpecError as exc:
        raise SessionError(f"invalid {exc.field}: {exc.message}") from None
    except (TypeError, ValueError, OverflowError) as exc:
        raise SessionError(f"invalid value: {str(exc)[:80]}") from None
    return Session(spec, options, _selection(data.get("selection")))


def save_session(
    path: str | os.PathLike[str],
    spec: Spec,
    options: RunOptions,
    selection: dict[str, Any] | None = None,
) -> None:
    """Write a session file atomically (WriteError, an OSError, if that fails)."""
    atomic_write(path, dumps_session(spec, options, selection))


def load_session(path: str | os.PathLike[str]) -> Session:
    """Read a session file; SessionError (naming the file) if unreadable or invalid."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise SessionError(f"cannot read {p}: {exc.strerror or exc}") from None
    except ValueError:  # a NUL byte in the name
        raise SessionError(f"cannot read {str(p)!r}: not a valid file name") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SessionError(f"{p} is not UTF-8 text; not an rnnviz session?") from None
    try:
        return loads_session(text)
    except SessionError as exc:
        raise SessionError(f"{p} {exc}") from None


def push_recent(
    recent: list[str], path: str | os.PathLike[str], limit: int = MAX_RECENT
) -> list[str]:
    """`recent` with `path` (made absolute) moved to the front, at most `limit` long."""
    p = str(Path(path).resolve())
    return [p, *[r for r in recent if r != p]][:limit]
