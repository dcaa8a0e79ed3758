"""The Gradients view with a training epoch on screen: its page says whose gradients they are
(the epoch's RNN on the training input) and follows the epoch slider; the Compare page says
its modules are fresh ones, not the trained model."""

from __future__ import annotations

import numpy as np

from rnnviz.document.document import COMPARE, GRAD
from rnnviz.document.training import TextSnapshot, history, request_training
from rnnviz.text.presets import text_preset


def _on(win, epoch: int) -> bool:
    snap = win.state.snapshot
    return (
        isinstance(snap, TextSnapshot)
        and snap.epoch == epoch
        and win.state.result(GRAD) is not None
        and not win.runner.busy
    )


def test_gradients_page_follows_the_epoch_and_compare_says_it_is_not_it(window, qtbot):
    win, view = window, window.gradients_view
    request_training(win.state, text_preset("hello-ohlol-rnn").settings)
    qtbot.waitUntil(lambda: (h := history(win.state)) is not None and h.done, timeout=60_000)
    win.deck.show_view(view)
    drawn = {}
    for epoch in (3, 15):
        win.epoch_slider.slider.setValue(epoch)  # the user moves the epoch slider
        qtbot.waitUntil(lambda e=epoch: _on(win, e), timeout=60_000)
        qtbot.waitUntil(lambda: view.result is win.state.result(GRAD), timeout=10_000)
        assert f"epoch {epoch}'s RNN on the training input" in view.caption.text()
        gt = view.result.grads
        np.testing.assert_array_equal(
            gt.trace.params["weight_hh_l0"], win.state.snapshot.trace.params["weight_hh_l0"]
        )
        drawn[epoch] = np.asarray(view.norms.data["h layer 0"]).copy()
    assert not np.allclose(drawn[3], drawn[15])  # the plot moved with the epoch
    view.pages.setCurrentWidget(view.compare)
    qtbot.waitUntil(lambda: win.state.result(COMPARE) is not None, timeout=120_000)
    qtbot.waitUntil(lambda: view.compare.result is not None, timeout=10_000)
    assert "not the trained model on screen" in view.compare.summary.text()


def test_a_ragged_batch_says_its_gradients_are_of_the_padded_batch(window, qtbot):
    win, view = window, window.gradients_view
    request_training(win.state, text_preset("tagger").settings.replace(epochs=3))
    qtbot.waitUntil(lambda: (h := history(win.state)) is not None and h.done, timeout=60_000)
    win.deck.show_view(view)
    win.epoch_slider.slider.setValue(2)
    qtbot.waitUntil(lambda: _on(win, 2), timeout=60_000)
    qtbot.waitUntil(lambda: view.result is win.state.result(GRAD), timeout=10_000)
    text = view.caption.text()
    assert "epoch 2's RNN on the training input" in text
    assert "this is the padded batch" in text


def test_the_caption_names_the_epoch_of_the_gradients_not_of_the_trace(window, qtbot):
    """The caption read the epoch from the trace on screen; the gradients may land before or
    after it. Shown with their own key's source (epoch 3) while the trace shows epoch 15, it
    names epoch 3."""
    import dataclasses

    win, view = window, window.gradients_view
    request_training(win.state, text_preset("hello-ohlol-rnn").settings)
    qtbot.waitUntil(lambda: (h := history(win.state)) is not None and h.done, timeout=60_000)
    win.deck.show_view(view)
    win.epoch_slider.slider.setValue(15)
    qtbot.waitUntil(lambda: _on(win, 15), timeout=60_000)
    qtbot.waitUntil(lambda: view.result is win.state.result(GRAD), timeout=10_000)
    source = win.state.key(GRAD).source
    assert source.epoch == 15 and "epoch 15's RNN" in view.caption.text()
    view._show(view.result, dataclasses.replace(source, epoch=3))
    assert win.state.snapshot.epoch == 15
    assert "epoch 3's RNN on the training input" in view.caption.text()
    assert "epoch 15" not in view.caption.text()
