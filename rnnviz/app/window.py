"""The main window: config panel, the four views, the timeline, menus and the status bar.

The window wires things together and owns nothing the views show: the Document holds the
data, the TraceRunner computes it, every view subscribes to the state on its own.
"""

from __future__ import annotations

import importlib.util
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QEvent, QObject, Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QPlainTextEdit,
    QScrollArea,
    QTextEdit,
    QWidget,
)

from rnnviz.analysis.scales import DEFAULT_SCALE_MODE, check_scale_mode
from rnnviz.app.deck import ViewDeck
from rnnviz.app.heap import freeze_loaded_heap
from rnnviz.app.lazy_view import LazyView
from rnnviz.app.qt_post import TraceRunner
from rnnviz.app.user_settings import recent_sessions, remember_recent, settings
from rnnviz.app.views.config_panel import ConfigPanel, constructor_line
from rnnviz.app.views.status import StatusBar
from rnnviz.app.views.timeline import Timeline
from rnnviz.config.presets import PRESETS
from rnnviz.document.document import Document
from rnnviz.io.session import (
    SessionError,
    load_session,
    save_session,
)

DEFAULT_SIZE = (1400, 900)
#: Width of the configuration dock: its form fits, and a 1280 px window keeps ~1000 px for
#: the views.
CONFIG_WIDTH = 250
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


def _set_scale(view: QWidget, mode: str) -> None:
    if hasattr(view, "set_scale_mode"):  # not the label shown when the view failed to build
        view.set_scale_mode(mode)


def _settle_heap(*_: object) -> None:
    """Freeze the loaded heap once torch is in (rnnviz.app.heap): every result checks, the
    first after the import freezes."""
    freeze_loaded_heap()


