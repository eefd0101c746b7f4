"""auth/regroup.py on a real SQLite store: a multi-target grant keeps its other entries
when a group in it is renamed or deleted; consents move or go; refresh tokens of a grant
revoked by a deletion are gone."""

from __future__ import annotations

from pathlib import Path

from switchboard.auth.regroup import (
    group_events,
    moved_url,
    rename_grants,
    revoke_grants,
)
from switchboard.auth.store import AuthStore, GrantRecord
from switchboard.core.audit import NO_AUDIT

BASE = "http://127.0.0.1:5000"


def store_with_grants(tmp_path: Path) -> AuthStore:
    store = AuthStore(tmp_path / "auth.db", clock=lambda: 1000.0)
    store.open()
    multi = GrantRecord(
        "g-multi",
        "c1",
        "time group:a group:ab",
        f"{BASE}/servers/time/mcp http://localhost:5000/groups/a/sse {BASE}/groups/ab/mcp",
        "mcp",
        "",
        1.0,
    )
    store.add_grant(multi)
    store.add_grant(GrantRecord("g-a", "c2", "group:a", f"{BASE}/groups/a/mcp", "mcp", "", 2.0))
    store.add_grant(GrantRecord("g-t", "c2", "time", f"{BASE}/servers/time/mcp", "mcp", "", 3.0))
    store.add_refresh("rt-a", "g-a", "c2", "mcp", 100.0)
    store.remember_consent("c2", "group:a", "mcp")
    store.remember_consent("c2", "group:ab", "mcp")
    return store


def by_id(store: AuthStore) -> dict[str, tuple[str, str]]:
    return {g.id: (g.server, g.resource) for g in store.list_grants()}


def test_rename_moves_only_that_groups_entries_keeping_url_spelling(tmp_path: Path) -> None:
    store = store_with_grants(tmp_path)
    rename_grants(store, NO_AUDIT, BASE, "a", "b")
    assert by_id(store) == {
        "g-multi": (
            "time group:b group:ab",
            f"{BASE}/servers/time/mcp http://localhost:5000/groups/b/sse {BASE}/groups/ab/mcp",
        ),
        "g-a": ("group:b", f"{BASE}/groups/b/mcp"),
        "g-t": ("time", f"{BASE}/servers/time/mcp"),
    }
    assert {(c.client_id, c.server) for c in store.list_consents()} == {
        ("c2", "group:b"),
        ("c2", "group:ab"),
    }
    assert store.get_refresh("rt-a") is not None


def test_delete_revokes_single_grants_and_narrows_multi_ones(tmp_path: Path) -> None:
    store = store_with_grants(tmp_path)
    revoked: set[str] = set()
    revoke_grants(store, NO_AUDIT, revoked, "a")
    assert revoked == {"g-a"}
    assert by_id(store) == {
        "g-multi": ("time group:ab", f"{BASE}/servers/time/mcp {BASE}/groups/ab/mcp"),
        "g-t": ("time", f"{BASE}/servers/time/mcp"),
    }
    gone = store.get_grant("g-a")
    assert gone is not None and gone.revoke_reason == "group_deleted"
    assert store.get_refresh("rt-a") is None
    assert [(c.client_id, c.server) for c in store.list_consents()] == [("c2", "group:ab")]


def test_group_events_tell_a_rename_from_deletions() -> None:
    assert group_events(("a", "b"), {"b"}) == (("a", "b"), [])
    assert group_events(("a",), {"b"}) == (None, ["a"])
    assert group_events(("a",), {"a"}) == (None, [])
    # A server removal edits two existing groups: neither a rename nor a deletion.
    assert group_events(("a", "b"), {"a", "b"}) == (None, [])


def test_moved_url_falls_back_to_the_canonical_url() -> None:
    assert moved_url("http://x/other", "a", "b", BASE) == f"{BASE}/groups/b/mcp"
