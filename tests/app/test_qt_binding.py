"""The Qt binding must not corrupt Python's own objects.

PySide6 6.12.0 on Python 3.11 released one reference to None on each call of a Qt method that
returns nothing; the window makes such calls thousands of times a second while playing, and
Python aborts once None's count reaches zero. pyproject.toml excludes that release; this test
catches any other release with the same fault.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QRectF
from PySide6.QtGui import QPainterPath


def test_void_qt_calls_keep_none_alive():
    rect = QRectF(0, 0, 10, 10)
    path = QPainterPath()
    before = sys.getrefcount(None)
    for _ in range(2000):
        rect.setX(1.0)
        path.addRect(rect)
    after = sys.getrefcount(None)
    # Other threads may touch None meanwhile; a leak shows as ~2000 missing references.
    assert after - before > -500, (before, after)
