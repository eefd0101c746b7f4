"""``switchboard group rename|delete`` with no engine running (the config file is edited
in place): the group's sign-ins follow it in the authorization database too, as the
engine does on GroupsChanged (auth/regroup.py), audited with the actor ``cli``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from switchboard.audit import audit_path
from switchboard.auth.store import AuthStore, GrantRecord
from switchboard.core.paths import AppPaths
from tests.helpers.engine_process import ENGINE_ENV

BASE = "http://127.0.0.1:8765"


def cli(home: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(
        [sys.executable, "-m", "switchboard", "--home", str(home), *argv],
        capture_output=True,
        text=True,
        env=ENGINE_ENV,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0 and "Traceback" not in out.stderr, (argv, out.stdout, out.stderr)
    return out


def test_offline_rename_and_delete_carry_the_groups_grants(tmp_path: Path) -> None:
    home = tmp_path / "sb"
    paths = AppPaths.default(home)
    cli(home, "group", "create", "dev", "time")
    cli(home, "group", "create", "gone", "time")
    store = AuthStore(paths.auth_db)
    store.open()
    store.add_grant(GrantRecord("g1", "c1", "group:dev", f"{BASE}/groups/dev/mcp", "mcp", "", 1))
    store.add_grant(GrantRecord("g2", "c1", "group:gone", f"{BASE}/groups/gone/sse", "mcp", "", 2))
    store.remember_consent("c1", "group:dev", "mcp")
    store.add_refresh("rt2", "g2", "c1", "mcp", 100.0)
    store.close()

    renamed = cli(home, "group", "rename", "dev", "work")
    assert renamed.stdout.startswith("Renamed group dev to work;")
    deleted = cli(home, "group", "delete", "gone")
    assert deleted.stderr == ""

    store.open()
    try:
        assert [(g.id, g.server, g.resource) for g in store.list_grants()] == [
            ("g1", "group:work", f"{BASE}/groups/work/mcp")
        ]
        gone = store.get_grant("g2")
        assert gone is not None and gone.revoke_reason == "group_deleted"
        assert store.get_refresh("rt2") is None
        assert [(c.client_id, c.server) for c in store.list_consents()] == [("c1", "group:work")]
    finally:
        store.close()
    events = [json.loads(line) for line in audit_path(paths).read_text().splitlines()]
    follow = [(e["event"], e["actor"], e.get("grant")) for e in events if "grant" in e["event"]]
    assert follow == [("grant_rekeyed", "cli", "g1"), ("grant_revoked", "cli", "g2")]


def test_offline_rename_without_an_auth_database_creates_none(tmp_path: Path) -> None:
    home = tmp_path / "sb"
    cli(home, "group", "create", "dev")
    cli(home, "group", "rename", "dev", "work")
    assert not AppPaths.default(home).auth_db.exists()
