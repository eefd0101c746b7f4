"""CLI parsing details that the integration tests do not reach."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from switchboard.cli import main


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
        "SWITCHBOARD_HOME": str(tmp_path / "sb"),
    }
    return subprocess.run(
        [sys.executable, "-m", "switchboard", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_autostart_round_trip(tmp_path: Path) -> None:
    assert "is off" in run(tmp_path, "autostart").stdout
    out = run(tmp_path, "autostart", "on")
    assert "is on" in out.stdout
    entries = list((tmp_path / "xdg" / "autostart").glob("*.desktop"))
    assert len(entries) == 1
    assert "is on" in run(tmp_path, "autostart", "status").stdout
    assert "is off" in run(tmp_path, "autostart", "off").stdout
    assert not list((tmp_path / "xdg" / "autostart").glob("*.desktop"))


def test_options_may_follow_the_name_and_the_command_is_verbatim(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = str(tmp_path / "sb")
    code = main(["--home", home, "add", "t", "--auth", "off", "--", "cat", "--auth", "-n"])
    assert code == 0
    config = tomllib.loads((tmp_path / "sb" / "config" / "config.toml").read_text())
    (server,) = config["servers"]
    assert server["args"] == ["--auth", "-n"]
    assert server["auth"] == "off"
    assert "isolation" not in server  # auto, the default
    assert main(["--home", home, "add", "s", "--isolation", "serial", "--", "cat"]) == 0
    config = tomllib.loads((tmp_path / "sb" / "config" / "config.toml").read_text())
    assert config["servers"][1]["isolation"] == "serial"


def test_a_command_after_dashes_is_refused_where_none_is_taken(tmp_path: Path) -> None:
    out = run(tmp_path, "list", "--", "x")
    assert out.returncode == 2
    assert "takes no command after '--'" in out.stderr


def test_errors_print_message_and_hint(tmp_path: Path) -> None:
    out = run(tmp_path, "add", "Bad Name", "--", "cat")
    assert out.returncode == 1
    assert out.stderr.startswith("error: Invalid server name 'Bad Name'.")
    assert "hint: Use 1-64 lowercase letters" in out.stderr


def test_add_help_says_what_auth_off_means(tmp_path: Path) -> None:
    out = run(tmp_path, "add", "--help")
    text = " ".join(out.stdout.split())
    assert "anyone on this computer, including any local program, can call" in text
    assert "web pages cannot" in text
