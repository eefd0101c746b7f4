"""Start Switchboard when the person logs in: one toggle, three mechanisms.

- Linux (and other freedesktop systems): an XDG autostart entry,
  ``$XDG_CONFIG_HOME/autostart/dev.switchboard.switchboard.desktop`` (Desktop
  Application Autostart Specification; ``Hidden=true`` in it means "disabled").
- macOS: a per-user LaunchAgent, ``~/Library/LaunchAgents/dev.switchboard.switchboard.plist``
  with ``RunAtLoad``; launchd loads it at the next login (nothing is loaded now:
  the app is already running).
- Windows: a value ``Switchboard`` under
  ``HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run`` holding the command line.

The platform, home directory, environment, registry key and launch command are
constructor parameters, so every mechanism is tested on any system. No Qt here.
The calls touch one small file or registry value but still block: from the event
loop use :meth:`Autostart.ais_enabled` / :meth:`Autostart.aset_enabled`.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import os
import plistlib
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path, PureWindowsPath
from typing import Protocol

from switchboard.core.errors import StoreError
from switchboard.store.atomic import atomic_write

log = logging.getLogger("switchboard.autostart")

APP_ID = "dev.switchboard.switchboard"
"""Briefcase's bundle identifier (bundle + app name in briefcase.toml): the name of
the autostart file, the LaunchAgent label and the packaged icon."""
APP_NAME = "Switchboard"
RUN_KEY_PATH = r"Software\Microsoft\Windows\CurrentVersion\Run"


class Platform(enum.Enum):
    """Which start-at-login mechanism applies."""

    LINUX = "linux"
    """XDG autostart (Linux and the BSDs: any freedesktop session)."""
    MACOS = "macos"
    WINDOWS = "windows"

    @classmethod
    def current(cls, sys_platform: str = sys.platform) -> Platform:
        if sys_platform == "darwin":
            return cls.MACOS
        if sys_platform in ("win32", "cygwin"):
            return cls.WINDOWS
        return cls.LINUX


class RunKey(Protocol):
    """The per-user Run registry key, reduced to what autostart needs (a seam)."""

    def get(self, name: str) -> str | None: ...

    def set(self, name: str, value: str) -> None: ...

    def delete(self, name: str) -> None: ...


class WindowsRunKey:
    """``HKEY_CURRENT_USER\\...\\CurrentVersion\\Run`` through :mod:`winreg`."""

    def get(self, name: str) -> str | None:
        if sys.platform != "win32":
            raise StoreError("The Windows registry exists only on Windows.")
        import winreg

        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY_PATH) as key:
                value, _kind = winreg.QueryValueEx(key, name)
        except FileNotFoundError:
            return None
        return str(value)

    def set(self, name: str, value: str) -> None:
        if sys.platform != "win32":
            raise StoreError("The Windows registry exists only on Windows.")
        import winreg

        with winreg.CreateKey(winreg.HKEY_CURRENT_USER, RUN_KEY_PATH) as key:
            winreg.SetValueEx(key, name, 0, winreg.REG_SZ, value)

    def delete(self, name: str) -> None:
        if sys.platform != "win32":
            raise StoreError("The Windows registry exists only on Windows.")
        import winreg

        try:
            with winreg.OpenKey(
                winreg.HKEY_CURRENT_USER, RUN_KEY_PATH, 0, winreg.KEY_SET_VALUE
            ) as key:
                winreg.DeleteValue(key, name)
        except FileNotFoundError:
            pass


def packaged_launcher(module_file: Path = Path(__file__)) -> Path | None:
    """``<prefix>/bin/switchboard`` when this code runs from the Linux system package
    (``<prefix>/lib/switchboard/app/switchboard/``), wherever that was installed or
    unpacked; else None."""
    pkg = module_file.resolve().parent
    app, lib_app, lib = pkg.parent, pkg.parent.parent, pkg.parent.parent.parent
    if (pkg.name, app.name, lib_app.name, lib.name) != ("switchboard", "app", "switchboard", "lib"):
        return None
    launcher = lib.parent / "bin" / "switchboard"
    return launcher if launcher.is_file() else None


def default_command(
    platform: Platform,
    *,
    executable: str = sys.executable,
    which: Callable[[str], str | None] = shutil.which,
    module_file: Path = Path(__file__),
) -> tuple[str, ...]:
    """How a login session should start the app.

    The launcher of the system package this code runs from, if it does; else a
    launcher named ``switchboard`` on PATH (a venv's script). Inside a macOS/Windows
    Briefcase bundle the running executable is the app's own stub, which starts the
    app by itself. Otherwise the current Python runs the package.
    """
    if platform is Platform.LINUX and (launcher := packaged_launcher(module_file)):
        return (str(launcher),)
    found = which("switchboard")
    if found:
        return (str(Path(found).absolute()),)
    # PureWindowsPath splits on both separators, so this reads any platform's paths.
    stem = PureWindowsPath(executable).stem.lower()
    if platform is not Platform.LINUX and not stem.startswith("python"):
        return (executable,)
    return (executable, "-m", "switchboard")


class Autostart:
    """The start-at-login toggle of the current user."""

    def __init__(
        self,
        *,
        platform: Platform | None = None,
        home: Path | None = None,
        environ: Mapping[str, str] | None = None,
        run_key: RunKey | None = None,
        command: Sequence[str] | None = None,
    ) -> None:
        self.platform = platform or Platform.current()
        self._home = home if home is not None else Path.home()
        self._environ = os.environ if environ is None else environ
        self._run_key = run_key
        self.command = tuple(command) if command else default_command(self.platform)

    # -- where ---------------------------------------------------------------------------
    @property
    def path(self) -> Path | None:
        """The file that enables autostart (None on Windows: a registry value)."""
        if self.platform is Platform.LINUX:
            config = self._environ.get("XDG_CONFIG_HOME", "")
            # The spec: a relative XDG_CONFIG_HOME is invalid and must be ignored.
            base = Path(config) if os.path.isabs(config) else self._home / ".config"
            return base / "autostart" / f"{APP_ID}.desktop"
        if self.platform is Platform.MACOS:
            return self._home / "Library" / "LaunchAgents" / f"{APP_ID}.plist"
        return None

    def _key(self) -> RunKey:
        if self._run_key is None:
            self._run_key = WindowsRunKey()
        return self._run_key

    # -- the toggle ----------------------------------------------------------------------
    def is_enabled(self) -> bool:
        """Whether the app will start at the next login."""
        return self.entry_command() is not None

    def set_enabled(self, enabled: bool) -> None:
        """Turn start-at-login on (writing the current command) or off."""
        try:
            if self.platform is Platform.WINDOWS:
                if enabled:
                    self._key().set(APP_NAME, subprocess.list2cmdline(self.command))
                else:
                    self._key().delete(APP_NAME)
            else:
                path = self.path
                assert path is not None
                if enabled:
                    atomic_write(path, self._file_content(), mode=0o644)
                else:
                    path.unlink(missing_ok=True)
        except OSError as exc:
            where = self.path or f"HKCU\\{RUN_KEY_PATH}\\{APP_NAME}"
            raise StoreError(
                f"Could not {'enable' if enabled else 'disable'} start at login ({where}): "
                f"{exc.strerror or exc}.",
                hint="Check the permissions of that location and try again.",
            ) from exc
        log.info("start at login %s (%s)", "enabled" if enabled else "disabled", self.where)

    async def ais_enabled(self) -> bool:
        return await asyncio.to_thread(self.is_enabled)

    async def aset_enabled(self, enabled: bool) -> None:
        await asyncio.to_thread(self.set_enabled, enabled)

    @property
    def where(self) -> str:
        """A human-readable location of the entry, for settings and logs."""
        return str(self.path) if self.path else f"HKCU\\{RUN_KEY_PATH}\\{APP_NAME}"

    def entry_command(self) -> tuple[str, ...] | None:
        """The command the enabled entry runs, or None when autostart is off."""
        if self.platform is Platform.WINDOWS:
            value = self._key().get(APP_NAME)
            return tuple(split_windows_command(value)) if value else None
        path = self.path
        assert path is not None
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("cannot read %s: %s", path, exc)
            return None
        if self.platform is Platform.LINUX:
            return _desktop_entry_command(data.decode("utf-8", "replace"))
        return _launch_agent_command(data)

    def _file_content(self) -> bytes:
        if self.platform is Platform.LINUX:
            return desktop_entry(self.command).encode()
        return plistlib.dumps(
            {
                "Label": APP_ID,
                "ProgramArguments": list(self.command),
                "RunAtLoad": True,
                "ProcessType": "Interactive",
                "LimitLoadToSessionType": "Aqua",
            }
        )


def is_enabled() -> bool:
    """Whether the current user's start-at-login entry is on (this platform, this
    user's home). Blocking: call from a thread inside the event loop."""
    return Autostart().is_enabled()


def set_enabled(enabled: bool) -> None:
    """Turn the current user's start-at-login entry on or off (raises StoreError)."""
    Autostart().set_enabled(enabled)


# -- XDG desktop entries -----------------------------------------------------------------
_EXEC_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


def desktop_exec(argv: Sequence[str]) -> str:
    """An ``Exec=`` value for ``argv`` (Desktop Entry Specification, "The Exec key").

    Arguments with reserved characters are double-quoted with ``"`` ``\\`` `````
    ``$`` backslash-escaped; then the string-value escaping doubles every backslash;
    ``%`` (field codes) is written ``%%``.
    """
    parts = []
    for arg in argv:
        if arg and not (_EXEC_RESERVED & set(arg)):
            quoted = arg
        else:
            inner = "".join("\\" + c if c in '"`$\\' else c for c in arg)
            quoted = f'"{inner}"'
        parts.append(quoted.replace("%", "%%"))
    return " ".join(parts).replace("\\", "\\\\")


def parse_desktop_exec(value: str) -> list[str]:
    """The inverse of :func:`desktop_exec` (field codes other than ``%%`` are dropped)."""
    # Undo the string-value escapes first (\\ -> \, \s -> space, ...).
    text = []
    i = 0
    while i < len(value):
        c = value[i]
        if c == "\\" and i + 1 < len(value):
            nxt = value[i + 1]
            text.append({"s": " ", "n": "\n", "t": "\t", "r": "\r", "\\": "\\"}.get(nxt, nxt))
            i += 2
            continue
        text.append(c)
        i += 1
    s = "".join(text)
    args: list[str] = []
    cur: list[str] = []
    have = False
    i = 0
    while i < len(s):
        c = s[i]
        if c == '"':
            have = True
            i += 1
            while i < len(s) and s[i] != '"':
                if s[i] in "\\%" and i + 1 < len(s) and (s[i] == "\\" or s[i + 1] == "%"):
                    i += 1
                cur.append(s[i])
                i += 1
            i += 1
        elif c in " \t":
            if have:
                args.append("".join(cur))
            cur, have = [], False
            i += 1
        elif c == "%" and i + 1 < len(s):
            if s[i + 1] == "%":
                cur.append("%")
                have = True
            i += 2
        else:
            cur.append(c)
            have = True
            i += 1
    if have:
        args.append("".join(cur))
    return args


def desktop_entry(command: Sequence[str]) -> str:
    """The autostart ``.desktop`` file that runs ``command``."""
    return "\n".join(
        [
            "[Desktop Entry]",
            "Type=Application",
            f"Name={APP_NAME}",
            "Comment=Run your local MCP servers behind one safe loopback gateway",
            f"Exec={desktop_exec(command)}",
            f"Icon={APP_ID}",
            "Terminal=false",
            "X-GNOME-Autostart-enabled=true",
            "",
        ]
    )


def _desktop_entry_command(text: str) -> tuple[str, ...] | None:
    values: dict[str, str] = {}
    in_main = False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("["):
            in_main = line == "[Desktop Entry]"
        elif in_main and "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values.setdefault(key.strip(), value.strip())
    if values.get("Hidden", "").lower() == "true":
        return None
    if values.get("X-GNOME-Autostart-enabled", "").lower() == "false":
        return None
    argv = parse_desktop_exec(values.get("Exec", ""))
    return tuple(argv) if argv else None


# -- macOS LaunchAgents --------------------------------------------------------------------
def _launch_agent_command(data: bytes) -> tuple[str, ...] | None:
    try:
        plist = plistlib.loads(data)
    except (plistlib.InvalidFileException, ValueError) as exc:
        log.warning("unreadable LaunchAgent, treating start at login as off: %s", exc)
        return None
    if not isinstance(plist, dict) or plist.get("Disabled") is True:
        return None
    if plist.get("RunAtLoad") is not True:
        return None
    argv = plist.get("ProgramArguments")
    if isinstance(argv, list) and argv and all(isinstance(a, str) for a in argv):
        return tuple(argv)
    program = plist.get("Program")
    return (program,) if isinstance(program, str) else None


# -- Windows command lines -------------------------------------------------------------------
def split_windows_command(line: str) -> list[str]:
    """Split a command line the way the Microsoft C runtime does (the inverse of
    :func:`subprocess.list2cmdline`): 2n backslashes before ``"`` are n backslashes and
    a quote toggle, 2n+1 are n backslashes and a literal quote."""
    args: list[str] = []
    cur: list[str] = []
    have = in_quotes = False
    i = 0
    while i < len(line):
        c = line[i]
        if c == "\\":
            n = 0
            while i < len(line) and line[i] == "\\":
                n += 1
                i += 1
            if i < len(line) and line[i] == '"':
                cur.append("\\" * (n // 2))
                if n % 2:
                    cur.append('"')
                    i += 1
                have = True
            else:
                cur.append("\\" * n)
                have = True
            continue
        if c == '"':
            in_quotes = not in_quotes
            have = True
        elif c in " \t" and not in_quotes:
            if have:
                args.append("".join(cur))
            cur, have = [], False
        else:
            cur.append(c)
            have = True
        i += 1
    if have:
        args.append("".join(cur))
    return args
