"""The main window: config panel, the four views, the timeline, menus and the status bar.

The window wires things together and owns nothing the views show: the Document holds the
data, the TraceRunner computes it, every view subscribes to the state on its own.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QCoreApplication, QEvent, QObject, QSettings, Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QPlainTextEdit,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QTextEdit,
    QWidget,
)

from rnnviz.app.qt_post import TraceRunner
from rnnviz.app.views.config_panel import ConfigPanel, constructor_line
from rnnviz.app.views.status import StatusBar
from rnnviz.app.views.timeline import Timeline
from rnnviz.config.presets import PRESETS
from rnnviz.document.document import Document
from rnnviz.io.session import (
    SessionError,
    load_session,
    loads_session,
    push_recent,
    save_session,
)

DEFAULT_SIZE = (1400, 900)
SESSION_FILTER = "rnnviz session (*.rnnviz.json *.json);;All files (*)"
#: Keys the timeline owns; an editor with focus keeps them (see _KeyGuard).
TIMELINE_KEYS = (
    Qt.Key.Key_Space,
    Qt.Key.Key_Left,
    Qt.Key.Key_Right,
    Qt.Key.Key_Home,
    Qt.Key.Key_End,
)
#: Widgets that keep some timeline keys for themselves when they have focus: text fields,
#: spin boxes and tables use them all; buttons and combo boxes only Space (press / open).
#: (A combo box's Home/End would silently switch, say, the cell to GRU.)
_ALL_KEYS = (QAbstractSpinBox, QLineEdit, QTextEdit, QPlainTextEdit, QAbstractItemView)
_SPACE_ONLY = (QAbstractButton, QComboBox)


def settings() -> QSettings:
    """The app's QSettings (organization from QCoreApplication, default "rnnviz")."""
    org = QCoreApplication.organizationName() or "rnnviz"
    return QSettings(QSettings.defaultFormat(), QSettings.Scope.UserScope, org, "rnnviz")


def _view(module: str, cls: str, state: Document, parent: QWidget) -> QWidget:
    """Construct a view; if its module is missing or broken, a label saying so instead, so
    one failing view does not keep the window (and the other views) from opening."""
    try:
        mod = importlib.import_module(f"rnnviz.app.views.{module}")
        return getattr(mod, cls)(state, parent)
    except Exception as exc:  # shown in place of the view
        label = QLabel(f"{cls} unavailable: {type(exc).__name__}: {exc}", parent)
        label.setWordWrap(True)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        return label


class _KeyGuard(QObject):
    """Lets a focused editor keep the keys it uses instead of the timeline shortcuts.

    Qt asks the focus widget first with a ShortcutOverride event; accepting it there means
    "this key is mine". Without this, Space on a focused check box would start playback
    instead of toggling it, and ←/→ in a table would step time instead of moving the cursor.
    """

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and event.key() in TIMELINE_KEYS
            and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
            and (
                isinstance(obj, _ALL_KEYS)
                or isinstance(obj, _SPACE_ONLY)
                and event.key() == Qt.Key.Key_Space
            )
        ):
            event.accept()
        return False


