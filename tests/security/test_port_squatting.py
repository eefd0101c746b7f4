"""Issue 10.1: after a ``kill -9`` of the engine another local user binds its port. The CLI,
``switchboard connect`` and the first-party token code must send that process nothing:
no client secret, no admin token, no Authorization header, no MCP bytes."""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from switchboard.auth import connect_client
from switchboard.control.client import ControlClient
from switchboard.core.errors import EngineNotRunning, UntrustedChannel
from switchboard.core.paths import AppPaths
from tests.conftest import fixture_cmd
from tests.helpers.engine_process import ENGINE_ENV, serve, wait_ready
from tests.helpers.keyrings import MemorySecretStore, RefusingKeyring

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="Unix sockets only"),
]

# No keyring in the engine or the CLI processes: the first-party secret goes to the
# owner-only file, and ``connect`` takes the admin-token path.
ENV = ENGINE_ENV

# The squatter: accepts every connection, records every byte (hex lines on stdout),
# and answers 401 so a client that talks to it would go on to fetch a token.
SQUATTER = r"""
import socket, sys, threading
port = int(sys.argv[1])
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(64)
print("listening", flush=True)
lock = threading.Lock()
def serve(conn):
    conn.settimeout(5)
    try:
        while True:
            data = conn.recv(65536)
            if not data:
                break
            with lock:
                print(data.hex(), flush=True)
            if b"\r\n\r\n" in data:
                conn.sendall(b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\n"
                             b"Content-Type: application/json\r\nContent-Length: 2\r\n"
                             b"Connection: close\r\n\r\n{}")
                break
    except OSError:
        pass
    finally:
        conn.close()
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
"""


def _other_user_prefix() -> list[str]:
    """Run as nobody when we are root (CI); a plain second process otherwise."""
    if os.geteuid() == 0 and shutil.which("setpriv"):
        return ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"]
    return []


def _cli(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "switchboard", "--home", str(home), *args],
        capture_output=True,
        text=True,
        timeout=60,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        env=ENV,
    )


class Squatter:
    def __init__(self, port: int) -> None:
        # A Python the other user may run (the venv's may sit in root's home).
        system = Path("/usr/bin/python3")
        python = str(system) if system.exists() else os.path.realpath(sys.executable)
        self.proc = subprocess.Popen(
            [*_other_user_prefix(), python, "-I", "-c", SQUATTER, str(port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd="/",
        )
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline()
        if first.strip() != "listening":
            self.proc.kill()
            _, err = self.proc.communicate()
            raise AssertionError(f"squatter did not start: {first!r} {err}")
        self.port = port

    def received(self) -> bytes:
        """Everything it got, after it was stopped."""
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=10)
        return b"".join(bytes.fromhex(line) for line in out.split() if line)


@pytest.fixture
def squatted(tmp_path: Path) -> Iterator[tuple[Path, Squatter]]:
    """A home whose engine was SIGKILLed and whose port another user now holds."""
    home = tmp_path / "home"
    cmd, args = fixture_cmd("echo_server.py")
    assert _cli(home, "add", "echo", "--", cmd, *args).returncode == 0
    engine = serve(home)
    try:
        url = wait_ready(engine)
        engine.send_signal(signal.SIGKILL)
        engine.wait()
    finally:
        if engine.poll() is None:
            engine.kill()
            engine.wait()
        if engine.stdout is not None:
            engine.stdout.close()
    # What a killed engine leaves behind: engine.json (and its socket file).
    assert json.loads((home / "data" / "engine.json").read_text())["url"] == url
    squatter = Squatter(int(url.rsplit(":", 1)[1]))
    try:
        # The squatter does record what reaches it (the test could not pass vacuously).
        with socket.create_connection(("127.0.0.1", squatter.port), timeout=5) as probe:
            probe.sendall(b"PROBE")
        yield home, squatter
    finally:
        if squatter.proc.returncode is None:
            squatter.proc.kill()
            squatter.proc.communicate()


def test_nothing_secret_reaches_a_process_squatting_the_port(
    squatted: tuple[Path, Squatter],
) -> None:
    home, squatter = squatted
    paths = AppPaths.default(home)
    admin = paths.admin_token_file.read_text().strip()
    secret = (paths.config_dir / "firstparty-secret").read_text().strip()
    key = f"{connect_client.SECRET_NAME}:{connect_client.home_key(paths)}"

    init = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "0"},
            },
        }
    )
    connect = _cli(home, "connect", "echo", stdin=init + "\n")
    closed = _cli(home, "connect", "echo", stdin="")  # stdin closed at once
    listing = _cli(home, "list")
    status = _cli(home, "status")
    errors: list[BaseException] = []
    for store in (MemorySecretStore({key: secret}), RefusingKeyring()):
        try:
            connect_client.get_token(paths, "echo", secret_store=store, fresh=True)
        except Exception as exc:
            errors.append(exc)
    try:
        ControlClient.connect(paths)
    except Exception as exc:
        errors.append(exc)

    got = squatter.received()
    assert got.startswith(b"PROBE")
    leaked = got[len(b"PROBE") :]
    basic = base64.b64encode(f"{connect_client.CLIENT_ID}:{secret}".encode())
    assert basic not in leaked, "the first-party client secret (Basic) reached the squatter"
    assert secret.encode() not in leaked, "the first-party client secret reached the squatter"
    assert admin.encode() not in leaked, "the admin token reached the squatter"
    assert b"authorization" not in leaked.lower(), "an Authorization header reached it"
    assert b"jsonrpc" not in leaked and b"initialize" not in leaked, "MCP bytes reached it"
    assert leaked == b"", f"the squatter received {leaked[:200]!r}"

    # Every command says plainly that Switchboard is not running.
    assert closed.returncode == 0 and closed.stdout == ""
    reply = json.loads(connect.stdout.splitlines()[0])
    assert reply["id"] == 1 and "not running" in reply["error"]["message"]
    assert "not running" in listing.stdout
    assert status.returncode == 1 and "not running" in status.stderr
    assert len(errors) == 3
    assert all(isinstance(e, EngineNotRunning) for e in errors), errors
    assert all("not running" in str(e) for e in errors), errors


