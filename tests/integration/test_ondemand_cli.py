"""``switchboard add --start-mode``, ``list`` (state, start mode, memory) and
``list --json`` (``rss_bytes``) against a real ``switchboard serve`` (issues 16.2, 16.3);
a config written before start modes (``autostart = true``) loads unchanged."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import fixture_cmd
from tests.helpers.engine_process import serve, stop, wait_ready

pytestmark = pytest.mark.timeout(120)


def cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "switchboard", "--home", str(home), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def listed(home: Path) -> dict[str, dict[str, Any]]:
    out = cli(home, "list", "--json")
    assert out.returncode == 0, out.stderr
    return {row["name"]: row for row in json.loads(out.stdout)["servers"]}


def test_list_shows_sleeping_and_memory_and_old_configs_load(tmp_path: Path) -> None:
    home = tmp_path / "home"
    cmd, args = fixture_cmd("echo_server.py")
    (home / "config").mkdir(parents=True)
    # An older version's file: autostart = true|false, no start key.
    arglist = ", ".join(json.dumps(a) for a in args)
    (home / "config" / "config.toml").write_text(
        "version = 1\n"
        f'[[servers]]\nname = "old-on"\ncommand = {json.dumps(cmd)}\nargs = [{arglist}]\n'
        "autostart = true\n"
        f'[[servers]]\nname = "old-off"\ncommand = {json.dumps(cmd)}\nargs = [{arglist}]\n'
        "autostart = false\n"
    )
    out = cli(
        home, "add", "lazy", "--start-mode", "on-demand", "--sleep-after", "5", "--", cmd, *args
    )
    assert out.returncode == 0, out.stderr
    offline = listed(home)
    assert offline["lazy"]["start"] == "on-demand" and offline["old-on"]["start"] == "always"
    proc = serve(home)
    try:
        wait_ready(proc)
        for _ in range(600):
            rows = listed(home)
            if rows["old-on"]["state"] == "running" and rows["old-on"]["rss_bytes"]:
                break
            time.sleep(0.05)
        assert rows["old-on"]["state"] == "running" and rows["old-on"]["start"] == "always"
        assert rows["old-on"]["rss_bytes"] > 1_000_000  # a Python process: megabytes
        assert rows["old-off"]["state"] == "stopped" and rows["old-off"]["rss_bytes"] is None
        # On demand: no process, no memory, and not "stopped".
        assert rows["lazy"]["state"] == "sleeping" and rows["lazy"]["rss_bytes"] is None
        table = cli(home, "list").stdout
        assert "lazy                 sleeping" in table and "on-demand" in table
        assert "MiB" in table and "MEMORY" in table and "total" in table
        detail = cli(home, "status", "lazy").stdout
        assert "lazy: sleeping" in detail and "on-demand (sleeps after 5 min idle)" in detail
        assert "memory:" in cli(home, "status", "old-on").stdout
        assert "1 asleep" in cli(home, "status").stdout
    finally:
        stop(proc)
    # Written back in the new form, and read the same way again.
    config = (home / "config" / "config.toml").read_text()
    assert "autostart" not in config and 'start = "always"' in config
