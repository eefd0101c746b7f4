"""Start-at-login toggle: XDG autostart, LaunchAgent and Run key, each with injected
platform, home, environment and registry, so all three run on any system."""

from __future__ import annotations

import configparser
import plistlib
import shutil
import subprocess
from pathlib import Path

import pytest

from switchboard.autostart import (
    APP_ID,
    APP_NAME,
    Autostart,
    Platform,
    default_command,
    desktop_exec,
    packaged_launcher,
    parse_desktop_exec,
    split_windows_command,
)
from switchboard.core.errors import StoreError


class FakeRunKey:
    """Dict-backed stand-in for HKCU\\...\\Run."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def set(self, name: str, value: str) -> None:
        self.values[name] = value

    def delete(self, name: str) -> None:
        self.values.pop(name, None)


CMD = ("/opt/Switch Board/bin/switchboard", "--home", '/home/a b/100% $x "q" `c` \\d')


def make(platform: Platform, tmp_path: Path, **kw: object) -> Autostart:
    return Autostart(
        platform=platform,
        home=tmp_path,
        environ=kw.pop("environ", {}),  # type: ignore[arg-type]
        run_key=kw.pop("run_key", FakeRunKey()),  # type: ignore[arg-type]
        command=CMD,
    )


@pytest.mark.parametrize("platform", list(Platform))
def test_toggle_round_trips(platform: Platform, tmp_path: Path) -> None:
    auto = make(platform, tmp_path)
    assert not auto.is_enabled()
    auto.set_enabled(True)
    assert auto.is_enabled()
    assert auto.entry_command() == CMD
    auto.set_enabled(True)  # idempotent
    assert auto.entry_command() == CMD
    auto.set_enabled(False)
    assert not auto.is_enabled()
    assert auto.entry_command() is None
    auto.set_enabled(False)  # disabling twice is fine
    assert not auto.is_enabled()


async def test_async_wrappers(tmp_path: Path) -> None:
    auto = make(Platform.LINUX, tmp_path)
    await auto.aset_enabled(True)
    assert await auto.ais_enabled()
    await auto.aset_enabled(False)
    assert not await auto.ais_enabled()


def test_linux_writes_a_valid_xdg_autostart_entry(tmp_path: Path) -> None:
    auto = make(Platform.LINUX, tmp_path)
    auto.set_enabled(True)
    path = tmp_path / ".config" / "autostart" / f"{APP_ID}.desktop"
    assert auto.path == path
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(path, encoding="utf-8")
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application"
    assert entry["Name"] == APP_NAME
    assert entry["Icon"] == APP_ID
    assert parse_desktop_exec(entry["Exec"]) == list(CMD)
    assert path.stat().st_mode & 0o777 == 0o644


def test_linux_honours_xdg_config_home(tmp_path: Path) -> None:
    conf = tmp_path / "xdg"
    auto = make(Platform.LINUX, tmp_path, environ={"XDG_CONFIG_HOME": str(conf)})
    auto.set_enabled(True)
    assert (conf / "autostart" / f"{APP_ID}.desktop").is_file()
    # A relative XDG_CONFIG_HOME is invalid per the spec and ignored.
    rel = make(Platform.LINUX, tmp_path, environ={"XDG_CONFIG_HOME": "relative"})
    assert rel.path == tmp_path / ".config" / "autostart" / f"{APP_ID}.desktop"


@pytest.mark.parametrize("extra", ["Hidden=true", "X-GNOME-Autostart-enabled=false", "Hidden=TRUE"])
def test_linux_entry_disabled_by_the_session_counts_as_off(tmp_path: Path, extra: str) -> None:
    auto = make(Platform.LINUX, tmp_path)
    auto.set_enabled(True)
    assert auto.path is not None
    text = auto.path.read_text().replace("Type=Application", f"{extra}\nType=Application")
    auto.path.write_text(text)
    assert not auto.is_enabled()
    auto.set_enabled(True)  # turning it on again writes a fresh entry
    assert auto.is_enabled()


def test_linux_failure_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "conf"
    blocker.write_text("a file where a directory should be")
    auto = make(Platform.LINUX, tmp_path, environ={"XDG_CONFIG_HOME": str(blocker)})
    with pytest.raises(StoreError) as err:
        auto.set_enabled(True)
    assert err.value.hint
    assert not auto.is_enabled()


def test_macos_writes_a_launch_agent(tmp_path: Path) -> None:
    auto = make(Platform.MACOS, tmp_path)
    auto.set_enabled(True)
    path = tmp_path / "Library" / "LaunchAgents" / f"{APP_ID}.plist"
    assert auto.path == path
    plist = plistlib.loads(path.read_bytes())
    assert plist["Label"] == APP_ID
    assert plist["ProgramArguments"] == list(CMD)
    assert plist["RunAtLoad"] is True


@pytest.mark.parametrize(
    "change",
    [{"Disabled": True}, {"RunAtLoad": False}, {"ProgramArguments": []}],
)
def test_macos_agent_that_will_not_run_counts_as_off(
    tmp_path: Path, change: dict[str, object]
) -> None:
    auto = make(Platform.MACOS, tmp_path)
    auto.set_enabled(True)
    assert auto.path is not None
    plist = plistlib.loads(auto.path.read_bytes())
    plist.update(change)
    auto.path.write_bytes(plistlib.dumps(plist))
    assert not auto.is_enabled()


def test_macos_corrupt_agent_counts_as_off_and_is_replaced(tmp_path: Path) -> None:
    auto = make(Platform.MACOS, tmp_path)
    assert auto.path is not None
    auto.path.parent.mkdir(parents=True)
    auto.path.write_bytes(b"not a plist")
    assert not auto.is_enabled()
    auto.set_enabled(True)
    assert auto.entry_command() == CMD


def test_windows_writes_the_run_value(tmp_path: Path) -> None:
    key = FakeRunKey()
    auto = make(Platform.WINDOWS, tmp_path, run_key=key)
    assert auto.path is None
    auto.set_enabled(True)
    assert key.values == {APP_NAME: subprocess.list2cmdline(CMD)}
    assert "Run" in auto.where
    auto.set_enabled(False)
    assert key.values == {}


@pytest.mark.parametrize(
    "argv",
    [
        ["C:\\Program Files\\Switchboard\\Switchboard.exe"],
        ["a b", 'say "hi"', "trailing\\", "dir\\\\", "", 'x\\"y'],
        ["plain", "two  spaces", "tab\there"],
    ],
)
def test_windows_command_lines_round_trip(argv: list[str]) -> None:
    assert split_windows_command(subprocess.list2cmdline(argv)) == argv


@pytest.mark.parametrize(
    "argv",
    [
        ["/usr/bin/switchboard"],
        ["/opt/my app/switchboard", "--home", "~/x"],
        ['quote"d', "back\\slash", "dollar$", "back`tick", "100%", "semi;colon", ""],
    ],
)
def test_desktop_exec_round_trips(argv: list[str]) -> None:
    assert parse_desktop_exec(desktop_exec(argv)) == argv


def test_desktop_exec_quotes_as_the_spec_says() -> None:
    # Spec example territory: a space forces quotes; a backslash inside quotes is
    # escaped once for the quoting and doubled again by the string escaping.
    assert desktop_exec(["/usr/bin/switchboard"]) == "/usr/bin/switchboard"
    assert desktop_exec(["/a b/c"]) == '"/a b/c"'
    assert desktop_exec(["a\\b"]) == '"a\\\\\\\\b"'
    assert desktop_exec(["50%"]) == "50%%"
    # Field codes a launcher would expand are dropped when reading.
    assert parse_desktop_exec("switchboard %U") == ["switchboard"]


def test_platform_detection() -> None:
    assert Platform.current("linux") is Platform.LINUX
    assert Platform.current("freebsd14") is Platform.LINUX
    assert Platform.current("darwin") is Platform.MACOS
    assert Platform.current("win32") is Platform.WINDOWS


def test_default_command_prefers_the_launcher_on_path(tmp_path: Path) -> None:
    launcher = tmp_path / "bin" / "switchboard"
    cmd = default_command(
        Platform.LINUX, executable="/usr/bin/python3", which=lambda _: str(launcher)
    )
    assert cmd == (str(launcher),)


def test_default_command_in_the_system_package(tmp_path: Path) -> None:
    """Running from <prefix>/lib/switchboard/app/switchboard/ (an installed or unpacked
    .deb) means <prefix>/bin/switchboard, even when another one is on PATH."""
    prefix = tmp_path / "unpacked" / "usr"
    module = prefix / "lib" / "switchboard" / "app" / "switchboard" / "autostart.py"
    module.parent.mkdir(parents=True)
    module.write_text("")
    assert packaged_launcher(module) is None  # no launcher next to it
    (prefix / "bin").mkdir()
    (prefix / "bin" / "switchboard").write_bytes(b"\x7fELF")
    assert packaged_launcher(module) == prefix / "bin" / "switchboard"
    cmd = default_command(
        Platform.LINUX, executable="/usr/bin/python3.11", which=lambda _: "/x", module_file=module
    )
    assert cmd == (str(prefix / "bin" / "switchboard"),)
    # A source checkout or venv is not the package.
    assert packaged_launcher(tmp_path / "app" / "switchboard" / "autostart.py") is None


def test_default_command_without_a_launcher() -> None:
    def none(_: str) -> None:
        return None

    # A plain Python runs the package.
    assert default_command(Platform.LINUX, executable="/usr/bin/python3", which=none) == (
        "/usr/bin/python3",
        "-m",
        "switchboard",
    )
    assert default_command(Platform.WINDOWS, executable="C:\\Py\\python.exe", which=none) == (
        "C:\\Py\\python.exe",
        "-m",
        "switchboard",
    )
    # Inside a Briefcase bundle the executable is the app itself.
    app = "/Applications/Switchboard.app/Contents/MacOS/Switchboard"
    assert default_command(Platform.MACOS, executable=app, which=none) == (app,)
    exe = "C:\\Program Files\\Switchboard\\Switchboard.exe"
    assert default_command(Platform.WINDOWS, executable=exe, which=none) == (exe,)


def test_default_construction_uses_the_current_platform(tmp_path: Path) -> None:
    auto = Autostart(home=tmp_path, environ={})
    assert auto.platform is Platform.current()
    assert auto.command


def test_module_functions_use_the_current_users_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``is_enabled()`` / ``set_enabled()`` (what the settings page calls) act on this
    platform's entry in the user's home: here pointed at a temporary one."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "conf"))
    import switchboard.autostart as autostart

    if Platform.current() is Platform.WINDOWS:
        pytest.skip("would write the real HKCU Run key")
    assert autostart.is_enabled() is False
    autostart.set_enabled(True)
    assert autostart.is_enabled() is True
    expected = Autostart(home=tmp_path).path
    assert expected is not None and expected.is_file()
    assert str(expected).startswith(str(tmp_path))
    autostart.set_enabled(False)
    assert autostart.is_enabled() is False


@pytest.mark.skipif(
    not shutil.which("desktop-file-validate"), reason="desktop-file-utils not installed"
)
def test_autostart_entry_passes_desktop_file_validate(tmp_path: Path) -> None:
    auto = make(Platform.LINUX, tmp_path)
    auto.set_enabled(True)
    assert auto.path is not None
    result = subprocess.run(
        ["desktop-file-validate", str(auto.path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
