"""The Training view in the window: train hello → ohlol, scrub epochs, pause and cancel."""

from __future__ import annotations

import numpy as np
from app_helpers import front
from PySide6.QtCore import Qt

from rnnviz.document.training import TRAIN, TextSnapshot, history, shown_epoch


def _train(qtbot, win, key: str, **changes) -> None:
    tv = win.training_view
    tv.preset_combo.setCurrentIndex(tv.preset_combo.findData(key))
    for name, value in changes.items():
        getattr(tv, name).setValue(value)
    qtbot.mouseClick(tv.train_button, Qt.MouseButton.LeftButton)


def _snapshot_at(win, epoch: int) -> bool:
    snap = win.state.snapshot
    return isinstance(snap, TextSnapshot) and snap.epoch == epoch and not win.runner.busy


def test_train_hello_ohlol_rnn_and_scrub_epochs(window, qtbot):
    win = window
    tv = win.training_view
    _train(qtbot, win, "hello-ohlol-rnn")
    qtbot.waitUntil(
        lambda: history(win.state) is not None and history(win.state).done, timeout=60_000
    )
    hist = history(win.state)
    xs, ys = tv.curve.getData()
    assert len(xs) == 15 and list(xs) == list(range(1, 16))
    np.testing.assert_allclose(ys, hist.losses)
    assert tv.predictions.rowCount() == 15
    assert tv.predictions.item(0, 3).text() == "ohlol"  # newest first: epoch 15
    assert tv.progress_label.text().startswith("done: epoch 15/15")
    # The slider followed the training to its last epoch, and every view shows it.
    qtbot.waitUntil(lambda: _snapshot_at(win, 15), timeout=30_000)
    assert win.state.spec.hidden_size == 4 and win.state.spec.seq_len == 5
    panel = win.config_panel
    assert "epoch 15" in panel.run_box.title()
    assert panel.run_unused.isVisibleTo(panel) and "epoch 15" in panel.run_unused.text()
    # The note wraps: the panel still fits the dock (a long title had widened it past it,
    # with a horizontal scroll bar at 1280×720).
    from rnnviz.app.window import CONFIG_WIDTH

    assert panel.minimumSizeHint().width() <= CONFIG_WIDTH
    assert "predicted <b>ohlol</b>" in tv.epoch_label.text()
    late = np.array(front(win, win.gate_view).images["h"].image, copy=True)
    tv.epoch_slider.setValue(1)
    qtbot.waitUntil(lambda: _snapshot_at(win, 1), timeout=30_000)
    early = np.array(front(win, win.gate_view).images["h"].image, copy=True)
    assert early.shape == late.shape and not np.allclose(early, late)
    # ... and it is epoch 1's traced h, not a stale picture.
    np.testing.assert_allclose(early, win.state.snapshot.trace.gate(0, "fwd", "h")[:, 0, :])
    # The stage tables show the pipeline of the shown epoch.
    tv.stage_combo.setCurrentText("indices")
    assert tv.stage_table.columnCount() == 5
    assert [tv.stage_table.item(0, c).text() for c in range(5)] == ["1", "0", "2", "2", "3"]
    tv.stage_combo.setCurrentText("vocabulary")
    assert [tv.stage_table.item(r, 1).text() for r in range(4)] == ["e", "h", "l", "o"]
    # Editing the spec goes back to random inputs.
    win.state.edit_spec(hidden_size=6)
    assert shown_epoch(win.state) is None
    qtbot.waitUntil(lambda: not isinstance(win.state.snapshot, TextSnapshot), timeout=30_000)
    assert win.config_panel.run_box.title() == "Run"
    assert not win.config_panel.run_unused.isVisibleTo(win.config_panel)