class _KeyGuard(QObject):
    """Lets a focused editor keep the keys it uses instead of the timeline shortcuts.

    Qt asks the focus widget first with a ShortcutOverride event; accepting it there means
    "this key is mine". Without this, Space on a focused check box would start playback
    instead of toggling it, and ←/→ in a table would step time instead of moving the cursor.
    """

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if (
            isinstance(event, QKeyEvent)
            and event.type() == QEvent.Type.ShortcutOverride
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
        # The pyqtgraph views behind tabs are built when first shown or asked for (the
        # gate_view, gradients_view and training_view properties): see rnnviz.app.lazy_view.
        self.gate_tab = self._lazy("gate_view", "GateView")
        self._gate_scale: str | None = None  # set before the Gates view is built (set_gate_scale)
        self._preset_scale: str | None = None  # the scale the last preset put on (load_preset)
        self.shapes_view = _view("shapes_view", "ShapesView", self.state, self)
        self.equations_view = _view("equations_view", "EquationsView", self.state, self)
        self.values_view = _view("values_view", "ValuesView", self.state, self)
        self.config_panel = ConfigPanel(self.state, self)
        self.timeline = Timeline(self.state, self)

        # Every view is a tab of the deck: on a laptop each gets the whole centre; on a wide
        # screen Shapes and Equations take a second pane (rnnviz.app.deck).
        self.deck = ViewDeck(self)
        self.deck.add_view(
            self.graph_view, "Graph", tip="The unrolled graph: every cell, edge and shape"
        )
        self.deck.add_view(
            self.gate_tab, "Gates", tip="Every gate of the selected layer and direction, over time"
        )
        self.deck.add_view(
            self.shapes_view, "Shapes", side=True, tip="Tensor shapes and parameter counts"
        )
        self.deck.add_view(
            self.equations_view, "Equations", side=True, tip="The cell's equations, with numbers"
        )
        self.deck.add_view(
            self.values_view,
            "Values",
            side=True,
            tip="x, h0/c0, output, h_n/c_n as torch prints them",
        )
        # Backward through time; computes gradients only while its tab is on screen.
        self.gradients_tab = self._lazy("gradients_view", "GradientsView")
        self.deck.add_view(
            self.gradients_tab, "Gradients", side=True, tip="∂L/∂h_t through time, verified"
        )
        # Training (text in, model around): beside the gates on a wide screen, a tab on a laptop.
        self.training_tab = self._lazy("training_view", "TrainingView")
        self.deck.add_view(
            self.training_tab, "Training", side=True, tip="Text → model → loss, trained live"
        )
        #: Where further views go (`self.tabs.addTab(view, title)`), beside Shapes/Equations.
        self.tabs = self.deck
        self.setCentralWidget(self.deck)

        scroll = QScrollArea(self)
        scroll.setWidget(self.config_panel)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(CONFIG_WIDTH)
        self.config_dock = self._dock(
            "Configuration", "config", scroll, Qt.DockWidgetArea.LeftDockWidgetArea
        )
        # The epoch slider sits beside the time slider (hidden until something is trained).
        self.epoch_slider = _view("epoch_slider", "EpochSlider", self.state, self)
        timeline_row = QWidget(self)
        row = QHBoxLayout(timeline_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.timeline, 3)
        row.addWidget(self.epoch_slider, 2)
        self.timeline_dock = self._dock(
            "Timeline", "timeline", timeline_row, Qt.DockWidgetArea.BottomDockWidgetArea
        )
        # While training, the views follow the newest epoch at a bounded rate.
        from rnnviz.app.epoch_follow import EpochFollower

        self.epoch_follower = EpochFollower(self.state, parent=self)
        self.resizeDocks([self.config_dock], [CONFIG_WIDTH], Qt.Orientation.Horizontal)

        self.status = StatusBar(self.state, self)
        self.setStatusBar(self.status)

        self._build_menus()
        self._build_shortcuts()
        self.state.sigSpecChanged.connect(self.update_title)
        self.state.sigOptionsChanged.connect(self.update_title)
        self.update_title()
        # The first result after torch's import is when the heap is settled: freeze it then.
        self.state.sigSnapshotChanged.connect(_settle_heap)
        self._key_guard = _KeyGuard(self)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self._key_guard)
        # The first trace (the forward is always wanted): a held runner starts it on release.
        # Until the views were built lazily, the training view's `want` started it by chance.
        self.runner.schedule()

    # ---- views built when first needed ---------------------------------------------------------
    def _lazy(self, module: str, cls: str) -> LazyView:
        return LazyView(partial(_view, module, cls, self.state), self)

    @property
    def gate_view(self) -> QWidget:
        """The Gates view (built now if its tab was never opened)."""
        return self.gate_tab.view()

    def set_gate_scale(self, mode: str) -> None:
        """Show the Gates heatmaps in colour-scale `mode` (SCALE_MODES; ValueError else),
        now if the view exists, else once it is built: setting it builds nothing."""
        mode = check_scale_mode(mode)
        self._gate_scale = mode
        self.gate_tab.when_built(lambda view: _set_scale(view, mode))

    def gate_scale(self) -> str | None:
        """The Gates colour-scale mode: the view's when built, else the one set for it (None
        when none was: the view's default)."""
        if self.gate_tab.built:
            scale_mode = getattr(self.gate_view, "scale_mode", None)
            return str(scale_mode()) if scale_mode else None
        return self._gate_scale

    @property
    def gradients_view(self) -> QWidget:
        """The Gradients view (built now if its tab was never opened)."""
        return self.gradients_tab.view()

    @property
    def training_view(self) -> QWidget:
        """The Training view (built now if its tab was never opened)."""
        return self.training_tab.view()

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
        from rnnviz.app import run_files

        self.open_run_action = self._action(
            file,
            "Open training run…",
            lambda: run_files.open_run_dialog(self),
            tip="Open a run file (rnnviz train --out): its loss curve, predictions and epochs",
        )
        self.save_run_action = self._action(
            file,
            "Save training run…",
            lambda: run_files.save_run_dialog(self),
            tip="Save the finished training as a run file (rnnviz trace --run reads it)",
        )
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
        self.copy_code_action = self._action(
            edit,
            "Copy as c&ode",
            self.copy_code,
            "Ctrl+Alt+C",
            "Copy torch code that builds this module and input and prints these numbers",
        )
        presets = bar.addMenu("&Presets")
        self.preset_actions: dict[str, QAction] = {}
        for p in PRESETS:
            action = self._action(
                presets, p.name, lambda _=False, p=p: self.load_preset(p.key), tip=p.description
            )
            self.preset_actions[p.key] = action
        presets.setToolTipsVisible(True)
        view = bar.addMenu("&View")
        for dock in (self.config_dock, self.timeline_dock):
            view.addAction(dock.toggleViewAction())
        view.addSeparator()
        self.view_actions: list[QAction] = []
        for k, entry in enumerate(self.deck.entries[:9], start=1):
            title = entry.title
            action = self._action(
                view,
                f"Show {title}",
                lambda _=False, w=entry.widget: self.deck.show_view(w),
                f"Ctrl+{k}",
                f"Bring the {title} view to the front",
            )
            self.view_actions.append(action)
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
            if p.gate_scale:
                self.set_gate_scale(p.gate_scale)  # the scale it is meant to be seen in
            elif self._preset_scale is not None and self.gate_scale() == self._preset_scale:
                # The scale was the last preset's, not the user's: it goes with that preset
                # (relu-explode's signed log stayed on for every preset loaded after it).
                # A scale the user picked since is theirs and stays.
                self.set_gate_scale(DEFAULT_SCALE_MODE)
            self._preset_scale = p.gate_scale

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
        remember_recent(path)
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
        remember_recent(path)
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
        return recent_sessions()

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        recent = recent_sessions()
        for path in recent:
            self.recent_menu.addAction(path, partial(self.open_session, path))
        if not recent:
            self.recent_menu.addAction("(none)").setEnabled(False)

    # ---- export, help ---------------------------------------------------------------------------
    def export_dialog(self) -> None:
        """File → Export… (the export module is loaded only when used)."""
        from rnnviz.app.dialogs.export_dialog import show_export_dialog

        # The dialog's colour scale starts as the gate view shows it (or will show it).
        show_export_dialog(self.state, self, scale_mode=self.gate_scale())

    def copy_diagram(self) -> None:
        """Edit → Copy diagram."""
        from rnnviz.app.dialogs.export_dialog import copy_diagram_to_clipboard

        if self.state.snapshot is None:
            self.status.showMessage("nothing to copy yet: no trace has finished", 5000)
            return
        copy_diagram_to_clipboard(self.state)
        self.status.showMessage("diagram copied to the clipboard", 5000)

    def copy_code(self) -> None:
        """Edit → Copy as code: a torch-only script reproducing the traced numbers."""
        from rnnviz.analysis.code import CodeError, code_for
        from rnnviz.config.spec import SpecError

        try:
            code = code_for(self.state.spec, self.state.options)
        except (CodeError, SpecError) as exc:
            self.status.showMessage(f"cannot copy as code: {exc}", 8000)
            return
        QApplication.clipboard().setText(code)
        self.status.showMessage(
            "code copied: paste it into Python to print the same output and h_n", 5000
        )

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
