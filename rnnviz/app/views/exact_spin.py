"""Spin boxes that hold every value the Spec and RunOptions accept, exactly.

QSpinBox holds a C int (a seed of 2**40 would become 2147483647, other weights) and
QDoubleSpinBox rounds to its decimals (a weight_scale of 1e-5 would become 0.001, dropout
0.995 would become 0.99). A loaded session must show what it holds, and an edit elsewhere
must not send a rounded value back, so these keep Python's int and float as they are and
show them in their shortest exact form.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from PySide6.QtCore import QSize, Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QAbstractSpinBox, QDoubleSpinBox, QWidget

#: Widest these boxes ask to be: Qt sizes a spin box for its longest possible text (323
#: decimals, 19 digits), which would push the configuration panel past a laptop's dock.
HINT_WIDTH = 110


def _capped(hint: QSize) -> QSize:
    return QSize(min(hint.width(), HINT_WIDTH), hint.height())


class ExactDoubleSpinBox(QDoubleSpinBox):
    """A QDoubleSpinBox that does not round: values show as Python's shortest repr and are
    read back exactly (1e-05, 0.995, 0.9999999999999999); typing accepts any float form."""

    #: Qt's largest precision: rounding to 323 decimals changes no double.
    DECIMALS = 323

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDecimals(self.DECIMALS)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        """Qt's hint, no wider than HINT_WIDTH (the text scrolls; the value is exact)."""
        return _capped(super().sizeHint())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API
        """Qt's minimum, no wider than HINT_WIDTH."""
        return _capped(super().minimumSizeHint())

    def textFromValue(self, value: float) -> str:  # noqa: N802 - Qt API
        """Shortest text that reads back as exactly `value`."""
        return repr(float(value))

    def valueFromText(self, text: str) -> float:  # noqa: N802 - Qt API
        """The float `text` spells (the minimum if it spells none)."""
        try:
            return float(text)
        except ValueError:
            return self.minimum()

    def validate(self, text: str, pos: int) -> Any:  # Qt API: (state, text, pos)
        """Acceptable for a float in range, Intermediate while it may still become one."""
        try:
            value = float(text)
        except ValueError:
            partial = text.strip().lower()
            ok = all(c in "0123456789.e+-" for c in partial)
            state = QValidator.State.Intermediate if ok else QValidator.State.Invalid
            return state, text, pos
        if math.isfinite(value) and self.minimum() <= value <= self.maximum():
            return QValidator.State.Acceptable, text, pos
        return QValidator.State.Intermediate, text, pos

    def stepBy(self, steps: int) -> None:  # noqa: N802 - Qt API
        """Arrows step in decimal: 0.1 − 0.01 is 0.09, not the binary sum's
        0.09000000000000001 (shown, since this box shows every digit)."""
        value = Decimal(repr(float(self.value()))) + steps * Decimal(repr(self.singleStep()))
        self.setValue(min(max(float(value), self.minimum()), self.maximum()))

    def set_exact_range(self, lo: float, hi: float) -> None:
        """The range, kept exactly (setRange would round it to the decimals in force)."""
        self.setRange(lo, hi)


class BigIntSpinBox(QAbstractSpinBox):
    """A spin box over Python ints of any size in [minimum, maximum] (a seed up to 2**63-1).

    `valueChanged(int)` is emitted when the value changes by stepping or when typed text is
    committed (Enter or focus out), like a QSpinBox without keyboard tracking."""

    valueChanged = Signal(object)  # noqa: N815 - Qt naming

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        """Qt's hint, no wider than HINT_WIDTH (the text scrolls; the value is exact)."""
        return _capped(super().sizeHint())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API
        """Qt's minimum, no wider than HINT_WIDTH."""
        return _capped(super().minimumSizeHint())

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._min, self._max, self._value = 0, 2**63 - 1, 0
        self.setKeyboardTracking(False)
        self.editingFinished.connect(self._commit_text)
        self.lineEdit().setText("0")

    def setRange(self, lo: int, hi: int) -> None:  # noqa: N802 - QSpinBox's name
        """Allowed values, inclusive."""
        self._min, self._max = lo, hi

    def minimum(self) -> int:
        """Smallest allowed value."""
        return self._min

    def maximum(self) -> int:
        """Largest allowed value."""
        return self._max

    def value(self) -> int:
        """The current value."""
        return self._value

    def setValue(self, value: int) -> None:  # noqa: N802 - QSpinBox's name
        """Show `value` (clamped to the range, which is the field's own) and emit if changed."""
        value = max(self._min, min(self._max, int(value)))
        self.lineEdit().setText(str(value))
        if value != self._value:
            self._value = value
            self.valueChanged.emit(value)

    def _commit_text(self) -> None:
        text = self.lineEdit().text().strip()
        if text.isdigit() and self._min <= int(text) <= self._max:
            self.setValue(int(text))
        else:
            self.lineEdit().setText(str(self._value))

    def validate(self, text: str, pos: int) -> Any:  # Qt API: (state, text, pos)
        """Digits only; Acceptable when in range."""
        t = text.strip()
        if not t:
            return QValidator.State.Intermediate, text, pos
        if not t.isdigit() or len(t) > 40:
            return QValidator.State.Invalid, text, pos
        ok = self._min <= int(t) <= self._max
        return (QValidator.State.Acceptable if ok else QValidator.State.Intermediate), text, pos

    def stepBy(self, steps: int) -> None:  # noqa: N802 - Qt API
        """Up/down arrows and keys."""
        self.setValue(self._value + steps)

    def stepEnabled(self) -> QAbstractSpinBox.StepEnabledFlag:  # noqa: N802 - Qt API
        """Which arrows are active at the current value."""
        flags = QAbstractSpinBox.StepEnabledFlag.StepNone
        if self._value > self._min:
            flags |= QAbstractSpinBox.StepEnabledFlag.StepDownEnabled
        if self._value < self._max:
            flags |= QAbstractSpinBox.StepEnabledFlag.StepUpEnabled
        return flags
