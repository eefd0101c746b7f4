"""Detect MCP clients and keep Switchboard's servers in their config files.

A client is connected either to every server (one entry per server, kept in step as
servers come and go) or to groups (issue 14: one entry per group, named after the
group, pointing at its ``/groups/<name>/mcp`` URL or running ``switchboard connect
--group <name>``, instead of one per server); ``clients.json`` remembers which.

Switchboard only ever touches entries it recognizes as its own (their URL is a
Switchboard gateway URL for that name, or they run ``switchboard connect [--group]
<name>``).
An entry of the same name that the person made themselves is reported as a conflict
and left alone. Writes are atomic, keep ``<file>.switchboard.bak`` (the file as it
was before Switchboard's last change), preserve the file's permissions and follow
symlinks (dotfile managers) instead of replacing them. Nothing is written when
nothing changes, so running it twice is a no-op, and taking the servers out again
gives the file back byte for byte: a byte-order mark and CRLF line breaks are kept,
and what Switchboard had to create (the container, the top-level object of an empty
file) is remembered in ``clients.json`` and removed with the last entry.

One client's odd file never stops the others: every failure is reported for that
client (:attr:`SyncReport.error`) and the rest are still updated.

Blocking (file I/O); call it from a thread in async code.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import re
import shutil
import stat
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from switchboard.clients.connections import Connections
from switchboard.clients.formats import Editor, Format, open_editor
from switchboard.clients.jsonc import parse as parse_jsonc
from switchboard.clients.known_clients import (
    BY_ID,
    KINDS,
    ClientKind,
    EntryBuilder,
    HostEnv,
    Target,
)
from switchboard.core.errors import ClientConfigError, SwitchboardError, ValidationError
from switchboard.core.loopback import LOOPBACK_HOSTS
from switchboard.core.paths import AppPaths
from switchboard.store.atomic import atomic_write

log = logging.getLogger("switchboard.clients")

BACKUP_SUFFIX = ".switchboard.bak"


@dataclasses.dataclass(frozen=True, slots=True)
class ClientInfo:
    """What ``client list`` shows for one client."""

    kind: ClientKind
    installed: bool
    config_path: Path
    connected: bool
    ours: tuple[str, ...]
    """Switchboard entries currently in its config."""
    error: str = ""
    groups: tuple[str, ...] = ()
    """The groups it is connected to (one entry each instead of one per server)."""


@dataclasses.dataclass(frozen=True, slots=True)
class SyncReport:
    """What one reconcile of one client's config did."""

    client: str
    config_path: Path
    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()
    """Names whose entry in the client is not Switchboard's (left alone)."""
    written: bool = False
    backup: Path | None = None
    error: str = ""
    """Why this client could not be updated (the file was left as it was)."""
    todo: str = ""
    """What the person still has to do in the client (e.g. Codex's sign-in)."""

    def lines(self) -> list[str]:
        if self.error:
            return [f"  not updated: {self.error}"]
        out = []
        for label, names in (
            ("added", self.added),
            ("updated", self.updated),
            ("removed", self.removed),
        ):
            if names:
                out.append(f"  {label}: {', '.join(names)}")
        for name in self.conflicts:
            out.append(
                f"  skipped {name}: {self.config_path} already has its own entry of that name"
            )
        if not self.written:
            out.append("  no change needed")
        if self.todo:
            out.append(f"  next: {self.todo}")
        return out


def default_connect_command(paths: AppPaths | None = None) -> tuple[str, ...]:
    """argv prefix that runs this Switchboard's CLI from a client's launcher.

    Absolute, because desktop apps do not see the shell's PATH; with ``--home`` when
    this instance keeps its files under one folder.
    """
    exe = shutil.which("switchboard")
    sibling = Path(sys.executable).with_name("switchboard")
    if exe is None and sibling.exists():
        exe = str(sibling)
    base: tuple[str, ...] = (exe,) if exe else (sys.executable, "-m", "switchboard")
    if paths is not None:
        root = paths.config_dir.parent
        if AppPaths.default(root) == paths and AppPaths.default(None) != paths:
            base = (*base, "--home", str(root))
    return base


MCP_REMOTE = ("npx", "-y", "mcp-remote@0.15.1")
"""The stdio form of a remote entry (mcp-remote signs in with the remote's OAuth)."""


