"""Before Qt loads: can its xcb platform plugin load here? If not, name the packages to install.

Qt aborts (status 134) when its xcb plugin fails to load, and its message guesses the cause
("xcb-cursor0 or libxcb-cursor0 is needed") even when the missing libraries are others, e.g.
libxcb-icccm4 and libxcb-keysyms1 on a fresh Debian. This module never imports PySide6: it
finds the plugin file on disk, asks `ldd` which of its libraries do not resolve, and maps each
to the Debian/Ubuntu package that ships it, so the launcher can print one honest line and exit
1 instead.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

#: Shared-object name → the Debian/Ubuntu package that ships it (what PySide6's xcb plugin and
#: libQt6XcbQpa link). Names not listed fall back to Debian's naming rule (`soname_package`).
SONAME_PACKAGES: dict[str, str] = {
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-xinput.so.0": "libxcb-xinput0",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libOpenGL.so.0": "libopengl0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libdbus-1.so.3": "libdbus-1-3",
    "libXau.so.6": "libxau6",
    "libXdmcp.so.6": "libxdmcp6",
}

#: Every package the window needs on a Debian/Ubuntu that has no desktop installed: what the
#: README's Quick start lists. The check itself names only the missing ones.
LINUX_PACKAGES = (
    "libxcb-icccm4",
    "libxcb-keysyms1",
    "libxcb-cursor0",
    "libxcb-image0",
    "libxcb-render-util0",
    "libxcb-xkb1",
    "libxkbcommon-x11-0",
    "libxcb-shape0",
    "libxcb-randr0",
    "libxcb-xinerama0",
    "libgl1",
    "libegl1",
    "libfontconfig1",
    "libdbus-1-3",
)

_NOT_FOUND = re.compile(r"^\s*(\S+)\s*=>\s*not found", re.MULTILINE)


@dataclass(frozen=True)
class Missing:
    """The libraries a plugin links that do not resolve, and the packages that ship them."""

    plugin: Path
    libraries: tuple[str, ...]
    packages: tuple[str, ...]

    def message(self) -> str:
        """One line: what is missing and the `apt install` that fixes it."""
        return (
            f"rnnviz: the window cannot open: Qt's xcb platform plugin ({self.plugin.name}) "
            f"needs {', '.join(self.libraries)}, not installed; install them with: "
            f"sudo apt install {' '.join(self.packages)}   "
            f"(or run headless: QT_QPA_PLATFORM=offscreen rnnviz gui --screenshot out.png)"
        )


def soname_package(soname: str) -> str:
    """The Debian package that ships `soname` (e.g. 'libxcb-icccm.so.4' → 'libxcb-icccm4').

    Known names come from SONAME_PACKAGES; others follow Debian's library naming policy: the
    name in lower case with the major version appended, joined by '-' after a digit.
    """
    if soname in SONAME_PACKAGES:
        return SONAME_PACKAGES[soname]
    m = re.match(r"^(lib[^/]+?)\.so\.(\d+)", soname)
    if not m:
        return soname
    name, major = m.group(1).lower(), m.group(2)
    return f"{name}-{major}" if name[-1].isdigit() else f"{name}{major}"


def xcb_plugin() -> Path | None:
    """Path of PySide6's `libqxcb.so`, found without importing PySide6; None if absent."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        path = Path(root) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
        if path.exists():
            return path
    return None


def unresolved(library: Path) -> list[str]:
    """The shared objects `library` needs (directly or not) that `ldd` reports 'not found'.

    Also asks about the libQt6XcbQpa the plugin links, if ldd found it. Empty if ldd is
    missing or fails: the check then stays out of the way and Qt reports for itself.
    """
    ldd = shutil.which("ldd")
    if ldd is None:
        return []
    seen: list[str] = []
    queue = [library]
    done: set[Path] = set()
    while queue:
        lib = queue.pop()
        if lib in done:
            continue
        done.add(lib)
        try:
            out = subprocess.run(
                [ldd, str(lib)], capture_output=True, text=True, timeout=20, check=False
            ).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        for name in _NOT_FOUND.findall(out):
            if name not in seen:
                seen.append(name)
        for m in re.finditer(r"^\s*(libQt6XcbQpa\S*)\s*=>\s*(/\S+)", out, re.MULTILINE):
            queue.append(Path(m.group(2)))
    return seen


def xcb_would_be_used(environ: dict[str, str] | os._Environ[str] | None = None) -> bool:
    """True if Qt would load the xcb plugin: on Linux with DISPLAY set and QT_QPA_PLATFORM
    unset or naming xcb (a Wayland session without an explicit platform loads wayland)."""
    env = os.environ if environ is None else environ
    if not sys.platform.startswith("linux") or not env.get("DISPLAY"):
        return False
    platform = env.get("QT_QPA_PLATFORM", "")
    if platform:
        return platform.split(":")[0].split(";")[0] == "xcb"
    return not (env.get("WAYLAND_DISPLAY") and env.get("XDG_SESSION_TYPE") == "wayland")


def check_xcb(plugin: Path | None = None) -> Missing | None:
    """What the xcb plugin (`plugin`, default PySide6's) lacks, or None if it can load."""
    plugin = plugin or xcb_plugin()
    if plugin is None:
        return None
    libs = unresolved(plugin)
    if not libs:
        return None
    packages: list[str] = []
    for lib in libs:
        pkg = soname_package(lib)
        if pkg not in packages:
            packages.append(pkg)
    return Missing(plugin, tuple(libs), tuple(packages))


def preflight(plugin: Path | None = None) -> int:
    """0 if the window can try to open; else print the one-line reason to stderr, return 1.

    Checks only when xcb would be used (see xcb_would_be_used) or `plugin` is given."""
    if plugin is None and not xcb_would_be_used():
        return 0
    missing = check_xcb(plugin)
    if missing is None:
        return 0
    print(missing.message(), file=sys.stderr)
    return 1
