"""Where ``switchboard group`` verbs find the groups: the running engine (its control
API, changes apply at once) or, with none running, the config file (each change one
atomic load-change-save, applied when it starts); and what the verbs share.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from switchboard.audit import offline_config_store
from switchboard.cli.common import Command, configured_base_url, control_client
from switchboard.core.errors import (
    ControlAPIError,
    EngineNotRunning,
    GroupChanged,
    StoreError,
    ValidationError,
)
from switchboard.core.group import GroupSpec
from switchboard.core.paths import AppPaths
from switchboard.store.config import Config

if TYPE_CHECKING:
    from switchboard.control.client import ControlClient

Change = Callable[[GroupSpec], GroupSpec]


class Groups:
    """Group reads and changes through the control API, or with no engine running, on
    the config file (each change one atomic load-change-save)."""

    def __init__(self, paths: AppPaths, *, need_engine: bool = False) -> None:
        self.paths = paths
        self.store = offline_config_store(paths)
        self.client: ControlClient | None
        try:
            self.client = control_client(paths)
        except EngineNotRunning:
            if need_engine:
                raise
            self.client = None

    @property
    def online(self) -> bool:
        return self.client is not None

    def close(self) -> None:
        if self.client is not None:
            self.client.close()

    def views(self) -> list[dict[str, Any]]:
        if self.client is not None:
            return list(self.client.request("GET", "/groups")["groups"])
        config = self.store.load()
        return [offline_view(config, g) for g in config.groups]

    def view(self, name: str) -> dict[str, Any]:
        if self.client is not None:
            return dict(self.client.request("GET", f"/groups/{name}"))
        config = self.store.load()
        return offline_view(config, config.group(name))

    def get(self, name: str) -> GroupSpec:
        return GroupSpec.from_dict(self.view(name)["spec"])

    def servers(self) -> set[str]:
        """Configured server names."""
        if self.client is not None:
            return {v["spec"]["name"] for v in self.client.request("GET", "/servers")["servers"]}
        return {s.name for s in self.store.load().servers}

    def create(self, spec: GroupSpec) -> dict[str, Any]:
        if self.client is not None:
            return dict(self.client.request("POST", "/groups", spec.to_dict()))
        config = self.store.update(lambda c: c.with_group(spec))
        return offline_view(config, spec)

    def edit(self, name: str, change: Change) -> tuple[GroupSpec, GroupSpec]:
        """Apply ``change`` to the group; (before, after)."""
        if self.client is not None:
            # Read, change, write only if nobody changed it meanwhile (the app's Groups
            # page, another command); then read again and redo the change.
            for _ in range(5):
                before = self.get(name)
                after = change(before)
                try:
                    self.client.request(
                        "PUT", f"/groups/{name}", after.to_dict(), expect=before.tag()
                    )
                except ControlAPIError as exc:
                    if exc.status == 409:
                        continue
                    raise
                return before, after
            raise GroupChanged(name)
        seen: list[GroupSpec] = []

        def apply(config: Config) -> Config:
            seen.append(config.group(name))
            seen.append(change(seen[0]))
            return config.with_group(seen[1], replace=True)

        self.store.update(apply)
        return seen[0], seen[1]

    def rename(self, old: str, new: str) -> dict[str, Any]:
        if self.client is not None:
            return dict(self.client.request("POST", f"/groups/{old}/rename", {"name": new}))
        config = self.store.update(lambda c: c.rename_group(old, new))
        self._follow(config, old, new)
        return offline_view(config, config.group(new))

    def delete(self, name: str) -> None:
        if self.client is not None:
            self.client.request("DELETE", f"/groups/{name}")
        else:
            config = self.store.update(lambda c: c.without_group(name))
            self._follow(config, name, None)

    def _follow(self, config: Config, old: str, new: str | None) -> None:
        """With no engine running, the group's sign-ins follow it here (the engine does
        it itself): ``auth/regroup.py``. The config change stands if this fails."""
        from switchboard.audit import AuditLog
        from switchboard.auth.regroup import follow_offline

        try:
            follow_offline(
                self.paths.auth_db,
                AuditLog.for_paths(self.paths, sync=True),
                configured_base_url(config.settings),
                old,
                new,
            )
        except StoreError as exc:
            what = "moved to the new name" if new else "revoked"
            print(
                f"Warning: the group's client sign-ins were not {what}: {exc.message} "
                "Start Switchboard and see 'switchboard grants list'.",
                file=sys.stderr,
            )


def offline_view(config: Config, spec: GroupSpec) -> dict[str, Any]:
    url = f"{configured_base_url(config.settings)}/{GroupSpec.kind}/{spec.name}/mcp"
    members = [
        {
            "server": s,
            "state": "not running" if config.has(s) else "missing",
            "missing": not config.has(s),
        }
        for s in spec.servers
    ]
    return {
        "spec": spec.to_dict(),
        "url": url,
        "sse_url": url.removesuffix("/mcp") + "/sse",
        "members": members,
    }


def with_groups(run: Callable[[Groups, argparse.Namespace], int]) -> Command:
    def handler(args: argparse.Namespace, paths: AppPaths) -> int:
        groups = Groups(paths)
        try:
            code = run(groups, args)
        finally:
            groups.close()
        if not groups.online and code == 0 and args.group_cmd not in ("list", "show", "url"):
            print("Switchboard is not running; the change is saved and applies when it starts.")
        return code

    return handler


def require_member(spec: GroupSpec, server: str) -> None:
    if server not in spec.servers:
        members = ", ".join(spec.servers) or "none"
        raise ValidationError(
            f"{server!r} is not a member of group {spec.name!r}.",
            hint=f"Its members: {members}. Add it with 'switchboard group add {spec.name} "
            f"{server}'.",
        )


__all__ = ["Change", "Groups", "offline_view", "require_member", "with_groups"]