def _strings(value: Any) -> list[str]:
    """Every string in a parsed entry."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


def is_ours(entry: Any, name: str, connect: tuple[str, ...] = ()) -> bool:
    """Is this client entry one that Switchboard wrote for server or group ``name``?

    Yes when it points at a Switchboard gateway URL of that name (``/servers/<name>/``
    or ``/groups/<name>/``), or runs ``<switchboard> connect [--group] <name>``
    (``connect`` is this instance's own argv prefix).
    """
    url_re = re.compile(
        r"^https?://(?:"
        + "|".join(re.escape(host) for host in sorted(LOOPBACK_HOSTS))
        + r"):\d+/(?:servers|groups)/"
        + re.escape(name)
        + r"/(?:mcp|sse)/?$"
    )
    strings: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            strings.append(value)
        elif isinstance(value, Mapping):
            for v in value.values():
                walk(v)
        elif isinstance(value, list | tuple):
            for v in value:
                walk(v)

    walk(entry)
    if any(url_re.match(s) for s in strings):
        return True
    if isinstance(entry, Mapping):
        args = entry.get("args")
        command = str(entry.get("command", ""))
        if isinstance(args, list) and "connect" in args:
            i = args.index("connect")
            argv = [command, *map(str, args[:i])]
            mentions = any("switchboard" in a.lower() for a in argv)
            rest = args[i + 1 : i + 3]
            named = rest[:1] == [name] or rest == ["--group", name]
            return (mentions or tuple(argv) == connect) and named
    return False


class ClientManager:
    """Adds, updates and removes Switchboard's entries in MCP clients' configs."""

    def __init__(
        self,
        paths: AppPaths,
        *,
        host: HostEnv | None = None,
        connect_command: tuple[str, ...] | None = None,
        kinds: Iterable[ClientKind] = KINDS,
    ) -> None:
        self.paths = paths
        self.host = host or HostEnv.current()
        self.connect_command = connect_command or default_connect_command(paths)
        self.kinds = {k.id: k for k in kinds}
        self._lock = threading.RLock()
        self._connections = Connections(
            paths.data_dir / "clients.json", known=lambda i: i in self.kinds, lock=self._lock
        )

    # -- lookup -----------------------------------------------------------------------
    def kind(self, client_id: str) -> ClientKind:
        kind = self.kinds.get(client_id) or BY_ID.get(client_id)
        if kind is None or kind.id not in self.kinds:
            raise ValidationError(
                f"Unknown MCP client {client_id!r}.",
                hint=f"Known clients: {', '.join(sorted(self.kinds))}.",
            )
        return kind

    def config_path(self, kind: ClientKind) -> Path:
        return kind.config_path(self.host)

    def installed(self, kind: ClientKind) -> bool:
        return (
            self.config_path(kind).exists()
            or any(p.exists() for p in kind.detect_paths(self.host))
            or any(self.host.which(c) for c in kind.commands)
        )

    def targets(
        self, servers: Mapping[str, str], groups: Mapping[str, str] | None = None
    ) -> list[Target]:
        """{server name: gateway URL} and {group name: group URL} -> what to write (a
        group's stdio form runs ``connect --group NAME``)."""
        return [
            *(
                Target(name, url, (*self.connect_command, "connect", name))
                for name, url in sorted(servers.items())
            ),
            *(
                Target(name, url, (*self.connect_command, "connect", "--group", name))
                for name, url in sorted((groups or {}).items())
            ),
        ]

    # -- connected set (clients.json, clients/connections.py) ----------------------------
    def connected(self) -> list[str]:
        return self._connections.connected()

    def groups_of(self, client_id: str) -> list[str]:
        """The groups ``client_id`` is connected to ([]: every server, or none)."""
        return self._connections.groups_of(client_id)

    def _set_connected(self, client_id: str, on: bool, groups: Iterable[str] = ()) -> None:
        self._connections.set_connected(client_id, on, groups)

    def rename_group(self, old: str, new: str) -> None:
        """Clients connected to the group ``old`` are now connected to ``new`` (the next
        sync moves their entry)."""
        self._connections.rename_group(old, new)

    def _created(self, client_id: str, path: Path) -> set[str]:
        return self._connections.created(client_id, path)

    def _set_created(self, client_id: str, path: Path, parts: set[str]) -> None:
        self._connections.set_created(client_id, path, parts)

    # -- reading ------------------------------------------------------------------------
    def _read(self, kind: ClientKind) -> tuple[Path, str, bool, _Encoding]:
        """The file as text with LF line breaks and no byte-order mark (how it was
        stored is returned so :meth:`_write` can store it that way again)."""
        path = self.config_path(kind)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return path, kind.new_file, False, _Encoding()
        except OSError as exc:
            raise ClientConfigError(
                f"Cannot read {path}: {exc.strerror}.", hint="Check its permissions."
            ) from exc
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ClientConfigError(
                f"{path} is not UTF-8 text.", hint="Fix the file; Switchboard leaves it untouched."
            ) from None
        encoding = _Encoding(bom=text.startswith("\ufeff"))
        if encoding.bom:
            text = text[1:]
        if "\r\n" in text and text.count("\n") == text.count("\r\n"):
            encoding = dataclasses.replace(encoding, crlf=True)
            text = text.replace("\r\n", "\n")
        return path, text, True, encoding

    def _editor(self, kind: ClientKind, text: str, path: Path) -> tuple[Editor, EntryBuilder]:
        """An editor on ``text`` at the container this file's shape calls for."""
        data = None
        if kind.shape is not None and kind.fmt is Format.JSON:
            data = parse_jsonc(text, str(path))
        container, entry = kind.resolve(data)
        editor = open_editor(kind.fmt, text, container, str(path), keyed_list=kind.keyed_list)
        return editor, entry

    def ours(self, kind: ClientKind) -> list[str]:
        path, text, _, _ = self._read(kind)
        with _unexpected(path):
            editor, _entry = self._editor(kind, text, path)
            entries = editor.entries()
        return sorted(n for n, e in entries.items() if is_ours(e, n, self.connect_command))

    def clients(self) -> list[ClientInfo]:
        connected = set(self.connected())
        out = []
        for kind in self.kinds.values():
            path = self.config_path(kind)
            installed = self.installed(kind)
            ours: tuple[str, ...] = ()
            error = ""
            if path.exists():
                try:
                    ours = tuple(self.ours(kind))
                except ClientConfigError as exc:
                    error = exc.message
            out.append(
                ClientInfo(
                    kind,
                    installed,
                    path,
                    kind.id in connected,
                    ours,
                    error,
                    tuple(self.groups_of(kind.id)) if kind.id in connected else (),
                )
            )
        return out

    # -- writing ------------------------------------------------------------------------
    def apply(
        self,
        kind: ClientKind,
        servers: Mapping[str, str],
        groups: Mapping[str, str] | None = None,
    ) -> SyncReport:
        """Make the client's config hold exactly Switchboard's ``servers``
        ({name: gateway URL}) and ``groups`` ({name: group URL}) among Switchboard's
        entries; other entries stay.

        Raises ClientConfigError (the file untouched) when the file cannot be edited.
        """
        with self._lock:
            path, text, exists, encoding = self._read(kind)
            with _unexpected(path):
                targets = self.targets(servers, groups)
                return self._apply(kind, targets, path, text, exists, encoding)

    def add_remote(self, client_id: str, name: str, url: str) -> SyncReport:
        """Write one entry ``name`` pointing at a remote MCP URL (a team's cluster,
        docs/team-cluster.md) beside whatever else the client has. Clients that take
        URLs get the URL (they sign in to the team's identity provider themselves);
        stdio-only clients get ``npx -y mcp-remote URL``, which signs in for them. The
        entry is not Switchboard's: later syncs and ``disconnect`` leave it alone. An
        entry of that name that is not the same URL is a conflict, never overwritten."""
        kind = self.kind(client_id)
        with self._lock:
            path, text, exists, encoding = self._read(kind)
            with _unexpected(path):
                editor, _ = self._editor(kind, text, path)
                old = editor.entries().get(name)
                if old is not None and url not in _strings(old):
                    return SyncReport(kind.id, path, conflicts=(name,), written=False)
                target = Target(name, url, (*MCP_REMOTE, url))
                return self._apply(kind, [target], path, text, exists, encoding, prune=False)

    def _apply(
        self,
        kind: ClientKind,
        targets: list[Target],
        path: Path,
        text: str,
        exists: bool,
        encoding: _Encoding,
        *,
        prune: bool = True,
    ) -> SyncReport:
        editor, build = self._editor(kind, text, path)
        created = self._created(kind.id, path) if exists else set()
        current = editor.entries()
        added: list[str] = []
        updated: list[str] = []
        unchanged: list[str] = []
        conflicts: list[str] = []
        removed: list[str] = []
        wanted = {t.name for t in targets}
        for target in targets:
            old = current.get(target.name)
            if prune and old is not None and not is_ours(old, target.name, self.connect_command):
                conflicts.append(target.name)
                continue
            if editor.put(target.name, build(target)):
                (updated if old is not None else added).append(target.name)
            else:
                unchanged.append(target.name)
        for name, entry in current.items():
            if (
                prune
                and name not in wanted
                and is_ours(entry, name, self.connect_command)
                and editor.remove(name, created)
            ):
                removed.append(name)
        new_text = editor.text()
        written = False
        backup = None
        if new_text != (text if exists else "") and (added or updated or removed):
            backup = self._write(path, encoding.encode(new_text), exists)
            written = True
        if written:
            still = any(is_ours(e, n, self.connect_command) for n, e in editor.entries().items())
            made = editor.created
            if not exists:
                # A file Switchboard starts from nothing keeps its JSON object and
                # container (clients read it); a YAML container still goes, since an
                # empty `key:` would read as null.
                made = {p for p in made if kind.fmt is Format.YAML and p.startswith("container")}
            self._set_created(kind.id, path, (created | made) if still else set())
        todo = ""
        names = [*added, *updated, *unchanged]
        if kind.after_connect and names:
            todo = kind.after_connect.format(names=", ".join(names))
        report = SyncReport(
            kind.id,
            path,
            tuple(added),
            tuple(updated),
            tuple(removed),
            tuple(unchanged),
            tuple(conflicts),
            written,
            backup,
            todo=todo,
        )
        if written:
            log.info("updated %s (%s): %s", kind.title, path, "; ".join(report.lines()))
        return report

    def _write(self, path: Path, data: bytes, exists: bool) -> Path | None:
        real = path.resolve() if path.is_symlink() else path
        mode = 0o600
        if exists:
            mode = stat.S_IMODE(os.stat(real).st_mode)
        backup = real.with_name(real.name + BACKUP_SUFFIX) if exists else None
        atomic_write(real, data, mode=mode, backup=backup)
        return backup

    def connect(
        self,
        client_id: str,
        servers: Mapping[str, str],
        *,
        group: str | None = None,
        groups: Mapping[str, str] | None = None,
    ) -> SyncReport:
        """Connect the client to every server in ``servers`` ({name: URL}); with
        ``group``, to that group instead (one entry named after it, its URL from
        ``groups``, {name: group URL}), beside the groups it was connected to before
        and in place of any per-server entries."""
        kind = self.kind(client_id)
        if group is None:
            report = self.apply(kind, servers)
            self._set_connected(kind.id, True)
            return report
        known = groups or {}
        if group not in known:
            raise ValidationError(
                f"Unknown group {group!r}.",
                hint="See 'switchboard group list'; create it with 'switchboard group create'.",
            )
        names = [*self._connected_groups(kind.id), group]
        report = self.apply(kind, {}, _pick(known, names))
        self._set_connected(kind.id, True, names)
        return report

    def disconnect(
        self,
        client_id: str,
        *,
        group: str | None = None,
        groups: Mapping[str, str] | None = None,
    ) -> SyncReport:
        """Take Switchboard out of the client; with ``group``, only that group's entry
        (the client stays connected to its other groups, URLs from ``groups``)."""
        kind = self.kind(client_id)
        if group is None:
            report = self.apply(kind, {})
            self._set_connected(kind.id, False)
            return report
        names = self._connected_groups(kind.id)
        if group not in names:
            raise ValidationError(
                f"{kind.title} is not connected to the group {group!r}.",
                hint="See 'switchboard client list'.",
            )
        names.remove(group)
        report = self.apply(kind, {}, _pick(groups or {}, names))
        self._set_connected(kind.id, bool(names), names)
        return report

    def _connected_groups(self, client_id: str) -> list[str]:
        return self.groups_of(client_id) if client_id in self.connected() else []

    def sync(
        self, servers: Mapping[str, str], groups: Mapping[str, str] | None = None
    ) -> list[SyncReport]:
        """Reconcile every connected client: those connected to groups get an entry per
        group of theirs that still exists (``groups``: {name: group URL}), the others one
        per server. One client's failure - whatever it is - is logged and reported for
        that client (``error``); the others still update."""
        reports = []
        for client_id in self.connected():
            kind = self.kind(client_id)
            try:
                names = self.groups_of(client_id)
                if names:
                    reports.append(self.apply(kind, {}, _pick(groups or {}, names)))
                else:
                    reports.append(self.apply(kind, servers))
            except Exception as exc:
                message = exc.message if isinstance(exc, SwitchboardError) else repr(exc)
                log.warning("could not update %s: %s", kind.title, message)
                reports.append(
                    SyncReport(kind.id, self.config_path(kind), error=message, written=False)
                )
        return reports


def _pick(groups: Mapping[str, str], names: Iterable[str]) -> dict[str, str]:
    """{name: URL} of those ``names`` that are among ``groups`` (a removed group's entry
    goes, as a removed server's does)."""
    return {n: groups[n] for n in names if n in groups}


@dataclasses.dataclass(frozen=True, slots=True)
class _Encoding:
    """How a config file stores its text, so a rewrite stores it the same way."""

    bom: bool = False
    crlf: bool = False

    def encode(self, text: str) -> bytes:
        if self.crlf:
            text = text.replace("\n", "\r\n")
        return (("\ufeff" if self.bom else "") + text).encode("utf-8")


@contextlib.contextmanager
def _unexpected(path: Path) -> Iterator[None]:
    """Turn a bug or an unforeseen file shape into a ClientConfigError naming the file
    (logged with its traceback), instead of a raw traceback for the person."""
    try:
        yield
    except SwitchboardError:
        raise
    except Exception as exc:
        log.exception("editing %s failed", path)
        raise ClientConfigError(
            f"Switchboard could not edit {path} ({type(exc).__name__}: {exc}); "
            "the file was left as it was.",
            hint="Add the servers by hand, or report this file's shape to Switchboard "
            "(the log has the details).",
        ) from exc