def test_pause_holds_and_cancel_stops(window, qtbot):
    win = window
    tv = win.training_view
    _train(qtbot, win, "tagger", epochs_spin=5000)
    qtbot.mouseClick(tv.pause_button, Qt.MouseButton.LeftButton)
    assert TRAIN in win.state.paused
    # "paused" only once the loop holds, and then at the epoch it holds after.
    qtbot.waitUntil(lambda: history(win.state) is not None and history(win.state).paused)
    hist = history(win.state)
    n = len(hist.epochs)
    assert tv.progress_label.text().startswith(f"paused: epoch {n}/5000")
    assert f"training paused at epoch {n}/5000" in win.status.job_line()
    qtbot.wait(300)
    qtbot.wait(400)
    hist = history(win.state)
    assert (len(hist.epochs) if hist is not None else 0) == n  # nothing ran while paused
    assert n < 5000
    qtbot.mouseClick(tv.pause_button, Qt.MouseButton.LeftButton)  # resume
    qtbot.waitUntil(lambda: history(win.state) is not None and len(history(win.state).epochs) > n)
    qtbot.mouseClick(tv.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: history(win.state).done, timeout=30_000)
    hist = history(win.state)
    assert hist.cancelled and len(hist.epochs) < 5000
    assert tv.progress_label.text().startswith("cancelled")
    assert not tv.cancel_button.isEnabled()
    assert len(tv.curve.getData()[0]) == len(hist.epochs)


def test_loss_axis_counts_whole_epochs_before_and_after_training(window, qtbot):
    """Untrained, the empty loss plot read "epoch (x0.001)" from −400 to 400: it now spans
    epochs 1 … the number asked for, in whole epochs, and the curve's own range once
    epochs land."""
    win = window
    tv = win.training_view
    front(win, tv)
    axis = tv.plot.getPlotItem().getAxis("bottom")
    assert type(axis).__name__ == "IndexAxis" and not axis.autoSIPrefix
    tv.epochs_spin.setValue(40)
    tv.set_empty_range()
    (x0, x1), _ = tv.plot.getPlotItem().vb.viewRange()
    assert x0 < 1.5 and 39 < x1 < 42
    _train(qtbot, win, "hello-ohlol-rnn", epochs_spin=8)
    qtbot.waitUntil(
        lambda: history(win.state) is not None and history(win.state).done, timeout=60_000
    )
    qtbot.waitUntil(lambda: len(tv.curve.getData()[0]) == 8, timeout=10_000)
    tv.plot.getPlotItem().vb.updateAutoRange()
    (x0, x1), (y0, y1) = tv.plot.getPlotItem().vb.viewRange()
    losses = history(win.state).losses
    assert x0 <= 1 and 8 <= x1 < 12  # the 8 epochs trained, not the 40 asked for before
    assert y0 <= min(losses) and max(losses) <= y1


def test_at_a_laptops_size_every_number_says_what_it_is(qtbot):
    """At 1280×720 the Training tab showed bare "6", "1" and "0.1000", an "acc" column cut
    to "1…" after more than 20 epochs, and the flow's last lines under the stage picker."""
    from app_helpers import wait_traced

    from rnnviz.app.window import MainWindow
    from rnnviz.config.presets import preset
    from rnnviz.document.document import Document

    p = preset("rnn-5-6-2")
    state = Document(p.spec, p.options)
    win = MainWindow(state)
    win.persist = False
    qtbot.addWidget(win)
    win.resize(1280, 720)
    win.show()
    with qtbot.waitSignal(state.sigSnapshotChanged, timeout=60_000):
        win.runner.start_now()
    wait_traced(qtbot, win.runner)
    tv = front(win, win.training_view)
    _train(qtbot, win, "tagger", epochs_spin=30)
    qtbot.waitUntil(lambda: history(state) is not None and history(state).done, timeout=120_000)
    qtbot.waitUntil(lambda: _snapshot_at(win, 30), timeout=30_000)
    qtbot.wait(50)
    assert tv.hidden_spin.text() == f"hidden {tv.hidden_spin.value()}"
    assert tv.layers_spin.text() == f"layers {tv.layers_spin.value()}"
    assert tv.embedding_spin.text().startswith("embed ") and tv.lr_spin.text().startswith("lr ")
    table = tv.predictions
    assert table.rowCount() == 30
    fm = table.fontMetrics()
    for col in range(3):  # epoch, loss, acc: each cell's text fits its column
        widest = max(fm.horizontalAdvance(table.item(r, col).text()) for r in range(30))
        assert widest < table.columnWidth(col), (col, widest, table.columnWidth(col))
    flow = tv.flow_label
    assert flow.text().count("→") > 5
    assert flow.height() >= flow.heightForWidth(flow.width())
    combo = tv.stage_combo
    assert combo.geometry().top() >= flow.geometry().bottom()  # nothing drawn over its lines


