"""One Qt message handler for the whole app: drops notices that mean nothing to a user.

The offscreen platform prints "This plugin does not support propagateSizeHints()" once per
dock widget; on a successful export or benchmark that reads like an error. Every other Qt
message still reaches stderr unchanged.
"""

from __future__ import annotations

import sys
from typing import Any

#: Substrings of Qt messages that are dropped.
DROPPED = ("does not support propagateSizeHints",)

_installed = False


def is_dropped(message: str) -> bool:
    """True for a Qt message the filter drops."""
    return any(d in message for d in DROPPED)


def install_message_filter() -> None:
    """Install the filter once per process (later calls do nothing)."""
    global _installed
    if _installed:
        return
    from PySide6.QtCore import qInstallMessageHandler

    previous: Any = None

    def handler(mode: Any, context: Any, message: str) -> None:
        if is_dropped(message):
            return
        if previous is not None:
            previous(mode, context, message)
        else:
            print(message, file=sys.stderr)

    previous = qInstallMessageHandler(handler)
    _installed = True
