"""A tab whose view is built the first time it is shown or asked for.

The Gates, Gradients and Training tabs sit behind the Graph tab at launch, yet building them
cost about a third of the window's construction (GateView alone imports pyqtgraph, ~0.2 s),
and the window's first paint, and so the first trace, waited for it. A `LazyView` stands in
the tab instead: an empty widget that builds the real view inside itself in its first
`showEvent`, or when code asks for it (`view()`; the window's `gate_view` and friends are
properties calling it), so every caller still gets the real view and nothing a user sees
differs but the time.

Why on first show and not in idle time after the first trace: building in idle time would
block the GUI thread for the same ~0.1–0.3 s right after the first trace lands, when the
user is likely to be stepping or editing, and on every launch, including those where the
tab is never opened; on first show the user pays it once, as the tab opens, and only if they
open it. (Numbers: /work/briefs/lazy_result.md.)

A view built here draws the document as it is then: views draw the present in `showEvent`
(and GateView in its `__init__`), and a view that wants result kinds asks for them only
while shown, so a late build computes nothing earlier than an eager one did.
"""

from __future__ import annotations

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
            if self.isVisible():
                # A child added to a visible widget is otherwise shown only by a queued
                # call, one event-loop turn (and one blank paint) later.
                view.show()
        return self._view

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
