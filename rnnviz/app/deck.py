"""The window's views as tabs: one pane on a laptop, two side by side on a wide screen.

At 1280×720 a graph, six heatmaps and two tables cannot share the centre and stay readable,
so every view gets the whole centre as a tab (Ctrl+1 … Ctrl+9 pick one). Where the centre is
wide enough (TWO_PANE_WIDTH), the "side" views (Shapes, Equations) move to a second tab pane
on the right, so a 1920×1080 screen shows the graph and the tables at once. A new view is one
`add_view` call; the deck rearranges itself when the window is resized. A tab may hold a
`LazyView` (built when first shown); the deck's methods take and return the views themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QSplitter, QTabWidget, QVBoxLayout, QWidget

from rnnviz.app.lazy_view import LazyView, holds, unwrap

#: Centre width (px) from which the side views get a pane of their own.
TWO_PANE_WIDTH = 1400
#: Share of the width the main pane takes in two-pane mode.
MAIN_SHARE = 0.62


@dataclass
class DeckEntry:
    """One view in the deck: its widget, tab title, tooltip and preferred pane."""

    widget: QWidget
    title: str
    tip: str
    side: bool


class ViewDeck(QWidget):
    """Views as tabs in one pane, or two panes (main | side) when wide enough.

    `views()` lists the entries in the order added; `show_view(widget)` brings a view to the
    front; `sigArranged(two_panes)` fires when the panes change.
    """

    sigArranged = Signal(bool)

    def __init__(self, parent: QWidget | None = None, two_pane_width: int = TWO_PANE_WIDTH):
        super().__init__(parent)
        self.two_pane_width = two_pane_width
        self.entries: list[DeckEntry] = []
        self.main_tabs = QTabWidget(self)
        self.side_tabs = QTabWidget(self)
        for tabs, name in ((self.main_tabs, "main"), (self.side_tabs, "side")):
            tabs.setObjectName(f"deck-{name}")
            tabs.setDocumentMode(True)
            tabs.setUsesScrollButtons(True)
            tabs.tabBar().setExpanding(False)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.main_tabs)
        self.splitter.addWidget(self.side_tabs)
        self.side_tabs.hide()
        self._two = False
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.splitter)

    # ---- adding and picking views --------------------------------------------------------------
    def add_view(self, widget: QWidget, title: str, *, side: bool = False, tip: str = "") -> None:
        """Add a view as a tab; `side` views share the right pane when there are two."""
        entry = DeckEntry(widget, title, tip, side)
        self.entries.append(entry)
        self._place(entry)

    def addTab(self, widget: QWidget, title: str) -> int:  # noqa: N802 - QTabWidget's name
        """QTabWidget-style: add `widget` as a side view (beside Shapes and Equations)."""
        self.add_view(widget, title, side=True)
        return len(self.entries) - 1

    def views(self) -> list[QWidget]:
        """Every view widget, in the order added (a lazy one is built now)."""
        return [unwrap(e.widget) for e in self.entries]

    def _tab(self, widget: QWidget) -> QWidget:
        """The tab's own widget for `widget`: itself, or the LazyView that holds it."""
        return next((e.widget for e in self.entries if holds(e.widget, widget)), widget)

    def tabs_of(self, widget: QWidget) -> QTabWidget:
        """The tab pane that holds `widget` now."""
        tab = self._tab(widget)
        return self.side_tabs if self.side_tabs.indexOf(tab) >= 0 else self.main_tabs

    def show_view(self, widget: QWidget) -> None:
        """Bring `widget`'s tab to the front of its pane."""
        self.tabs_of(widget).setCurrentWidget(self._tab(widget))

    def current_views(self) -> list[QWidget]:
        """The views on screen now: the front tab of each visible pane."""
        out = [self.main_tabs.currentWidget()]
        if self._two:
            out.append(self.side_tabs.currentWidget())
        return [unwrap(w) for w in out if w is not None]

    @property
    def two_panes(self) -> bool:
        """True while the side views have a pane of their own."""
        return self._two

    # ---- arranging ----------------------------------------------------------------------------
    def _target(self, entry: DeckEntry) -> QTabWidget:
        return self.side_tabs if entry.side and self._two else self.main_tabs

    def _place(self, entry: DeckEntry) -> None:
        tabs = self._target(entry)
        # Keep the order views were added in, within each pane.
        index = sum(1 for e in self.entries[: self.entries.index(entry)] if self._target(e) is tabs)
        i = tabs.insertTab(index, entry.widget, entry.title)
        if entry.tip:
            tabs.setTabToolTip(i, entry.tip)

    def set_two_panes(self, two: bool) -> None:
        """Arrange in two panes (main | side) or one; the view in front stays in front."""
        if two == self._two:
            return
        front = self.main_tabs.currentWidget()
        side_front = self.side_tabs.currentWidget()
        self.setUpdatesEnabled(False)
        lazy = [e.widget for e in self.entries if isinstance(e.widget, LazyView)]
        for tab in lazy:
            tab.hold(True)  # a tab shown for a moment while the tabs move is not opened
        try:
            for tabs in (self.main_tabs, self.side_tabs):
                while tabs.count():
                    tabs.removeTab(0)
            self._two = two
            for entry in self.entries:
                self._place(entry)
            self.side_tabs.setVisible(two)
            if two:
                w = self.width()
                self.splitter.setSizes([round(w * MAIN_SHARE), w - round(w * MAIN_SHARE)])
                if side_front is not None and self.side_tabs.indexOf(side_front) >= 0:
                    self.side_tabs.setCurrentWidget(side_front)
            if front is not None and self.tabs_of(front).indexOf(front) >= 0:
                self.tabs_of(front).setCurrentWidget(front)
            elif not two and front is None and side_front is not None:
                self.main_tabs.setCurrentWidget(side_front)
        finally:
            for tab in lazy:
                tab.hold(False)
            self.setUpdatesEnabled(True)
        self.sigArranged.emit(two)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt API
        """Switch between one and two panes as the width crosses two_pane_width."""
        super().resizeEvent(event)
        self.set_two_panes(event.size().width() >= self.two_pane_width)