def test_a_socket_directory_that_is_not_private_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "home"
    engine = serve(home)
    try:
        wait_ready(engine)
        paths = AppPaths.default(home)
        run_dir = paths.control_socket.parent
        ControlClient.connect(paths).close()  # the real engine: fine

        os.chmod(run_dir, 0o755)
        with pytest.raises(UntrustedChannel, match="open to other users"):
            ControlClient.connect(paths)
        with pytest.raises(UntrustedChannel, match="open to other users"):
            connect_client.get_token(paths, "x", secret_store=RefusingKeyring(), fresh=True)
        out = _cli(home, "list")
        assert out.returncode == 1 and "refusing to send credentials" in out.stderr

        os.chmod(run_dir, 0o700)
        if os.geteuid() == 0:
            os.chown(run_dir, 65534, 65534)
            with pytest.raises(UntrustedChannel, match="belongs to another user"):
                ControlClient.connect(paths)
            os.chown(run_dir, 0, 0)
        ControlClient.connect(paths).close()
    finally:
        engine.send_signal(signal.SIGTERM)
        try:
            engine.wait(timeout=30)
        finally:
            if engine.poll() is None:
                engine.kill()
                engine.wait()
            if engine.stdout is not None:
                engine.stdout.close()


def test_control_api_and_first_party_client_are_refused_on_tcp(tmp_path: Path) -> None:
    import httpx

    home = tmp_path / "home"
    engine = serve(home)
    try:
        url = wait_ready(engine)
        paths = AppPaths.default(home)
        admin = paths.admin_token_file.read_text().strip()
        secret = (paths.config_dir / "firstparty-secret").read_text().strip()
        with httpx.Client(trust_env=False, timeout=30) as http:
            r = http.get(f"{url}/api/v1/info", headers={"Authorization": f"Bearer {admin}"})
            assert r.status_code == 403 and "private socket" in r.json()["message"]
            r = http.post(
                f"{url}/oauth/token",
                data={"grant_type": "client_credentials", "scope": "mcp"},
                auth=(connect_client.CLIENT_ID, secret),
            )
            assert r.status_code == 401 and r.json()["error"] == "invalid_client"
            assert http.get(f"{url}/healthz").status_code == 200
        # The same requests over the socket work.
        client = ControlClient.connect(paths)
        try:
            assert client.request("GET", "/info")["url"] == url
        finally:
            client.close()
    finally:
        engine.send_signal(signal.SIGTERM)
        try:
            engine.wait(timeout=30)
        finally:
            if engine.poll() is None:
                engine.kill()
                engine.wait()
            if engine.stdout is not None:
                engine.stdout.close()
