"""Platforms without Unix sockets (Windows): the CLI reaches the engine over TCP, and every
connection must first prove (HMAC over a fresh nonce, keyed with the admin token) that it
reaches the engine. Emulated here by switching the private channel off."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from switchboard.auth import connect_client
from switchboard.control import channel, proof
from switchboard.control.client import ControlClient
from switchboard.core.errors import EngineNotRunning
from switchboard.core.paths import AppPaths
from switchboard.core.spec import ServerSpec
from switchboard.engine import Engine
from tests.conftest import fixture_cmd
from tests.helpers.keyrings import MemorySecretStore, RefusingKeyring


@pytest.fixture(autouse=True)
def no_unix_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    """What Windows looks like to the engine and the clients."""
    monkeypatch.setattr(channel, "AVAILABLE", False)


async def test_the_real_engine_proves_itself_over_tcp(engine: Engine) -> None:
    paths = engine.paths
    assert engine.listener is not None and engine.listener.private_socket is None
    cmd, args = fixture_cmd("echo_server.py")
    await engine.add_server(ServerSpec(name="echo", command=cmd, args=args))

    client = await asyncio.to_thread(ControlClient.connect, paths)
    try:
        info = await asyncio.to_thread(client.request, "GET", "/info")
        assert info["url"] == engine.base_url
    finally:
        client.close()
    for store in (engine.auth.secret_store, RefusingKeyring()):
        token = await asyncio.to_thread(
            connect_client.get_token, paths, "echo", secret_store=store, fresh=True
        )
        principal = await engine.auth.authenticate(
            server=engine.config.server("echo"),
            resource=engine.server_url("echo"),
            authorization=f"Bearer {token}",
        )
        assert principal.client_id == connect_client.CLIENT_ID

    # The check can fail: with another key the engine's answer does not verify.
    paths.admin_token_file.write_text("not-the-engine-key-" + "x" * 40)
    with pytest.raises(EngineNotRunning, match="could not prove it is Switchboard"):
        await asyncio.to_thread(ControlClient.connect, paths)


class Squatter:
    """Holds a port, records every byte, answers each request with a made-up proof."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.received = b""
        self._lock = threading.Lock()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                try:
                    data = conn.recv(65536)
                    with self._lock:
                        self.received += data
                    body = json.dumps({"proof": "0" * 64}).encode()
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        + f"Content-Length: {len(body)}\r\n\r\n".encode()
                        + body
                    )
                    more = conn.recv(65536)  # whatever the client sends next
                    with self._lock:
                        self.received += more
                except OSError:
                    pass

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def squatter() -> Iterator[Squatter]:
    s = Squatter()
    try:
        yield s
    finally:
        s.close()


def test_a_squatter_gets_only_the_challenge(tmp_path: Path, squatter: Squatter) -> None:
    paths = AppPaths.default(tmp_path / "home")
    paths.ensure()
    url = f"http://127.0.0.1:{squatter.port}"
    paths.endpoint_file.write_text(json.dumps({"url": url, "pid": None}))
    admin = "admin-token-" + "a" * 40
    secret = "first-party-secret-" + "s" * 30
    paths.admin_token_file.write_text(admin)
    key = f"{connect_client.SECRET_NAME}:{connect_client.home_key(paths)}"

    endpoint = channel.locate(paths)
    with pytest.raises(EngineNotRunning, match="could not prove"):
        # The PID check alone would pass (a live PID); the proof is what refuses.
        ControlClient(endpoint.url, admin, channel.transport(endpoint)).request("GET", "/info")
    for store in (MemorySecretStore({key: secret}), RefusingKeyring()):
        with pytest.raises(EngineNotRunning, match="could not prove"):
            connect_client.get_token(paths, "echo", secret_store=store, fresh=True)

    async def bridge_post() -> None:
        async with httpx.AsyncClient(transport=channel.async_transport(paths, url)) as http:
            await http.post(f"{url}/servers/echo/mcp", content=b'{"jsonrpc":"2.0"}')

    with pytest.raises(httpx.ConnectError, match="could not prove"):
        asyncio.run(bridge_post())

    got = squatter.received
    assert got.count(b"GET " + proof.PATH.encode() + b"?nonce=") == 4
    assert admin.encode() not in got and secret.encode() not in got
    assert b"authorization" not in got.lower() and b"jsonrpc" not in got
    assert b"/api/v1" not in got and b"/oauth/" not in got and b"/servers/" not in got
