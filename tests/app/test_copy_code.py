"""Edit → Copy as code in the window: the clipboard holds the snippet for the window's own
spec and options, and running it gives the numbers the window traced."""

from __future__ import annotations

import numpy as np
import torch
from app_helpers import wait_traced
from PySide6.QtWidgets import QApplication

from rnnviz.analysis.code import code_for


def test_copy_as_code_puts_the_window_s_numbers_on_the_clipboard(window, qtbot) -> None:
    win = window
    assert win.state.edit_options(seed=4, init="randn", weight_scale=1.3)
    wait_traced(qtbot, win.runner)
    qtbot.waitUntil(lambda: win.state.snapshot.options == win.state.options, timeout=60_000)
    QApplication.clipboard().clear()
    assert win.copy_code_action.text().replace("&", "") == "Copy as code"
    win.copy_code_action.trigger()
    code = QApplication.clipboard().text()
    assert code == code_for(win.state.spec, win.state.options)
    ns: dict = {}
    exec(compile(code, "clipboard", "exec"), ns)  # the subprocess run is in test_code_snippet
    torch.set_grad_enabled(True)  # the snippet turns autograd off for its prints
    tr = win.state.snapshot.trace
    assert np.array_equal(ns["output"].numpy(), tr.tensors["output"])
    assert np.array_equal(ns["h_n"].numpy(), tr.tensors["h_n"])
    assert "code copied" in win.status.currentMessage()