def test_a_form_that_cannot_train_says_why_and_asks_for_nothing(window, qtbot):
    tv = window.training_view
    tv.preset_combo.setCurrentIndex(tv.preset_combo.findData("hello-ohlol-rnn"))
    tv.hidden_spin.setValue(8)  # no head: the hidden state is the 4 classes' logits
    qtbot.mouseClick(tv.train_button, Qt.MouseButton.LeftButton)
    assert tv.error_label.text().startswith("hidden_size: head none needs hidden_size ==")
    assert window.state.sources.get(TRAIN) is None  # no training asked for
    assert tv.progress_label.text() == "not trained"


def test_a_failed_training_says_so_in_the_training_tab(window, qtbot):
    from rnnviz.document.training import request_training
    from rnnviz.text.presets import TEXT_PRESETS

    tv = window.training_view
    base = next(p.settings for p in TEXT_PRESETS if p.key == "hello-ohlol-rnn")
    messages = []
    window.state.sigFailed.connect(messages.append)
    # Past the form's check (a caller of the document, or a file): the job refuses it.
    request_training(window.state, base.replace(hidden_size=8))
    qtbot.waitUntil(lambda: bool(messages) and not window.runner.busy, timeout=60_000)
    assert window.state.failed_kind == TRAIN
    assert tv.progress_label.text() == "failed (see below)"
    assert "head none needs hidden_size" in tv.error_label.text()
    assert not tv.cancel_button.isEnabled() and not tv.pause_button.isEnabled()
    assert window.status.currentMessage().startswith("training failed: hidden_size: ")


def test_a_sequence_by_sequence_epoch_says_which_weights_each_number_is_at(window, qtbot):
    from rnnviz.app.views.training_words import percent

    tv = window.training_view
    _train(qtbot, window, "tagger", epochs_spin=2)
    qtbot.waitUntil(
        lambda: history(window.state) is not None and history(window.state).done, timeout=60_000
    )
    qtbot.waitUntil(lambda: _snapshot_at(window, 2), timeout=30_000)  # followed the newest
    tv.epoch_slider.setValue(1)
    qtbot.waitUntil(lambda: _snapshot_at(window, 1), timeout=30_000)
    e = history(window.state).epochs[0]
    stages = {st.name: st for st in window.state.snapshot.stages.stages}
    text = tv.epoch_label.text()
    # The views' own loss (all four sentences at the epoch's first weights) and the epoch's
    # mean over its four steps, each named for what it is.
    assert f"loss {float(stages['loss'].value):.4f}" in text
    assert f"mean loss {e.loss:.4f}" in text and "took 4 steps, one per sequence" in text
    assert "before its first optimizer step" in text
    assert percent(283 / 284) == "99.6%" and percent(1.0) == "100%" and percent(0.0) == "0%"
    # The tag classes have a table of their own, and the class-indexed stages name them:
    # index 2 is "V" there, while the input vocabulary's 2 is a word.
    names = [tv.stage_combo.itemText(i) for i in range(tv.stage_combo.count())]
    assert names[:2] == ["vocabulary", "classes"]
    tv.stage_combo.setCurrentText("classes")
    cells = [tv.stage_table.item(r, 1).text() for r in range(tv.stage_table.rowCount())]
    assert cells == ["DET", "NN", "V"]
    tv.stage_combo.setCurrentText("predicted")
    assert "classes: 0 = DET, 1 = NN, 2 = V" in tv.stage_label.text()
    # Sentence 1 has 4 words: its 5th prediction is the argmax of padding, greyed and said.
    assert "padding" in tv.stage_table.item(1, 4).toolTip()
    assert not tv.stage_table.item(1, 3).toolTip() and not tv.stage_table.item(0, 4).toolTip()
    tv.stage_combo.setCurrentText("vocabulary")
    assert tv.stage_label.text().startswith("input vocabulary: 13 tokens")
    # A token in angle brackets reads as itself, not as an HTML tag dropped from the line.
    from PySide6.QtGui import QTextDocument

    tv.stage_combo.setCurrentText("indices")
    shown = QTextDocument()
    shown.setHtml(tv.stage_label.text())
    assert "with <pad> = 0" in shown.toPlainText()


