"""What the app keeps between runs in the user's QSettings: the recent session files and the
session the last window closed on (set aside, not lost, when it no longer opens)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QSettings

from rnnviz.io.session import SessionError, loads_session, push_recent


def settings() -> QSettings:
    """The app's QSettings (organization from QCoreApplication, default "rnnviz")."""
    org = QCoreApplication.organizationName() or "rnnviz"
    return QSettings(QSettings.defaultFormat(), QSettings.Scope.UserScope, org, "rnnviz")


def recent_sessions() -> list[str]:
    """Recently opened or saved session files, newest first."""
    value = settings().value("recent", [])
    if isinstance(value, str):  # QSettings returns one-item lists as a bare string
        value = [value]
    return [str(v) for v in value] if isinstance(value, list) else []


def remember_recent(path: str | Path) -> None:
    """Put `path` first among the recent session files."""
    settings().setValue("recent", push_recent(recent_sessions(), path))


def last_session() -> Any:
    """The Session saved by the last window close, or None if there is none or it is bad."""
    text = settings().value("last_session")
    if not isinstance(text, str):
        return None
    try:
        return loads_session(text)
    except SessionError:
        return None


#: Where a last session that failed to restore is kept (so nothing is lost), under settings.
SET_ASIDE_KEY = "last_session_set_aside"


def take_last_session() -> tuple[Any, str]:
    """(Session, "") when the last session restores; (None, "") when there is none; else
    (None, one status-bar line) after moving it aside to `SET_ASIDE_KEY`, so a bad value
    (a 5000-digit seed, a spec over today's memory budget) cannot stop every later start."""
    from rnnviz.config.budget import check_budget
    from rnnviz.config.spec import SpecError

    s = settings()
    text = s.value("last_session")
    if text is None:
        return None, ""
    try:
        if not isinstance(text, str):
            raise SessionError(f"is not text ({type(text).__name__})")
        session = loads_session(text)
        check_budget(session.spec)
    except (SessionError, SpecError) as exc:
        s.setValue(SET_ASIDE_KEY, text if isinstance(text, str) else repr(text))
        s.remove("last_session")
        s.sync()
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return None, f"last session set aside (saved as {SET_ASIDE_KEY}): {reason[:160]}"
    return session, ""
