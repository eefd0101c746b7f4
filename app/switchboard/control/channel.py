"""The engine's private channel: a Unix socket in a directory only this user can enter.

After an unclean exit the loopback port is free for anyone; a process of another local
user that binds it would receive whatever the CLI sends to the URL in ``engine.json``
(admin token, the first-party client secret, MCP traffic). So the CLI, ``switchboard
connect`` and the first-party token code never send those over TCP. They talk to the
engine over a Unix socket in :attr:`AppPaths.run_dir` and, before every connection,
check that

- the directory is owned by this user (euid) with no group/other permissions, so no
  other user can have created the socket in it (``lstat``: a symlink does not count);
- where the platform says who is on the other end (``SO_PEERCRED`` on Linux,
  ``LOCAL_PEERCRED`` on macOS/BSD), that peer runs as this user.

The engine serves the same ASGI app on that socket and refuses the control API and the
first-party client on TCP (:mod:`switchboard.control.tcpguard`).

Platforms without AF_UNIX (Windows): :data:`AVAILABLE` is False, the engine serves
everything on TCP, and each TCP connection must first prove it reaches the engine (an
HMAC over a fresh nonce keyed with the admin token, :mod:`switchboard.control.proof`)
before anything is sent on it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import socket
import stat
import struct
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from switchboard.control import proof
from switchboard.core.errors import EngineNotRunning, UntrustedChannel
from switchboard.core.paths import AppPaths

AVAILABLE = hasattr(socket, "AF_UNIX") and sys.platform != "win32"
"""Whether this platform has the private channel (Unix sockets)."""

NOT_RUNNING_HINT = "Start the app, or run 'switchboard serve' for the headless engine."


@dataclasses.dataclass(frozen=True, slots=True)
class Endpoint:
    """Where the running engine is. ``url`` is its loopback TCP base URL: it only *names*
    the engine (Host header, token audience); the bytes go through ``socket``."""

    url: str
    socket: Path | None
    pid: int | None = None
    key: str | None = None
    """Without a socket: the admin token, to check the engine's proof with."""


def locate(paths: AppPaths) -> Endpoint:
    """The engine of this home, from ``engine.json``; raises :class:`EngineNotRunning`
    when there is none and :class:`UntrustedChannel` when its directory is not private.
    Whether it really runs shows on the first connection (a stale file's socket refuses)."""
    try:
        data = json.loads(paths.endpoint_file.read_text("utf-8"))
        url = str(data["url"])
        pid = int(data["pid"]) if data.get("pid") is not None else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise EngineNotRunning("Switchboard is not running.", hint=NOT_RUNNING_HINT) from exc
    if not AVAILABLE:
        return Endpoint(url, None, pid, proof.read_key(paths.admin_token_file))
    # The socket's place follows from the home, not from the file (which may be stale).
    path = paths.control_socket
    check_private_dir(path.parent)
    return Endpoint(url, path, pid)


# -- checks ------------------------------------------------------------------------------
def check_private_dir(directory: Path) -> None:
    """Raise unless ``directory`` is a real directory owned by this user with mode 0700
    (no group/other bits): only then can nobody else have put a socket in it."""
    try:
        st = os.lstat(directory)
    except FileNotFoundError:
        raise EngineNotRunning(
            "Switchboard is not running (it has no socket directory yet).",
            hint=NOT_RUNNING_HINT,
        ) from None
    except OSError as exc:
        raise UntrustedChannel(
            f"Cannot inspect Switchboard's socket directory {directory}: {exc.strerror}.",
            hint="Check its permissions; it must belong to you with mode 0700.",
        ) from exc
    problem = _dir_problem(st)
    if problem:
        raise UntrustedChannel(
            f"Switchboard's socket directory {directory} {problem}; "
            "refusing to send credentials through it.",
            hint=f"Remove it (another user may have created it) and restart Switchboard, "
            f"or make it yours with 'chmod 700 {directory}'.",
        )


def _dir_problem(st: os.stat_result) -> str:
    if not stat.S_ISDIR(st.st_mode):
        return "is not a directory"
    if st.st_uid != os.geteuid():
        return f"belongs to another user (uid {st.st_uid})"
    if st.st_mode & 0o077:
        return f"is open to other users (mode {stat.S_IMODE(st.st_mode):04o})"
    return ""


def peer_uid(sock: socket.socket) -> int | None:
    """The uid of the process on the other end of a Unix socket, when the OS says."""
    if hasattr(socket, "SO_PEERCRED"):  # Linux: struct ucred {pid, uid, gid}
        data = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        return int(struct.unpack("3i", data)[1])
    local_peercred = getattr(socket, "LOCAL_PEERCRED", None)
    if local_peercred is not None:  # macOS/BSD: struct xucred {u_int version; uid_t uid; ...}
        data = sock.getsockopt(0, local_peercred, struct.calcsize("2Ih16I"))  # SOL_LOCAL
        return int(struct.unpack_from("2I", data)[1])
    return None


