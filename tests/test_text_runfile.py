"""rnnviz.text run files: torch.save round-trip readable with weights_only=True, bad files refused."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from rnnviz.io.run_file import RunFileError, load_run, run_to_dict, save_run
from rnnviz.text.presets import text_preset
from rnnviz.text.training import train


@pytest.fixture(scope="module")
def run():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield train(text_preset("hello-ohlol-embedding").settings, epochs=4)
    finally:
        torch.set_num_threads(before)


def test_round_trip_with_weights_only(run, tmp_path):
    path = tmp_path / "hello.pt"
    save_run(run, path)
    raw = torch.load(path, weights_only=True)
    assert set(raw) == {"format", "version", "pipeline", "initial", "final", "history"}
    assert raw["pipeline"]["vocabulary"]["tokens"] == ["e", "h", "l", "o"]
    assert raw["pipeline"]["settings"]["optimizer"] == "adam"
    assert raw["history"][0] == {
        "epoch": 1,
        "loss": run.epochs[0].loss,
        "predicted": list(run.epochs[0].predicted),
    }
    saved = load_run(path)
    assert saved.settings == run.settings
    assert [h["loss"] for h in saved.history] == run.losses
    for k in run.final:
        np.testing.assert_array_equal(saved.final[k], run.final[k])
        np.testing.assert_array_equal(saved.initial[k], run.initial[k])
    # The initial weights in the file retrain to the same history.
    assert train(saved.settings).losses == run.losses


def _write(path, obj):
    torch.save(obj, path)
    return path


class _Evil:
    def __reduce__(self):
        return (print, ("code ran",))


def _mutations(good):
    def with_(**kw):
        d = dict(good)
        d.update(kw)
        return d

    bad_state = dict(good["final"])
    bad_state["head.bias"] = torch.zeros(5)
    missing = dict(good["final"])
    missing.pop("head.bias")
    pipe_vocab = dict(good["pipeline"])
    pipe_vocab["vocabulary"] = dict(pipe_vocab["vocabulary"], tokens=["h", "e", "l", "o"])
    pipe_settings = dict(good["pipeline"])
    pipe_settings["settings"] = dict(pipe_settings["settings"], hidden_size=-1)
    hist = [dict(h) for h in good["history"]]
    hist[1]["epoch"] = 7
    return {
        "not a dict": [1, 2],
        "missing key": {k: v for k, v in good.items() if k != "history"},
        "extra key": with_(extra=1),
        "format": with_(format="other"),
        "version": with_(version=99),
        "shape": with_(final=bad_state),
        "missing param": with_(initial=missing),
        "not tensors": with_(final={k: v.tolist() for k, v in good["final"].items()}),
        "float64": with_(final={k: v.double() for k, v in good["final"].items()}),
        "vocab": with_(pipeline=pipe_vocab),
        "settings": with_(pipeline=pipe_settings),
        "history epoch": with_(history=hist),
        "history type": with_(history="many"),
        "history loss": with_(history=[{"epoch": 1, "loss": "low", "predicted": ["x"]}]),
    }


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_malformed_files_are_refused(run, tmp_path):
    good = run_to_dict(run)
    for name, obj in _mutations(good).items():
        path = _write(tmp_path / "bad.pt", obj)
        with pytest.raises(RunFileError):
            load_run(path)
        assert name  # every mutation above was refused
    (tmp_path / "junk.pt").write_bytes(b"not a zip at all")
    with pytest.raises(RunFileError, match="not a readable run file"):
        load_run(tmp_path / "junk.pt")
    with pytest.raises(RunFileError):
        load_run(tmp_path / "absent.pt")
    # Pickled code is never run: weights_only refuses it.
    _write(tmp_path / "evil.pt", {"x": _Evil()})
    with pytest.raises(RunFileError):
        load_run(tmp_path / "evil.pt")
    (tmp_path / "plain.pkl").write_bytes(pickle.dumps({"format": "rnnviz-text-run"}))
    with pytest.raises(RunFileError):
        load_run(tmp_path / "plain.pkl")
    raw = tmp_path / "good.pt"
    save_run(run, raw)
    (tmp_path / "cut.pt").write_bytes(raw.read_bytes()[:300])
    with pytest.raises(RunFileError):
        load_run(tmp_path / "cut.pt")
