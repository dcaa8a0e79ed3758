"""Atomic writes: a failure never leaves a half-written or emptied file behind."""

from __future__ import annotations

import os

import pytest

from rnnviz.io.atomic import WriteError, atomic_open, atomic_write
from rnnviz.io.trace_file import load_trace, save_trace


def test_write_and_overwrite(tmp_path):
    p = tmp_path / "a.txt"
    atomic_write(p, "héllo")
    assert p.read_bytes() == "héllo".encode()
    atomic_write(p, b"\x00\x01")
    assert p.read_bytes() == b"\x00\x01"
    assert os.listdir(tmp_path) == ["a.txt"]  # no temporary left behind


def test_unwritable_directory_is_write_error(tmp_path):
    # Tests run as root, so permissions do not stop us: a path *under a file* does (ENOTDIR).
    f = tmp_path / "plain_file"
    f.write_text("x")
    with pytest.raises(WriteError) as info:
        atomic_write(f / "out.txt", "data")
    assert "cannot write" in str(info.value) and "out.txt" in str(info.value)
    with pytest.raises(WriteError):
        atomic_write(tmp_path / "missing_dir" / "out.txt", "data")


def test_exception_inside_block_keeps_old_file(tmp_path):
    p = tmp_path / "keep.bin"
    p.write_bytes(b"old contents")
    with pytest.raises(RuntimeError), atomic_open(p) as fh:
        fh.write(b"new half")
        raise RuntimeError("boom")
    assert p.read_bytes() == b"old contents"
    assert os.listdir(tmp_path) == ["keep.bin"]


def test_failed_rename_keeps_old_file(tmp_path, monkeypatch):
    p = tmp_path / "keep.bin"
    p.write_bytes(b"old contents")

    def refuse(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(WriteError) as info:
        atomic_write(p, b"new contents")
    assert "No space left" in str(info.value)
    assert p.read_bytes() == b"old contents"
    assert os.listdir(tmp_path) == ["keep.bin"]


def test_target_is_a_directory(tmp_path):
    d = tmp_path / "adir"
    d.mkdir()
    with pytest.raises(WriteError) as info:
        atomic_write(d, "x")
    assert "directory" in str(info.value)
    assert d.is_dir() and os.listdir(tmp_path) == ["adir"]


def test_trace_save_failure_keeps_old_file(tmp_path, monkeypatch):
    from rnnviz.config.spec import Spec
    from rnnviz.engine.tracing import trace_spec

    tr = trace_spec(Spec("gru", 2, 3))
    p = tmp_path / "t.npz"
    p.write_bytes(b"previous trace")

    def broken(*a, **k):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr("numpy.savez", broken)
    with pytest.raises(WriteError):
        save_trace(tr, p)
    assert p.read_bytes() == b"previous trace"
    monkeypatch.undo()
    save_trace(tr, p)
    assert load_trace(p).spec == tr.spec


def test_new_file_gets_the_umask_mode_not_mkstemps_private_one(tmp_path):
    import rnnviz.io.atomic

    target = tmp_path / "new.txt"
    atomic_write(target, "x")
    assert target.stat().st_mode & 0o777 == 0o666 & ~rnnviz.io.atomic._UMASK
    plain = tmp_path / "plain.txt"
    plain.write_text("x")  # what an ordinary open() gives, for comparison
    assert target.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777


def test_overwrite_keeps_the_old_files_mode(tmp_path):
    target = tmp_path / "shared.txt"
    target.write_text("old")
    target.chmod(0o640)
    atomic_write(target, "new")
    assert target.read_text() == "new" and target.stat().st_mode & 0o777 == 0o640