def verify_peer(sock: socket.socket) -> None:
    """Raise :class:`UntrustedChannel` unless the peer runs as this user."""
    try:
        uid = peer_uid(sock)
    except OSError as exc:
        raise UntrustedChannel(
            f"Cannot tell who holds Switchboard's socket: {exc.strerror}.",
            hint="Restart Switchboard.",
        ) from exc
    if uid is not None and uid != os.geteuid():
        raise UntrustedChannel(
            f"Switchboard's socket is held by another user (uid {uid}); "
            "refusing to send credentials to it.",
            hint="Stop that process and restart Switchboard.",
        )


# -- engine side -------------------------------------------------------------------------
def make_private_dir(directory: Path) -> None:
    """Create ``directory`` (and, for the /tmp fallback, its parent) 0700 and owned by us;
    refuse one that another user owns."""
    for d in (directory.parent, directory):
        with contextlib.suppress(FileExistsError):
            d.mkdir(mode=0o700)
        st = os.lstat(d)
        if stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid() and st.st_mode & 0o077:
            os.chmod(d, 0o700)
            st = os.lstat(d)
        problem = _dir_problem(st)
        if problem:
            raise UntrustedChannel(
                f"Switchboard's socket directory {d} {problem}.",
                hint="Remove it (another user may have created it) and start again.",
            )


def bind_private_socket(path: Path) -> socket.socket:
    """The engine's listening Unix socket at ``path`` (a stale one is replaced: the home
    lock says no other engine of this home runs)."""
    make_private_dir(path.parent)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(str(path))
        os.chmod(path, 0o600)
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


# -- client side: httpx transports that check before they send ----------------------------
class _SyncBackend(httpcore.SyncBackend):
    def __init__(self, path: Path) -> None:
        self._path = path

    def connect_tcp(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("The private channel does not use TCP.")

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        from httpcore._backends.sync import SyncStream

        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            check_private_dir(self._path.parent)
            sock.settimeout(timeout)
            sock.connect(str(self._path))
            verify_peer(sock)
        except TimeoutError as exc:
            sock.close()
            raise httpcore.ConnectTimeout(str(exc)) from exc
        except (OSError, UntrustedChannel, EngineNotRunning) as exc:
            sock.close()  # httpcore's own backend leaves it open on a refused connect
            raise httpcore.ConnectError(str(exc)) from exc
        return SyncStream(sock)


class _AsyncBackend(httpcore.AnyIOBackend):
    def __init__(self, path: Path) -> None:
        self._path = path

    async def connect_tcp(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("The private channel does not use TCP.")

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.AsyncNetworkStream:
        try:
            check_private_dir(self._path.parent)
        except (UntrustedChannel, EngineNotRunning) as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        stream = await super().connect_unix_socket(str(self._path), timeout, socket_options)
        try:
            verify_peer(stream.get_extra_info("socket"))
        except UntrustedChannel as exc:
            await stream.aclose()
            raise httpcore.ConnectError(str(exc)) from exc
        return stream


class PrivateTransport(httpx.HTTPTransport):
    """Blocking httpx transport over the engine's socket only (never TCP); checks the
    directory and the peer on every new connection."""

    def __init__(self, path: Path) -> None:
        super().__init__(uds=str(path), trust_env=False)
        self._pool = httpcore.ConnectionPool(uds=str(path), network_backend=_SyncBackend(path))


class AsyncPrivateTransport(httpx.AsyncHTTPTransport):
    """The asyncio twin of :class:`PrivateTransport` (``switchboard connect``)."""

    def __init__(self, path: Path) -> None:
        super().__init__(uds=str(path), trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            uds=str(path), network_backend=_AsyncBackend(path)
        )


def transport(endpoint: Endpoint) -> httpx.BaseTransport:
    """The blocking transport to reach ``endpoint``: its socket, else proven TCP."""
    if endpoint.socket is not None:
        return PrivateTransport(endpoint.socket)
    return proof.ProvenTransport(endpoint.url, endpoint.key or "")


def async_transport(paths: AppPaths, url: str) -> httpx.AsyncBaseTransport:
    """The asyncio transport to the engine of ``paths`` (whose base URL is ``url``), for
    ``switchboard connect``: usable before the engine runs (it then refuses per request)."""
    if AVAILABLE:
        return AsyncPrivateTransport(paths.control_socket)
    parts = urlsplit(url)
    base = f"{parts.scheme}://{parts.netloc}"
    return proof.AsyncProvenTransport(base, proof.read_key(paths.admin_token_file) or "")


__all__ = [
    "AVAILABLE",
    "AsyncPrivateTransport",
    "Endpoint",
    "PrivateTransport",
    "bind_private_socket",
    "check_private_dir",
    "locate",
    "peer_uid",
    "verify_peer",
]