def test_gradients_of_a_training_epoch_say_they_are_not_the_training_loss(window, qtbot):
    _train(qtbot, window, "hello-ohlol-rnn")
    qtbot.waitUntil(
        lambda: history(window.state) is not None and history(window.state).done, timeout=60_000
    )
    qtbot.waitUntil(lambda: _snapshot_at(window, 15), timeout=30_000)
    view = front(window, window.gradients_view)
    qtbot.waitUntil(lambda: view.result is not None and not window.runner.busy, timeout=60_000)
    caption = view.caption.text()
    assert "loss last = " in caption
    # hello-ohlol-rnn has no head: its training loss is CrossEntropy on h itself.
    assert "not the training loss (on h itself, no head) the optimizer used" in caption


def test_settings_the_form_has_no_control_for_are_said(window):
    tv = window.training_view
    tv.preset_combo.setCurrentIndex(tv.preset_combo.findData("tagger"))
    kept = tv.kept_label.text()
    for words in ("NLLLoss on log_softmax", "one step per sequence", "targets' own vocabulary"):
        assert words in kept
    tv.preset_combo.setCurrentIndex(tv.preset_combo.findData("hello-ohlol-cell"))
    kept = tv.kept_label.text()
    assert "CrossEntropyLoss, summed over steps" in kept and "one step per epoch" in kept


def test_a_failure_belongs_to_its_training(window, qtbot, monkeypatch):
    """A training that fails after some epochs says so (not 'training', Pause/Cancel off);
    a form edit keeps the reason; a new training leaves it behind."""
    import rnnviz.text.training as training

    real_train = training.train

    def failing(settings, *, on_epoch=None, **kw):
        def epoch(record):
            if on_epoch is not None:
                on_epoch(record)
            if record.epoch == 2:
                raise RuntimeError("boom at epoch 2")

        return real_train(settings, on_epoch=epoch, **kw)

    tv = window.training_view
    messages = []
    window.state.sigFailed.connect(messages.append)
    monkeypatch.setattr(training, "train", failing)
    _train(qtbot, window, "hello-ohlol-rnn")
    qtbot.waitUntil(lambda: bool(messages) and not window.runner.busy, timeout=60_000)
    assert tv.progress_label.text().startswith("failed after epoch")
    assert "boom at epoch 2" in tv.error_label.text()
    assert not tv.pause_button.isEnabled() and not tv.cancel_button.isEnabled()
    tv.seed_spin.setValue(5)  # a valid edit: the reason stays beside "failed"
    assert "boom at epoch 2" in tv.error_label.text()
    monkeypatch.setattr(training, "train", real_train)
    qtbot.mouseClick(tv.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: history(window.state) is not None and history(window.state).done, timeout=60_000
    )
    assert tv.progress_label.text().startswith("done: epoch 15/15")
    assert tv.error_label.text() == ""


def test_the_form_steps_in_decimal_and_keeps_its_notes_current(window):
    tv = window.training_view
    tv.preset_combo.setCurrentIndex(tv.preset_combo.findData("tagger"))
    tv.lr_spin.setValue(0.1)
    tv.lr_spin.stepBy(-1)
    assert tv.lr_spin.text() == "lr 0.09" and tv.settings().lr == 0.09
    assert "targets' own vocabulary" in tv.kept_label.text()
    tv.task_combo.setCurrentText("next")  # next-token targets share the input vocabulary
    assert "targets share it" in tv.kept_label.text()


def test_a_pause_reads_pausing_until_the_loop_holds():
    from types import SimpleNamespace

    from rnnviz.app.views.training_words import pause_word

    assert pause_word(SimpleNamespace(paused=False)) == "pausing"
    assert pause_word(SimpleNamespace(paused=True)) == "paused"