class MainWindow(QMainWindow):
    """The rnnviz window over one Document; starts its own trace runner."""

    def __init__(self, state: Document | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state or Document()
        self.setWindowTitle("rnnviz")
        self.resize(*DEFAULT_SIZE)
        self.session_path: Path | None = None
        #: False for throwaway windows (screenshots): closing then leaves settings alone.
        self.persist = True
        self.runner = TraceRunner(self.state, parent=self)

        self.graph_view = _view("graph_view", "GraphView", self.state, self)
        self.gate_view = _view("gate_view", "GateView", self.state, self)
        self.shapes_view = _view("shapes_view", "ShapesView", self.state, self)
        self.equations_view = _view("equations_view", "EquationsView", self.state, self)
        self.config_panel = ConfigPanel(self.state, self)
        self.timeline = Timeline(self.state, self)

        center = QSplitter(Qt.Orientation.Vertical, self)
        center.addWidget(self.graph_view)
        center.addWidget(self.gate_view)
        center.setStretchFactor(0, 3)
        center.setStretchFactor(1, 2)
        # Explicit first sizes: left to size hints, the heatmaps (which want 600 px for
        # exports) would squeeze the graph to a strip.
        center.setSizes([460, 400])
        self.setCentralWidget(center)

        scroll = QScrollArea(self)
        scroll.setWidget(self.config_panel)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(260)
        self.config_dock = self._dock(
            "Configuration", "config", scroll, Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.tabs = QTabWidget(self)
        self.tabs.addTab(self.shapes_view, "Shapes")
        self.tabs.addTab(self.equations_view, "Equations")
        self.tabs.setMinimumWidth(340)
        self.side_dock = self._dock(
            "Shapes and equations", "side", self.tabs, Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.timeline_dock = self._dock(
            "Timeline", "timeline", self.timeline, Qt.DockWidgetArea.BottomDockWidgetArea
        )
        self.resizeDocks([self.config_dock, self.side_dock], [290, 420], Qt.Orientation.Horizontal)

        self.status = StatusBar(self.state, self)
        self.setStatusBar(self.status)

        self._build_menus()
        self._build_shortcuts()
        self.state.sigSpecChanged.connect(self.update_title)
        self.state.sigOptionsChanged.connect(self.update_title)
        self.update_title()
        self._key_guard = _KeyGuard(self)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self._key_guard)

    # ---- layout ------------------------------------------------------------------------------
    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock-{name}")  # saveState needs names
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _action(
        self, menu: Any, text: str, slot: Any, shortcut: Any = None, tip: str = ""
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file = bar.addMenu("&File")
        self.open_action = self._action(
            file, "&Open session…", self.open_session_dialog, QKeySequence.StandardKey.Open
        )
        self.save_action = self._action(
            file, "&Save session…", self.save_session_dialog, QKeySequence.StandardKey.Save
        )
        self.recent_menu = file.addMenu("Recent sessions")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        file.addSeparator()
        has_export = importlib.util.find_spec("rnnviz.app.dialogs.export_dialog") is not None
        self.export_action = self._action(
            file,
            "&Export…",
            self.export_dialog,
            "Ctrl+E",
            "Export the diagram, gates or tables to a file",
        )
        file.addSeparator()
        self._action(file, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        edit = bar.addMenu("&Edit")
        self.copy_action = self._action(
            edit,
            "&Copy diagram",
            self.copy_diagram,
            "Ctrl+Shift+C",
            "Copy the unrolled graph as an image",
        )
        for a in (self.export_action, self.copy_action):
            a.setEnabled(has_export)
        presets = bar.addMenu("&Presets")
        self.preset_actions: dict[str, QAction] = {}
        for p in PRESETS:
            action = self._action(
                presets, p.name, lambda _=False, p=p: self.load_preset(p.key), tip=p.description
            )
            self.preset_actions[p.key] = action
        presets.setToolTipsVisible(True)
        view = bar.addMenu("&View")
        for dock in (self.config_dock, self.side_dock, self.timeline_dock):
            view.addAction(dock.toggleViewAction())
        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "&About rnnviz", self.about)

    def _build_shortcuts(self) -> None:
        tl = self.timeline
        self.shortcuts: dict[str, QShortcut] = {}
        for name, key, slot in (
            ("play", Qt.Key.Key_Space, tl.toggle_play),
            ("back", Qt.Key.Key_Left, tl.step_back),
            ("forward", Qt.Key.Key_Right, tl.step_forward),
            ("first", Qt.Key.Key_Home, tl.first),
            ("last", Qt.Key.Key_End, tl.last),
        ):
            sc = QShortcut(QKeySequence(key), self)
            sc.setContext(Qt.ShortcutContext.WindowShortcut)
            sc.activated.connect(slot)
            self.shortcuts[name] = sc

    def update_title(self, *_: Any) -> None:
        """Window title: the torch constructor line and the session file, if any."""
        name = f" — {self.session_path.name}" if self.session_path else ""
        line = constructor_line(self.state.spec, self.state.options)
        self.setWindowTitle(f"rnnviz — {line}{name}")

    # ---- presets and sessions ------------------------------------------------------------------
    def load_preset(self, key: str) -> None:
        """Load the preset's exact spec and run options."""
        p = next(p for p in PRESETS if p.key == key)
        if self.state.set_spec(p.spec, p.options):
            self.status.showMessage(f"preset: {p.name}", 5000)
            self.set_gate_scale(p.gate_scale)

    def set_gate_scale(self, label: str) -> None:
        """Put the gate heatmaps on colour scale `label` ("fixed", "stretched", "signed log";
        matched against the gate view's scale menu, so its wording stays the view's)."""
        combo = getattr(self.gate_view, "scale_combo", None)
        if combo is None:
            return
        for i in range(combo.count()):
            if combo.itemText(i).startswith(label):
                combo.setCurrentIndex(i)
                return

    def selection_dict(self) -> dict[str, Any]:
        """The selection as plain values for a session file."""
        s = self.state.selection
        return {
            "layer": s.layer,
            "direction": s.direction,
            "t": s.t,
            "unit": s.unit,
            "batch": s.batch,
        }

    def save_session(self, path: str | Path) -> bool:
        """Write the session to `path`; on failure say why and return False."""
        try:
            save_session(path, self.state.spec, self.state.options, self.selection_dict())
        except OSError as exc:
            self._file_error("Cannot save session", str(exc))
            return False
        self.session_path = Path(path)
        self._remember(path)
        self.update_title()
        self.status.showMessage(f"saved {path}", 5000)
        return True

    def open_session(self, path: str | Path) -> bool:
        """Load a session file; a bad file is reported and left untouched."""
        try:
            session = load_session(path)
        except SessionError as exc:
            self._file_error("Cannot open session", str(exc))
            return False
        self.state.set_spec(session.spec, session.options, dict(session.selection))
        self.session_path = Path(path)
        self._remember(path)
        self.update_title()
        self.status.showMessage(f"opened {path}", 5000)
        return True

    def open_session_dialog(self) -> None:
        """File → Open session…"""
        path, _ = QFileDialog.getOpenFileName(self, "Open session", "", SESSION_FILTER)
        if path:
            self.open_session(path)

    def save_session_dialog(self) -> None:
        """File → Save session…"""
        start = str(self.session_path or "session.rnnviz.json")
        path, _ = QFileDialog.getSaveFileName(self, "Save session", start, SESSION_FILTER)
        if path:
            self.save_session(path)

    def _file_error(self, title: str, message: str) -> None:
        self.status.showMessage(message, 15000)
        if QApplication.platformName() not in ("offscreen", "minimal"):
            QMessageBox.warning(self, title, message)

    def recent_sessions(self) -> list[str]:
        """Recently opened or saved session files, newest first."""
        value = settings().value("recent", [])
        if isinstance(value, str):  # QSettings returns one-item lists as a bare string
            value = [value]
        return [str(v) for v in value or []]

    def _remember(self, path: str | Path) -> None:
        settings().setValue("recent", push_recent(self.recent_sessions(), path))

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        recent = self.recent_sessions()
        for path in recent:
            self.recent_menu.addAction(path, lambda p=path: self.open_session(p))
        if not recent:
            self.recent_menu.addAction("(none)").setEnabled(False)

    # ---- export, help ---------------------------------------------------------------------------
    def export_dialog(self) -> None:
        """File → Export… (the export module is loaded only when used)."""
        from rnnviz.app.dialogs.export_dialog import show_export_dialog

        show_export_dialog(self.state, self)

    def copy_diagram(self) -> None:
        """Edit → Copy diagram."""
        from rnnviz.app.dialogs.export_dialog import copy_diagram_to_clipboard

        if self.state.snapshot is None:
            self.status.showMessage("nothing to copy yet: no trace has finished", 5000)
            return
        copy_diagram_to_clipboard(self.state)
        self.status.showMessage("diagram copied to the clipboard", 5000)

    def about(self) -> None:
        """Help → About."""
        QMessageBox.about(
            self,
            "About rnnviz",
            "<b>rnnviz</b><br>See inside nn.RNN, nn.LSTM and nn.GRU: shapes, "
            "parameters and every gate, recomputed from the module's weights "
            "and verified against torch.",
        )

    # ---- settings and lifetime --------------------------------------------------------------------
    def restore_layout(self) -> None:
        """Restore window geometry and dock layout saved by the last close; on a first start,
        fit the default size to the screen (a 1366×768 laptop cannot show 1400×900)."""
        s = settings()
        geometry, layout = s.value("window/geometry"), s.value("window/state")
        if isinstance(geometry, QByteArray) and self.restoreGeometry(geometry):
            pass
        elif self.screen() is not None:
            avail = self.screen().availableGeometry()
            self.resize(min(DEFAULT_SIZE[0], avail.width()), min(DEFAULT_SIZE[1], avail.height()))
        if isinstance(layout, QByteArray):
            self.restoreState(layout)

    def save_settings(self) -> None:
        """Remember geometry, dock layout and the current session for the next start."""
        from rnnviz.io.session import dumps_session

        s = settings()
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue(
            "last_session",
            dumps_session(self.state.spec, self.state.options, self.selection_dict()),
        )
        s.sync()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        """Stop the trace runner (joining its thread) and save settings before closing."""
        self.timeline.pause()
        self.runner.shutdown()
        if self.persist:
            self.save_settings()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self._key_guard)
        super().closeEvent(event)


def last_session() -> Any:
    """The Session saved by the last window close, or None if there is none or it is bad."""
    text = settings().value("last_session")
    if not isinstance(text, str):
        return None
    try:
        return loads_session(text)
    except SessionError:
        return None
