"""A tab whose view is built the first time it is shown or asked for.

The Gates, Gradients and Training tabs sit behind the Graph tab at launch, yet building them
cost about a third of the window's construction (GateView alone imports pyqtgraph, ~0.2 s),
and the window's first paint, and so the first trace, waited for it. A `LazyView` stands in
the tab instead: an empty widget that builds the real view inside itself in its first
`showEvent`, or when code asks for it (`view()`; the window's `gate_view` and friends are
properties calling it), so every caller still gets the real view and nothing a user sees
differs but the time.

When: a view is built on first show, not in idle time after the first trace, and
`import_later` imports pyqtgraph on a short thread once the first trace is on screen
(`rnnviz.app.launch`). Measured offscreen after the first trace (fresh processes, 3 runs):
building the three views in the GUI thread blocks it for 0.30 + 0.11 + 0.03 s, every launch,
whether the tabs are opened or not; built on first show with nothing imported, the first
switch to Gates takes 0.36–0.53 s instead of 0.11–0.13 s (Gradients 0.13–0.20 s instead of
0.04–0.05 s); pyqtgraph's import is most of that, and on a thread it blocks the GUI thread
for at most ~0.14 s, once, just after the first trace (0.24–0.26 s in the GUI thread), after which the first switch to Gates
takes 0.09–0.14 s, as before.

A view built here draws the document as it is then: a hidden view draws nothing and draws
the present in its `showEvent`, and a view that wants result kinds asks for them only while
shown (Training's `want` needs a Train press first), so a late build computes nothing
earlier than an eager one did.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable

from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget


class LazyView(QWidget):
    """A tab's stand-in that builds its view with `build(parent)` when first needed."""

    def __init__(self, build: Callable[[QWidget], QWidget], parent: QWidget | None = None):
        super().__init__(parent)
        self._build: Callable[[QWidget], QWidget] | None = build
        self._view: QWidget | None = None
        self._held = False
        self._pending: list[Callable[[QWidget], None]] = []
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)  # the view fills the tab as if it were the tab

    @property
    def built(self) -> bool:
        """True once the view exists."""
        return self._view is not None

    def view(self) -> QWidget:
        """The view, built now if it was not yet."""
        if self._view is None:
            assert self._build is not None
            view = self._build(self)
            self._build = None  # the factory holds the document; no need to keep it
            self._view = view
            self._layout.addWidget(view)
            pending, self._pending = self._pending, []
            for setting in pending:
                setting(view)
            if self.isVisible():
                # A child added to a visible widget is otherwise shown only by a queued
                # call, one event-loop turn (and one blank paint) later.
                view.show()
        return self._view

    def when_built(self, setting: Callable[[QWidget], None]) -> None:
        """Call `setting(view)` now if the view exists, else right after it is built (before
        it is shown): a view setting, such as a preset's colour scale, then costs no build."""
        if self._view is not None:
            setting(self._view)
        else:
            self._pending.append(setting)

    def hold(self, on: bool) -> None:
        """While held, being shown builds nothing: the deck holds its lazy tabs while it
        moves tabs between panes, which shows each tab for a moment as the one before it is
        removed. Released while shown, the view is built."""
        self._held = on
        if not on and self.isVisible():
            self.view()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt API
        """Shown for the first time: build the view (it then draws the document as it is)."""
        super().showEvent(event)
        if not self._held:
            self.view()


def unwrap(widget: QWidget) -> QWidget:
    """The view `widget` stands for: a LazyView's view (built if needed), else `widget`."""
    return widget.view() if isinstance(widget, LazyView) else widget


def holds(widget: QWidget, view: QWidget) -> bool:
    """True if `widget` is `view` or a LazyView whose built view is `view`."""
    return widget is view or (
        isinstance(widget, LazyView) and widget.built and widget.view() is view
    )


def import_later(*modules: str) -> threading.Thread:
    """Import `modules` on a short-lived daemon thread and return it: what a lazy view's
    first show would otherwise import in the GUI thread. Only imports run there (pyqtgraph
    defines classes and value types at import; no QObject, so no object lives on that
    thread); a failure is left for the view's own import to report."""

    def load() -> None:
        for name in modules:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: S112 - the view imports again and shows the error
                continue

    thread = threading.Thread(target=load, name="rnnviz-import-views", daemon=True)
    thread.start()
    return thread
