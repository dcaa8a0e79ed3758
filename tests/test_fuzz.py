"""Fuzzing the edges users type into: spec dicts/JSON (session files) and CLI argument lists.

The property is the reliability contract: a bad value is a SpecError (CLI: exit status 2 and
one line naming the field), never any other exception and never a traceback. Sizes are kept
tiny or absurd (over a limit / over the memory budget) so every accepted trace is fast.

Quick by default; `--hypothesis-profile=long` runs 10,000 examples per test.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
import warnings
from pathlib import Path

import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from rnnviz.config.options import RunOptions
from rnnviz.config.spec import Spec, SpecError
from rnnviz.io.trace_file import load_trace, save_trace

FIELDS = (
    "cell",
    "input_size",
    "hidden_size",
    "num_layers",
    "bidirectional",
    "batch_first",
    "bias",
    "nonlinearity",
    "dropout",
    "proj_size",
    "seq_len",
    "batch_size",
    "version",
)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.sampled_from(["lstm", "gru", "rnn", "LSTM", "tanh", "relu", "", "1", "0.5"])
    | st.text(max_size=8)
)
json_values = st.recursive(
    json_scalars,
    lambda kids: (
        st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=4), kids, max_size=3)
    ),
    max_leaves=6,
)
good_values = {
    "cell": st.sampled_from(["lstm", "gru", "rnn"]),
    "input_size": st.integers(1, 8),
    "hidden_size": st.integers(1, 8),
    "num_layers": st.integers(1, 3),
    "seq_len": st.integers(1, 6),
    "batch_size": st.integers(1, 3),
    "bidirectional": st.booleans(),
    "batch_first": st.booleans(),
    "bias": st.booleans(),
    "nonlinearity": st.sampled_from(["tanh", "relu"]),
    "dropout": st.floats(0, 0.99),
    "proj_size": st.integers(0, 7),
    "version": st.integers(1, 2),
}
# Each field is either a plausible value or anything JSON can hold; plus unknown keys.
spec_dicts = st.fixed_dictionaries(
    {}, optional={k: (good_values[k] | json_values) for k in FIELDS}
).flatmap(
    lambda d: (
        st.dictionaries(st.text(max_size=6), json_values, max_size=2).map(
            lambda extra: {**extra, **d}
        )
        | st.just(d)
    )
)


def _spec_or_error(make):
    try:
        return make()
    except SpecError as exc:
        assert exc.field and exc.message, "a SpecError must name a field and say why"
        assert "\n" not in str(exc)
        return None


@pytest.mark.fuzz
@given(spec_dicts)
@example({"dropout": 10**400})
@example({"hidden_size": 1e300})
@example({"hidden_size": float("nan")})
@example({"version": 10**30})
def test_spec_from_dict_works_or_raises_spec_error(data):
    spec = _spec_or_error(lambda: Spec.from_dict(data))
    if spec is not None:  # whatever was accepted survives its own round trip
        assert Spec.from_json(spec.to_json()) == spec


@pytest.mark.fuzz
@given(st.text(max_size=40) | spec_dicts.map(lambda d: json.dumps(d, default=str)))
@example('{"hidden_size": ' + "1" * 5000 + "}")
@example("[" * 100_000)
@example("\ud800")
def test_spec_from_json_works_or_raises_spec_error(text):
    _spec_or_error(lambda: Spec.from_json(text))


@pytest.mark.fuzz
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "seed": st.integers(-2, 2**64) | json_values,
            "input_kind": st.sampled_from(["randn", "zeros", "ones"]) | json_values,
            "init": st.sampled_from(["zeros", "randn"]) | json_values,
            "weight_scale": st.floats() | st.integers() | json_values,
            "stepper": st.sampled_from(["module", "cell"]) | json_values,
        },
    )
    | json_values
)
@example({"weight_scale": 10**400})
def test_run_options_from_dict_works_or_raises_spec_error(data):
    _spec_or_error(lambda: RunOptions.from_dict(data))


# ---- CLI -------------------------------------------------------------------------------------
_OUT_DIR = Path(tempfile.mkdtemp(prefix="rnnviz-fuzz-"))
(_OUT_DIR / "a_file").write_text("not a directory")


def _mostly(valid: list[str], junk: list[str]) -> st.SearchStrategy[str]:
    """Values that parse most of the time, so most examples get past argparse to our code."""
    ok = st.sampled_from(valid)
    return st.one_of(ok, ok, ok, ok, ok, st.sampled_from(junk))


SMALL_INT = _mostly(["-1", "0", "1", "2", "3", "8", "1048577", "10000001"], ["1.5", "x", "", "2e3"])
CLI_FLAGS = {
    "--cell": _mostly(["lstm", "gru", "rnn"], ["LSTM", "cnn"]),
    "--nonlinearity": _mostly(["tanh", "relu"], ["sigmoid"]),
    "--input-size": SMALL_INT | st.just("65536"),
    "--hidden-size": SMALL_INT | st.just("65536"),
    "--num-layers": SMALL_INT,
    "--bidirectional": None,
    "--batch-first": None,
    "--no-bias": None,
    "--dropout": _mostly(["0", "0.5", "0.99", "1", "-0.1", "nan", "inf", "1e400"], ["a"]),
    "--proj-size": SMALL_INT,
    "--seq-len": SMALL_INT,
    "--batch-size": SMALL_INT,
    "--preset": st.sampled_from(
        [
            "rnn-5-6-2",
            "lstm-5-6-2",
            "gru-5-6-2",
            "rnncell-4-2",
            "bilstm-2",
            "hello-ohlol",
            "nope",
            "",
        ]
    ),
    "--memory-budget": st.sampled_from(
        ["4G", "1K", "512M", "0", "-1", "nan", "inf", "1e400", "G", "", "12QB"]
    ),
}
TRACE_FLAGS = {
    "--seed": _mostly(["0", "1", "-1", "18446744073709551616"], ["s"]),
    "--input": _mostly(["randn", "zeros", "ones"], ["uniform"]),
    "--init": _mostly(["zeros", "randn"], ["ones"]),
    "--weight-scale": _mostly(["1", "0.5", "8", "0", "-1", "inf", "nan", "1e7"], ["w"]),
    "--stepper": _mostly(["module", "cell"], ["loop"]),
    "--out": st.sampled_from(
        [str(_OUT_DIR / "t.npz"), str(_OUT_DIR / "a_file" / "t.npz"), str(_OUT_DIR)]
    ),
}


def _argv(command: str, flags: dict) -> st.SearchStrategy[list[str]]:
    def pair(flag):
        values = flags[flag]
        return st.just([flag]) if values is None else values.map(lambda v: [flag, v])

    one = st.one_of(*[st.sampled_from(sorted(flags)).flatmap(pair)] * 9, st.just(["--bogus"]))
    return st.lists(one, max_size=6).map(lambda parts: [command] + [a for p in parts for a in p])


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """rnnviz.cli.main.main in-process: (status, stdout, stderr); argparse's exit becomes a status."""
    from rnnviz.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with (
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")  # torch's dropout / oneDNN notices are not ours
        try:
            status = main(argv)
        except SystemExit as exc:  # argparse rejects a flag or value
            status = exc.code
    return status, out.getvalue(), err.getvalue()


def _check_cli(argv: list[str]) -> None:
    status, out, err = run_cli(argv)
    event(f"exit {status}" + (" (argparse)" if ": error: " in err else ""))
    assert status in (0, 2), (argv, status, err)
    assert "Traceback" not in err
    if status == 0:
        assert out.strip(), argv
    else:  # refusals by argparse or by rnnviz: exactly one line
        assert err.startswith("rnnviz") and err.count("\n") == 1, (argv, err)


@pytest.mark.fuzz
@given(_argv("shapes", {**CLI_FLAGS, "--json": None}))
@example(["shapes", "--memory-budget", "inf"])
@example(["shapes", "--dropout", "1e400"])
def test_cli_shapes_exits_0_or_2(argv):
    _check_cli(argv)


@pytest.mark.fuzz
@given(_argv("trace", {**CLI_FLAGS, **TRACE_FLAGS}))
@example(["trace", "--memory-budget", "1e400"])
@example(["trace", "--stepper", "cell", "--num-layers", "2"])
@example(["trace", "--out", str(_OUT_DIR / "a_file" / "t.npz")])
def test_cli_trace_exits_0_or_2(argv):
    _check_cli(argv)


# ---- damaged trace files -----------------------------------------------------------------------
def _trace_bytes() -> dict[str, bytes]:
    import numpy as np

    from rnnviz.engine.tracing import trace_spec

    good = _OUT_DIR / "good.npz"
    save_trace(trace_spec(Spec("lstm", 3, 4, num_layers=2, bidirectional=True)), good)
    squeezed = _OUT_DIR / "squeezed.npz"  # a compressed npz: corruption reaches zlib
    np.savez_compressed(squeezed, meta=np.array("x" * 500), a=np.arange(2000.0))
    return {"trace": good.read_bytes(), "compressed": squeezed.read_bytes()}


_SOURCES: dict[str, bytes] = {}


@pytest.mark.fuzz
@settings(max_examples=max(300, settings().max_examples))
@given(
    st.sampled_from(["trace", "compressed"]),
    st.lists(st.tuples(st.integers(0, 2**32), st.integers(0, 255)), min_size=1, max_size=20),
    st.none() | st.integers(0, 2**32),
)
def test_damaged_trace_file_loads_or_raises_trace_file_error(source, flips, cut):
    from rnnviz.engine.record import TraceFileError

    if not _SOURCES:
        _SOURCES.update(_trace_bytes())
    data = bytearray(_SOURCES[source])
    for where, value in flips:
        data[where % len(data)] = value
    if cut is not None:
        data = data[: cut % len(data)]
    path = _OUT_DIR / "damaged.npz"
    path.write_bytes(bytes(data))
    try:
        load_trace(path)
    except TraceFileError as exc:
        assert str(path) in str(exc) and "\n" not in str(exc)


# ---- issue 15: --flag=VALUE forms, session JSON, trace metadata -----------------------------
#: Values that have tripped argparse or our converters: its end-of-options marker, things
#: that look like flags or negative numbers, empties.
HOSTILE_VALUES = st.sampled_from(
    ["--", "-", "", "=", "-inf", "-nan", "-1e-3", "--x", "-1", "1e400", " ", "nan", "\x00"]
)
EQ_FLAGS = {
    "shapes": ["--memory-budget", "--preset", "--dropout", "--hidden-size", "--seq-len", "--cell"],
    "export": [
        "--memory-budget",
        "--timestep",
        "--fold",
        "--scale",
        "--format",
        "--out",
        "--preset",
        "--dropout",
    ],
}


def _eq_argv(command: str) -> st.SearchStrategy[list[str]]:
    flag = st.sampled_from(EQ_FLAGS[command])
    value = HOSTILE_VALUES | st.text(max_size=4)
    form = st.one_of(
        st.tuples(flag, value).map(lambda fv: [f"{fv[0]}={fv[1]}"]),
        st.tuples(flag, value).map(lambda fv: [fv[0], fv[1]]),
    )
    base = (
        ["export", "-f", "md", "-o", str(_OUT_DIR / "t.md")] if command == "export" else [command]
    )
    return st.lists(form, min_size=1, max_size=4).map(lambda ps: base + [a for p in ps for a in p])


@pytest.mark.fuzz
@settings(deadline=20_000)
@given(st.sampled_from(["shapes", "export"]).flatmap(_eq_argv))
@example(["export", "-f", "md", "-o", str(_OUT_DIR / "t.md"), "--memory-budget=--"])
@example(["export", "-f", "md", "-o", str(_OUT_DIR / "t.md"), "--timestep=--", "--fold=--"])
@example(["export", "-f", "md", "-o", str(_OUT_DIR / "t.md"), "--format=--"])
@example(["shapes", "--dropout", "-inf"])
@example(["shapes", "--preset="])
@example(["export", "-f", "md", "--out=\x00"])  # found by the long profile: ValueError
@example(["export", "-f", "md", "--out=-"])  # found: stdout without a byte buffer
def test_cli_flag_equals_value_forms_exit_0_or_2(argv):
    import time

    started = time.monotonic()
    cwd = os.getcwd()
    os.chdir(_OUT_DIR)  # `--out=VALUE` writes VALUE relative to here: keep it in the temp dir
    try:
        status, out, err = run_cli(argv)
    finally:
        os.chdir(cwd)
    assert status in (0, 2), (argv, status, err)
    assert "Traceback" not in err
    if status == 2:
        assert err.startswith("rnnviz") and err.count("\n") == 1, (argv, err)
    assert time.monotonic() - started < 15, argv  # no value makes a cheap command slow


def _session_text(data) -> str:
    # allow_nan: a session file may hold NaN/Infinity, which Python's json reads.
    return json.dumps(data, allow_nan=True)


session_dicts = st.fixed_dictionaries(
    {},
    optional={
        "version": st.integers(-2, 3) | json_values,
        "spec": spec_dicts | json_values,
        "options": st.dictionaries(
            st.sampled_from(["seed", "input_kind", "init", "weight_scale", "stepper", "x"]),
            json_values | st.integers(),
            max_size=4,
        )
        | json_values,
        "selection": st.dictionaries(
            st.sampled_from(["layer", "direction", "t", "unit", "batch", "y"]),
            json_values | st.integers() | st.sampled_from(["fwd", "bwd"]),
            max_size=4,
        )
        | json_values,
    },
)


@pytest.mark.fuzz
@given(session_dicts)
@example({"version": 1, "spec": {"hidden_size": float("inf")}})
@example({"version": float("nan"), "spec": {}})
@example({"version": 1, "spec": {}, "selection": {"t": 10**20}})
def test_session_json_loads_or_raises_session_error(data):
    from rnnviz.io.session import SessionError, loads_session

    try:
        loads_session(_session_text(data))
    except SessionError as exc:
        assert "\n" not in str(exc)


@pytest.mark.fuzz
@given(st.text(max_size=60) | st.just("9" * 5000) | st.just("[" * 5000))
def test_session_text_loads_or_raises_session_error(text):
    from rnnviz.io.session import SessionError, loads_session

    for candidate in (text, '{"version": 1, "spec": ' + text + "}"):
        with contextlib.suppress(SessionError):
            loads_session(candidate)


_GOOD_ARRAYS: dict = {}


@pytest.mark.fuzz
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "version",
                "spec",
                "max_abs_diff",
                "max_rel_diff",
                "nonfinite",
                "nonfinite_mismatch",
                "source",
                "notes",
                "extra",
            ]
        ),
        json_values | st.integers() | spec_dicts,
        max_size=4,
    ),
    st.sets(st.sampled_from(["version", "spec", "max_abs_diff", "notes"]), max_size=2),
)
def test_trace_metadata_loads_or_raises_trace_file_error(changes, dropped):
    import numpy as np

    from rnnviz.engine.record import Trace, TraceFileError

    if not _GOOD_ARRAYS:
        from rnnviz.engine.tracing import trace_spec

        _GOOD_ARRAYS.update(trace_spec(Spec("gru", 2, 3, seq_len=2)).to_arrays())
    meta = json.loads(str(_GOOD_ARRAYS["meta"]))
    meta.update(changes)
    for key in dropped:
        meta.pop(key, None)
    data = {**_GOOD_ARRAYS, "meta": np.array(json.dumps(meta, allow_nan=True))}
    try:
        t = Trace.from_arrays(data, "fuzz")
    except TraceFileError as exc:
        assert "\n" not in str(exc)
    else:
        assert t.spec.seq_len == 2 and t.max_abs_diff >= 0
