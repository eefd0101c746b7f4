"""The private channel's checks one by one: directory owner/mode, the peer's uid, the
long-home fallback, and the TCP guard in front of the owner's paths."""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from switchboard.control import channel
from switchboard.control.client import ControlClient
from switchboard.control.tcpguard import TCPGuard
from switchboard.core.errors import EngineNotRunning, UntrustedChannel
from switchboard.core.paths import MAX_SOCKET_PATH, AppPaths
from tests.conftest import make_test_engine

pytestmark = pytest.mark.skipif(not channel.AVAILABLE, reason="Unix sockets only")

as_root = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="needs root and setpriv to act as another user",
)
NOBODY = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"]


def test_private_dir_checks(tmp_path: Path) -> None:
    with pytest.raises(EngineNotRunning, match="not running"):
        channel.check_private_dir(tmp_path / "missing")
    good = tmp_path / "good"
    good.mkdir(mode=0o700)
    channel.check_private_dir(good)
    os.chmod(good, 0o750)
    with pytest.raises(UntrustedChannel, match="open to other users"):
        channel.check_private_dir(good)
    os.chmod(good, 0o700)
    link = tmp_path / "link"
    link.symlink_to(good)
    with pytest.raises(UntrustedChannel, match="not a directory"):
        channel.check_private_dir(link)
    afile = tmp_path / "file"
    afile.write_text("")
    with pytest.raises(UntrustedChannel, match="not a directory"):
        channel.check_private_dir(afile)


@as_root
def test_a_directory_of_another_user_is_refused_by_client_and_engine(tmp_path: Path) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o700)
    os.chown(theirs, 65534, 65534)
    with pytest.raises(UntrustedChannel, match="belongs to another user"):
        channel.check_private_dir(theirs)
    # The /tmp fallback: a squatter created switchboard-<uid> first; the engine refuses.
    with pytest.raises(UntrustedChannel, match="belongs to another user"):
        channel.bind_private_socket(theirs / "digest" / "engine.sock")
    assert not (theirs / "digest").exists()


def test_the_engine_makes_its_directory_private(tmp_path: Path) -> None:
    run = tmp_path / "data" / "run"
    run.parent.mkdir()
    run.mkdir(mode=0o755)
    os.chmod(run, 0o755)
    sock = channel.bind_private_socket(run / "engine.sock")
    try:
        assert (run.stat().st_mode & 0o777) == 0o700
        assert ((run / "engine.sock").stat().st_mode & 0o777) == 0o600
    finally:
        sock.close()


def test_peer_uid_is_ours_on_a_socketpair() -> None:
    a, b = socket.socketpair(socket.AF_UNIX)
    with a, b:
        assert channel.peer_uid(a) == os.geteuid()
        channel.verify_peer(a)


@as_root
def test_a_socket_served_by_another_user_is_refused(tmp_path: Path) -> None:
    # Our directory, our socket file, but the process that listens on it runs as nobody:
    # the peer check (SO_PEERCRED) is what refuses it.
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    path = run / "engine.sock"
    bound = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    bound.bind(str(path))
    listener = subprocess.Popen(
        [
            *NOBODY,
            "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable,
            "-I",
            "-c",
            "import socket,sys\n"
            "s=socket.socket(fileno=int(sys.argv[1]))\ns.listen(8)\nprint('ok',flush=True)\n"
            "while True:\n c,_=s.accept()\n c.recv(65536)\n c.close()\n",
            str(bound.fileno()),
        ],
        pass_fds=(bound.fileno(),),
        stdout=subprocess.PIPE,
        text=True,
        cwd="/",
    )
    bound.close()
    try:
        assert listener.stdout is not None and listener.stdout.readline().strip() == "ok"
        raw = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        with raw:
            raw.connect(str(path))
            assert channel.peer_uid(raw) == 65534
            with pytest.raises(UntrustedChannel, match="another user"):
                channel.verify_peer(raw)
        with (
            httpx.Client(transport=channel.PrivateTransport(path)) as http,
            pytest.raises(httpx.ConnectError, match="another user"),
        ):
            http.get("http://127.0.0.1/api/v1/info", headers={"authorization": "Bearer x"})
    finally:
        listener.kill()
        listener.communicate()


async def test_a_long_home_puts_the_socket_in_a_private_tmp_dir(tmp_path: Path) -> None:
    paths = AppPaths.default(tmp_path / ("h" * 90))
    assert len(os.fsencode(paths.data_dir / "run" / "engine.sock")) > MAX_SOCKET_PATH
    assert len(os.fsencode(paths.control_socket)) <= MAX_SOCKET_PATH
    assert paths.control_socket.parent.parent.name == f"switchboard-{os.geteuid()}"
    engine = make_test_engine(paths)
    await engine.start()
    try:
        client = await asyncio.to_thread(ControlClient.connect, paths)
        try:
            info = await asyncio.to_thread(client.request, "GET", "/info")
            assert info["url"] == engine.base_url
        finally:
            client.close()
    finally:
        await engine.aclose()
    assert not paths.control_socket.exists()


# -- the TCP guard -----------------------------------------------------------------------
async def _call(app: Any, path: str, server: tuple[Any, Any], auth: str | None = None) -> int:
    headers = [(b"host", b"127.0.0.1:8765")]
    if auth:
        headers.append((b"authorization", auth.encode()))
    scope = {"type": "http", "method": "POST", "path": path, "headers": headers}
    scope["server"] = server
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return int(sent[0]["status"])


async def _ok(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def _basic(user: str, secret: str = "s") -> str:
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


async def test_tcp_guard() -> None:
    guard = TCPGuard(_ok, "switchboard-cli")
    tcp, uds = ("127.0.0.1", 8765), ("/run/x/engine.sock", None)
    assert await _call(guard, "/api/v1/info", tcp, "Bearer admin") == 403
    assert await _call(guard, "/api/v1", tcp) == 403
    assert await _call(guard, "/api/v1/info", uds, "Bearer admin") == 200
    assert await _call(guard, "/oauth/token", tcp, _basic("switchboard-cli")) == 401
    assert await _call(guard, "/oauth/token", tcp, _basic("switchboard%2Dcli")) == 401
    assert await _call(guard, "/oauth/revoke", tcp, _basic("switchboard-cli")) == 401
    assert await _call(guard, "/oauth/token", uds, _basic("switchboard-cli")) == 200
    assert await _call(guard, "/oauth/token", tcp, _basic("someone-else")) == 200
    assert await _call(guard, "/oauth/token", tcp) == 200
    assert await _call(guard, "/servers/x/mcp", tcp, "Bearer t") == 200
    assert await _call(TCPGuard(_ok, "switchboard-cli", enabled=False), "/api/v1", tcp) == 200
