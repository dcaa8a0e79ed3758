"""The fresh-Debian check: a plugin whose libraries do not resolve is named, with packages."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rnnviz.app import preflight

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or shutil.which("gcc") is None or not shutil.which("ldd"),
    reason="needs Linux, gcc and ldd",
)


def _fake_plugin(tmp: Path) -> Path:
    """A shared library (gcc-built) linked against two libraries that are then removed."""
    dep_dir = tmp / "deps"
    dep_dir.mkdir()
    for i, soname in enumerate(("libxcb-rnnviztest.so.4", "libqt-fake-icccm.so.4")):
        src = tmp / f"dep{i}.c"
        src.write_text(f"int rnnviz_dep{i}(void) {{ return {i}; }}\n")
        subprocess.run(
            ["gcc", "-shared", "-fPIC", f"-Wl,-soname,{soname}", "-o", dep_dir / soname, src],
            check=True,
        )
    plugin_src = tmp / "plugin.c"
    plugin_src.write_text(
        "int rnnviz_dep0(void);\nint rnnviz_dep1(void);\n"
        "int plugin(void) { return rnnviz_dep0() + rnnviz_dep1(); }\n"
    )
    plugin = tmp / "libqxcb.so"
    subprocess.run(
        [
            "gcc",
            "-shared",
            "-fPIC",
            "-o",
            plugin,
            plugin_src,
            dep_dir / "libxcb-rnnviztest.so.4",
            dep_dir / "libqt-fake-icccm.so.4",
        ],
        check=True,
    )
    shutil.rmtree(dep_dir)  # now neither library resolves
    return plugin


def test_missing_libraries_are_named_with_their_packages(tmp_path, capsys):
    plugin = _fake_plugin(tmp_path)
    assert preflight.unresolved(plugin) == ["libxcb-rnnviztest.so.4", "libqt-fake-icccm.so.4"]
    missing = preflight.check_xcb(plugin)
    assert missing is not None
    assert missing.packages == ("libxcb-rnnviztest4", "libqt-fake-icccm4")
    assert preflight.preflight(plugin) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1  # one line
    assert "sudo apt install libxcb-rnnviztest4 libqt-fake-icccm4" in err


def test_the_installed_plugin_passes():
    plugin = preflight.xcb_plugin()
    assert plugin is not None and plugin.name == "libqxcb.so"
    # This machine has every package the README lists, so nothing is missing.
    assert preflight.check_xcb(plugin) is None


def test_debian_package_names():
    expect = {
        "libxcb-icccm.so.4": "libxcb-icccm4",
        "libxcb-keysyms.so.1": "libxcb-keysyms1",
        "libxcb-cursor.so.0": "libxcb-cursor0",
        "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
        "libxcb-render-util.so.0": "libxcb-render-util0",
        "libfoo2.so.3": "libfoo2-3",  # Debian's rule: '-' after a digit
        "libbar.so.7": "libbar7",
    }
    assert {k: preflight.soname_package(k) for k in expect} == expect
    assert set(preflight.LINUX_PACKAGES) >= {
        "libxcb-icccm4",
        "libxcb-keysyms1",
        "libxcb-cursor0",
    }


def test_only_when_xcb_would_load():
    assert preflight.xcb_would_be_used({"DISPLAY": ":0"})
    assert preflight.xcb_would_be_used({"DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb"})
    assert not preflight.xcb_would_be_used({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"})
    assert not preflight.xcb_would_be_used({})
    assert not preflight.xcb_would_be_used(
        {"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland"}
    )


def test_gui_exits_1_with_one_line_before_qt_loads(tmp_path):
    """`rnnviz gui` with a broken plugin: status 1 (not Qt's abort 134), one line, and Qt
    never imported."""
    plugin = _fake_plugin(tmp_path)
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from rnnviz.app import preflight\n"
        f"preflight.xcb_plugin = lambda: Path({str(plugin)!r})\n"
        "from rnnviz.cli.main import main\n"
        "rc = main(['gui'])\n"
        "assert 'PySide6.QtWidgets' not in sys.modules, 'Qt was loaded'\n"
        "sys.exit(rc)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    env["DISPLAY"] = ":99"
    env.pop("WAYLAND_DISPLAY", None)
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "libxcb-rnnviztest.so.4" in lines[0]
    assert "sudo apt install libxcb-rnnviztest4 libqt-fake-icccm4" in lines[0]
