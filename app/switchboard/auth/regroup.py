"""Grants follow their group: a renamed group keeps them, a deleted one revokes them.

A grant, its refresh tokens and a remembered consent name a group by key
(``group:NAME``, ``auth/targetkeys.py``) and its MCP URL (the RFC 8707 resource, the
``aud`` of its tokens, RFC 9068 §2.2). ``Engine.rename_group`` publishes
``GroupsChanged((old, new))``; the auth service then re-keys, in one SQLite transaction
(:meth:`AuthStore.retarget`), every active grant naming ``group:OLD`` (the entry of a
multi-target grant) to ``group:NEW`` with the new URL, and the remembered consents with
it. Access tokens already issued keep their old ``aud`` (the old URL, which now answers
404); a refresh with the grant yields tokens for the new URL (RFC 8707 §2.2: the refresh
request may name the new URL or no resource), so a client whose config followed the
rename (``clients/sync.py``) carries on without a new consent.

A group that disappears (``GroupsChanged((name,))`` and no such group any more) ends its
grants: a grant for that group alone is revoked (its refresh tokens die, its access
tokens stop validating), a multi-target grant loses that entry only, and remembered
consents for it are forgotten. Servers are not handled here (the engine cannot rename
them; a removed server's grants are left as they were). With no engine running,
``switchboard group rename|delete`` does the same on the database
(:func:`follow_offline`).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from switchboard.auth.store import AuthStore, GrantRecord
from switchboard.auth.targetkeys import GROUPS, key_of, key_url
from switchboard.core.audit import CLI, PERSON, SUCCESS, AuditSink

log = logging.getLogger("switchboard.auth")

Change = Callable[[GrantRecord], GrantRecord | None]
"""What happens to one active grant naming the key: its new form, or None (revoke)."""


def group_events(
    names: tuple[str, ...], current: Collection[str]
) -> tuple[tuple[str, str] | None, list[str]]:
    """What a ``GroupsChanged(names)`` means for grants, given the group names that exist
    now: (``(old, new)`` of a rename or None, the groups that were deleted)."""
    if len(names) == 2 and names[0] not in current and names[1] in current:
        return (names[0], names[1]), []
    return None, [n for n in names if n not in current]


def moved_url(url: str, old: str, new: str, base: str) -> str:
    """The MCP URL ``url`` of group ``old`` as group ``new``'s, keeping its spelling
    (host, port, ``/mcp`` or ``/sse``); a URL of another shape becomes the new group's
    canonical URL on ``base``."""
    parts = urlsplit(url)
    segments = parts.path.split("/")
    if len(segments) >= 4 and segments[1] == GROUPS and segments[2] == old:
        segments[2] = new
        return urlunsplit(parts._replace(path="/".join(segments)))
    return key_url(base, key_of(GROUPS, new))


def renamed(old: str, new: str, base: str) -> Change:
    """The change of a grant for a group renamed ``old`` -> ``new``: its entry re-keyed
    and its URL moved, the other entries (and their order) kept."""
    old_key, new_key = key_of(GROUPS, old), key_of(GROUPS, new)

    def change(grant: GrantRecord) -> GrantRecord:
        servers, resources = list(grant.servers), list(grant.resources)
        for i, key in enumerate(servers):
            if key == old_key:
                servers[i] = new_key
                if i < len(resources):
                    resources[i] = moved_url(resources[i], old, new, base)
        return _with(grant, servers, resources)

    return change


def deleted(name: str) -> Change:
    """The change of a grant for a deleted group: revoked when the group was all it
    covered, else that entry dropped."""
    gone = key_of(GROUPS, name)

    def change(grant: GrantRecord) -> GrantRecord | None:
        kept = [(s, r) for s, r in zip(grant.servers, grant.resources, strict=False) if s != gone]
        if not kept:
            return None
        return _with(grant, [s for s, _ in kept], [r for _, r in kept])

    return change


def _audit_rekeyed(
    audit: AuditSink,
    changed: Sequence[tuple[GrantRecord, GrantRecord]],
    actor: str,
    target: str,
    previous: str,
    reason: str,
) -> None:
    """One ``grant_rekeyed`` event per grant whose targets changed."""
    for before, after in changed:
        audit.emit(
            "grant_rekeyed",
            actor=actor,
            target=target,
            outcome=SUCCESS,
            reason=reason,
            client=before.client_id,
            grant=before.id,
            previous=previous,
            targets=list(after.servers),
        )


def rename_grants(
    store: AuthStore, audit: AuditSink, base: str, old: str, new: str, actor: str = PERSON
) -> None:
    """Blocking: move the grants and remembered consents of group ``old`` to
    ``new`` (one transaction); audited as ``grant_rekeyed``."""
    old_key, new_key = key_of(GROUPS, old), key_of(GROUPS, new)
    changed, _, consents = store.retarget(
        old_key,
        renamed(old, new, base),
        consents_to=new_key,
        reason="group_renamed",
    )
    _audit_rekeyed(audit, changed, actor, new_key, old_key, "group_renamed")
    if changed or consents:
        log.info(
            "group %s renamed to %s: %d grant(s), %d remembered consent(s) follow it",
            old,
            new,
            len(changed),
            consents,
        )


def revoke_grants(
    store: AuthStore, audit: AuditSink, revoked_ids: set[str], name: str, actor: str = PERSON
) -> None:
    """Blocking: the deleted group ``name``'s grants end (a grant for it alone is
    revoked, a multi-target grant loses its entry) and its remembered consents are
    forgotten (one transaction); audited as ``grant_revoked`` / ``grant_rekeyed``."""
    key = key_of(GROUPS, name)
    changed, revoked, consents = store.retarget(
        key, deleted(name), consents_to=None, reason="group_deleted"
    )
    for grant in revoked:
        revoked_ids.add(grant.id)
        audit.emit(
            "grant_revoked",
            actor=actor,
            target=key,
            outcome=SUCCESS,
            reason="group_deleted",
            client=grant.client_id,
            grant=grant.id,
        )
    _audit_rekeyed(audit, changed, actor, key, key, "group_deleted")
    if revoked or changed or consents:
        log.info(
            "group %s deleted: %d grant(s) revoked, %d narrowed, %d consent(s) forgotten",
            name,
            len(revoked),
            len(changed),
            consents,
        )


def follow_offline(db: Path, audit: AuditSink, base: str, old: str, new: str | None) -> None:
    """Blocking, with no engine running (``switchboard group rename|delete`` on the config
    file): the same as the engine does on ``GroupsChanged``, on the database ``db``
    (nothing when there is none yet); audited with the actor ``cli``."""
    if not db.exists():
        return
    store = AuthStore(db)
    store.open()
    try:
        if new is None:
            revoke_grants(store, audit, set(), old, actor=CLI)
        else:
            rename_grants(store, audit, base, old, new, actor=CLI)
    finally:
        store.close()


def _with(grant: GrantRecord, servers: list[str], resources: list[str]) -> GrantRecord:
    return dataclasses.replace(grant, server=" ".join(servers), resource=" ".join(resources))
