"""Step through time: play/pause, step, first/last, a scrub slider and a playback speed.

The timeline only writes `state.select(t=...)` and follows `sigSelectionChanged`; every view
moves from that one signal. Playback stops at the last step (pressing play there starts
again from t = 0), because a loop would hide the moment the sequence ends.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QStyle,
    QToolButton,
    QWidget,
)

from rnnviz.document.document import Document
from rnnviz.document.selection import Selection
from rnnviz.document.snapshot import Snapshot

#: Default playback speed in timesteps per second.
DEFAULT_SPEED = 4.0


class Timeline(QWidget):
    """Transport controls over t ∈ [0, seq_len − 1] of the state's snapshot."""

    def __init__(self, state: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)

        style = self.style()

        def button(icon: QStyle.StandardPixmap, tip: str, slot: object) -> QToolButton:
            b = QToolButton(self)
            b.setIcon(style.standardIcon(icon))
            b.setToolTip(tip)
            b.setAutoRaise(True)
            b.clicked.connect(slot)
            return b

        sp = QStyle.StandardPixmap
        self.first_button = button(sp.SP_MediaSkipBackward, "First step (Home)", self.first)
        self.back_button = button(sp.SP_MediaSeekBackward, "Step back (←)", self.step_back)
        self.play_button = button(sp.SP_MediaPlay, "Play / pause (Space)", self.toggle_play)
        self.forward_button = button(sp.SP_MediaSeekForward, "Step forward (→)", self.step_forward)
        self.last_button = button(sp.SP_MediaSkipForward, "Last step (End)", self.last)

        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setToolTip("Scrub through the timesteps")
        self.slider.setMinimum(0)
        self.slider.valueChanged.connect(self._slider_moved)

        self.label = QLabel(self)
        self.label.setMinimumWidth(110)
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.label.setToolTip(
            "The selected timestep t; a sequence of T steps runs t = 0 … T − 1 (0-based)"
        )

        self.speed = QDoubleSpinBox(self)
        self.speed.setRange(0.25, 60.0)
        self.speed.setSingleStep(1.0)
        self.speed.setDecimals(2)
        self.speed.setValue(DEFAULT_SPEED)
        self.speed.setSuffix(" steps/s")
        self.speed.setToolTip("Playback speed in timesteps per second")
        self.speed.valueChanged.connect(self._speed_changed)

        row = QHBoxLayout(self)
        row.setContentsMargins(6, 2, 6, 2)
        for w in (
            self.first_button,
            self.back_button,
            self.play_button,
            self.forward_button,
            self.last_button,
        ):
            row.addWidget(w)
        row.addWidget(self.label)
        row.addWidget(self.slider, 1)
        row.addWidget(QLabel("speed", self))
        row.addWidget(self.speed)

        state.sigSelectionChanged.connect(self._follow)
        state.sigSnapshotChanged.connect(self._snapshot)
        self._set_range(state.snapshot.spec.seq_len if state.snapshot else state.spec.seq_len)
        self._follow(state.selection)

    # ---- public actions (also bound to the window's keys) -----------------------------------
    @property
    def playing(self) -> bool:
        """True while playback is running."""
        return self._timer.isActive()

    @property
    def steps(self) -> int:
        """T: the number of timesteps the slider covers."""
        return self.slider.maximum() + 1

    def first(self) -> None:
        """Go to t = 0."""
        self.state.select(t=0)

    def last(self) -> None:
        """Go to t = T − 1."""
        self.state.select(t=self.steps - 1)

    def step_back(self) -> None:
        """t − 1 (stays at 0)."""
        self.state.step(-1)

    def step_forward(self) -> None:
        """t + 1 (stays at T − 1)."""
        self.state.step(1)

    def toggle_play(self) -> None:
        """Start or pause playback; at the last step, playing restarts from t = 0."""
        if self.playing:
            self.pause()
        else:
            self.play()

    def play(self) -> None:
        """Start playback at the chosen speed."""
        if self.steps <= 1:
            return
        if self.state.selection.t >= self.steps - 1:
            self.state.select(t=0)
        self._timer.start(self._interval())
        self._show_playing(True)

    def pause(self) -> None:
        """Stop playback where it is."""
        self._timer.stop()
        self._show_playing(False)

    # ---- internals -----------------------------------------------------------------------------
    def _interval(self) -> int:
        return max(1, round(1000.0 / self.speed.value()))

    def _speed_changed(self, _: float) -> None:
        if self.playing:
            self._timer.setInterval(self._interval())

    def _tick(self) -> None:
        if self.state.selection.t >= self.steps - 1:
            self.pause()
            return
        self.state.step(1)
        if self.state.selection.t >= self.steps - 1:
            self.pause()

    def _show_playing(self, playing: bool) -> None:
        sp = QStyle.StandardPixmap
        self.play_button.setIcon(
            self.style().standardIcon(sp.SP_MediaPause if playing else sp.SP_MediaPlay)
        )

    def _set_range(self, seq_len: int) -> None:
        self.slider.blockSignals(True)
        self.slider.setMaximum(max(0, seq_len - 1))
        self.slider.setPageStep(max(1, seq_len // 10))
        self.slider.blockSignals(False)
        self.setEnabled(True)

    def _snapshot(self, snap: Snapshot) -> None:
        self._set_range(snap.spec.seq_len)
        self._follow(self.state.selection)

    def _slider_moved(self, value: int) -> None:
        self.state.select(t=value)

    def _follow(self, sel: Selection) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(sel.t)
        self.slider.blockSignals(False)
        # "t = 2 of 0…5": the index and the range it runs over (never "2 / 6", which reads
        # as step 2 of 6 and makes t = 6 look reachable).
        self.label.setText(f"t = {sel.t} of 0…{self.steps - 1}")
        at_start, at_end = sel.t <= 0, sel.t >= self.steps - 1
        self.first_button.setEnabled(not at_start)
        self.back_button.setEnabled(not at_start)
        self.forward_button.setEnabled(not at_end)
        self.last_button.setEnabled(not at_end)
