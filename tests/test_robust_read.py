"""Issue 15, items 5 and 6: hostile files are refused cheaply, each reader raises only its
own error type, and arrays that contradict the file's spec are refused (not "verified").

On the old code: a 5000-digit integer escaped the session reader as ValueError, Infinity in a
trace's counts as OverflowError, a non-.npy zip member as AttributeError; a NaN or negative
trace version and contradictory shapes were accepted; and a small .npz of compressed zeros
was decompressed in full before anything was checked.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from numpy.lib import format as npformat

from rnnviz.config.options import RunOptions
from rnnviz.config.spec import Spec
from rnnviz.engine.record import TraceFileError
from rnnviz.engine.tracing import trace_spec
from rnnviz.io.session import SessionError, dumps_session, load_session, loads_session
from rnnviz.io.trace_file import load_trace

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


# ---- sessions ----------------------------------------------------------------------------------
GOOD = json.loads(dumps_session(Spec(), RunOptions()))


def _with(path: tuple[str, ...], raw: str) -> str:
    """GOOD session text with the value at `path` replaced by the raw JSON text `raw`."""
    data = json.loads(json.dumps(GOOD))
    node = data
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = "@@"
    return json.dumps(data).replace('"@@"', raw)


@pytest.mark.parametrize(
    "text",
    [
        _with(("spec", "hidden_size"), "9" * 5000),  # ValueError: > 4300 digits
        _with(("options", "seed"), "9" * 5000),
        _with(("version",), "9" * 5000),
        _with(("selection",), '{"t": ' + "9" * 4400 + "}"),
        _with(("spec", "hidden_size"), "Infinity"),
        _with(("spec", "dropout"), "NaN"),
        _with(("options", "weight_scale"), "-Infinity"),
        _with(("selection",), '{"t": 99999999999999}'),  # a Qt spin box holds a C int
        _with(("version",), "NaN"),
        _with(("version",), "-1"),
        _with(("spec",), "[" * 50_000 + "]" * 50_000),  # RecursionError
        _with(("spec", "cell"), "[" * 900 + "]" * 900),
        '{"version": 1, "spec": ' + "{" * 100 + "}" * 100 + "}",
    ],
)
def test_hostile_session_text_is_a_session_error(text):
    with pytest.raises(SessionError):
        loads_session(text)


def test_hostile_session_file_is_a_session_error_naming_the_file(tmp_path):
    p = tmp_path / "s.json"
    p.write_text(_with(("spec", "hidden_size"), "9" * 5000))
    with pytest.raises(SessionError, match=str(p)):
        load_session(p)


# ---- trace files -------------------------------------------------------------------------------
SMALL = Spec(cell="lstm", input_size=3, hidden_size=4, seq_len=3, batch_size=2)


@pytest.fixture(scope="module")
def arrays():
    return trace_spec(SMALL, RunOptions()).to_arrays()


def _save(path: Path, data: dict) -> Path:
    np.savez(path, **data)
    return path


def _meta(arrays: dict, **changes) -> np.ndarray:
    meta = json.loads(str(arrays["meta"]))
    meta.update(changes)
    return np.array(json.dumps(meta))


def _meta_raw(arrays: dict, key: str, raw: str) -> np.ndarray:
    meta = json.loads(str(arrays["meta"]))
    meta[key] = "@@"
    return np.array(json.dumps(meta).replace('"@@"', raw))


def test_a_real_trace_still_loads(tmp_path, arrays):
    t = load_trace(_save(tmp_path / "t.npz", arrays))
    assert t.spec == SMALL and t.verified


@pytest.mark.parametrize(
    "key, raw, says",
    [
        ("version", "NaN", "version"),
        ("version", "-1", "version"),
        ("version", "0", "version"),
        ("version", "1.5", "version"),
        ("nonfinite", "Infinity", "nonfinite"),
        ("nonfinite", "-3", "nonfinite"),
        ("nonfinite_mismatch", "1e400", "nonfinite_mismatch"),
        ("max_abs_diff", "NaN", "max_abs_diff"),
        ("max_abs_diff", '"0.0"', "max_abs_diff"),
        ("max_rel_diff", "-1", "max_rel_diff"),
        ("nonfinite", "9" * 5000, "damaged metadata"),
        ("notes", "[" * 50_000 + "]" * 50_000, "damaged metadata"),
        ("notes", "[1, 2]", "notes"),
        ("spec", '{"hidden_size": Infinity}', "hidden_size"),
    ],
)
def test_hostile_metadata_is_a_trace_file_error(tmp_path, arrays, key, raw, says):
    path = _save(tmp_path / "t.npz", {**arrays, "meta": _meta_raw(arrays, key, raw)})
    with pytest.raises(TraceFileError, match=says):
        load_trace(path)


@pytest.mark.parametrize(
    "change, says",
    [
        ({"gates/l0/fwd/h": np.zeros((3, 2, 5), np.float32)}, "gates/l0/fwd/h has shape"),
        ({"h0": np.zeros((2, 2, 4), np.float32)}, "h0 has shape"),  # 2 layer rows for 1 layer
        ({"c0": np.zeros((3, 2, 4), np.float32)}, "c0 has shape"),
        ({"input": np.zeros((3, 2, 7), np.float32)}, "input has shape"),
        ({"param/weight_ih_l0": np.zeros((16, 4), np.float32)}, "weight_ih_l0 has shape"),
        ({"gates/l0/bwd/i": np.zeros((3, 2, 4), np.float32)}, "does not belong"),
        ({"extra": np.zeros(1, np.float32)}, "does not belong"),
        ({"output": np.zeros((3, 2, 4), np.int64)}, "not floating-point"),
    ],
)
def test_arrays_that_contradict_the_spec_are_refused(tmp_path, arrays, change, says):
    with pytest.raises(TraceFileError, match=says):
        load_trace(_save(tmp_path / "t.npz", {**arrays, **change}))


def test_missing_array_is_refused(tmp_path, arrays):
    data = {k: v for k, v in arrays.items() if k != "c_n"}
    with pytest.raises(TraceFileError, match="c_n is missing"):
        load_trace(_save(tmp_path / "t.npz", data))


def test_non_npy_member_and_pickles_are_refused(tmp_path, arrays):
    path = _save(tmp_path / "t.npz", arrays)
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(TraceFileError, match="not a .npy array"):
        load_trace(path)
    path2 = tmp_path / "obj.npz"
    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(path2, "w") as zf:
        zf.writestr("meta.npy", buf.getvalue())
    with pytest.raises(TraceFileError, match="Python objects"):
        load_trace(path2)


def _bomb(path: Path, spec: Spec) -> int:
    """An .npz whose headers declare `spec`'s real shapes, filled with deflated zeros:
    a few hundred KB on disk, hundreds of MiB once decompressed. Returns declared bytes."""
    shapes = {
        "input": (spec.seq_len, 1, spec.input_size),
        "h0": (1, 1, spec.hidden_size),
        "output": (spec.seq_len, 1, spec.hidden_size),
        "h_n": (1, 1, spec.hidden_size),
        "param/weight_ih_l0": (spec.hidden_size, spec.input_size),
        "param/weight_hh_l0": (spec.hidden_size, spec.hidden_size),
        "param/bias_ih_l0": (spec.hidden_size,),
        "param/bias_hh_l0": (spec.hidden_size,),
        "gates/l0/fwd/a": (spec.seq_len, 1, spec.hidden_size),
        "gates/l0/fwd/h": (spec.seq_len, 1, spec.hidden_size),
    }
    meta = {
        "version": 1,
        "spec": spec.to_dict(),
        "max_abs_diff": 0.0,
        "source": "spec",
        "notes": [],
    }
    total = 0
    chunk = bytes(1 << 20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        buf = io.BytesIO()
        np.save(buf, np.array(json.dumps(meta)))
        zf.writestr("meta.npy", buf.getvalue())
        for key, shape in shapes.items():
            with zf.open(key + ".npy", "w", force_zip64=True) as fh:
                header = {"descr": "<f4", "fortran_order": False, "shape": shape}
                npformat.write_array_header_1_0(fh, header)
                left = int(np.prod(shape)) * 4
                total += left
                while left:
                    n = min(left, len(chunk))
                    fh.write(chunk[:n])
                    left -= n
    return total


def test_decompression_bomb_is_refused_before_decompressing(tmp_path):
    spec = Spec(cell="rnn", input_size=8, hidden_size=1024, seq_len=32768)
    path = tmp_path / "bomb.npz"
    declared = _bomb(path, spec)
    assert declared > 380 << 20 and path.stat().st_size < 2 << 20
    code = (
        "import sys, time\n"
        "from rnnviz.io.trace_file import load_trace\n"
        "from rnnviz.engine.record import TraceFileError\n"
        "def hwm():\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith('VmHWM:'): return int(line.split()[1]) * 1024\n"
        "before = hwm(); t0 = time.perf_counter()\n"
        "try:\n"
        "    load_trace(sys.argv[1]); print('LOADED')\n"
        "except TraceFileError as e:\n"
        "    print('REFUSED', e)\n"
        "print(hwm() - before, time.perf_counter() - t0)\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        capture_output=True,
        text=True,
        env={**ENV, "RNNVIZ_MEMORY_BUDGET": "64M"},
        timeout=120,
    )
    out = r.stdout.splitlines()
    assert out[0].startswith("REFUSED") and "over the memory budget" in out[0], r
    grown, seconds = out[1].split()
    assert int(grown) < 32 << 20  # nothing near the 384 MiB it declares was allocated
    assert float(seconds) < 2.0


def test_the_same_shapes_load_within_budget(tmp_path):
    spec = Spec(cell="rnn", input_size=2, hidden_size=8, seq_len=64)
    path = tmp_path / "zeros.npz"
    _bomb(path, spec)
    t = load_trace(path)
    assert t.gate(0, "fwd", "h").shape == (64, 1, 8)
