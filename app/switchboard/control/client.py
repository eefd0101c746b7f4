"""The CLI's side of the control API: find the running engine and call it."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import httpx

from switchboard.control import channel
from switchboard.core.errors import ControlAPIError, EngineNotRunning
from switchboard.core.paths import AppPaths


class ControlClient:
    """Blocking client (the CLI is synchronous). ``connect`` raises EngineNotRunning.

    :meth:`connect` talks over the engine's private Unix socket only (see
    :mod:`switchboard.control.channel`; without Unix sockets: TCP connections on which the
    engine proved itself first, :mod:`switchboard.control.proof`): the admin token never
    goes to whatever holds the TCP port."""

    def __init__(self, base_url: str, token: str, transport: httpx.BaseTransport | None = None):
        self.base_url = base_url
        self._http = httpx.Client(
            base_url=f"{base_url}/api/v1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(30.0, read=None),
            transport=transport,
            trust_env=False,
        )

    @classmethod
    def connect(cls, paths: AppPaths) -> ControlClient:
        endpoint = channel.locate(paths)
        try:
            token = paths.admin_token_file.read_text("utf-8").strip()
        except OSError as exc:
            raise EngineNotRunning(
                "Switchboard is not running (its admin token is unreadable).",
                hint="Run this as the user who runs Switchboard, or start it.",
            ) from exc
        # Without a socket: a quick PID check here, the engine's proof on each connection.
        if endpoint.socket is None and not _pid_alive(endpoint.pid):
            raise EngineNotRunning(
                "Switchboard is not running (a stale endpoint file was left behind).",
                hint="Start the app, or run 'switchboard serve'.",
            )
        client = cls(endpoint.url, token, transport=channel.transport(endpoint))
        try:
            client.request("GET", "/info")
        except EngineNotRunning:
            client.close()
            raise
        return client

    def request(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        try:
            resp = self._http.request(
                method, path, json=body, params={k: v for k, v in params.items() if v is not None}
            )
        except httpx.TransportError as exc:
            raise EngineNotRunning(
                f"Switchboard is not running (could not reach it: {exc}).",
                hint="Start the app, or run 'switchboard serve'.",
            ) from exc
        if resp.status_code >= 400:
            raise _error(resp)
        if resp.status_code == 204 or not resp.content:
            return None
        return resp.json()

    def stream_lines(self, path: str, **params: Any) -> Iterator[dict[str, Any]]:
        try:
            with self._http.stream("GET", path, params=params) as resp:
                if resp.status_code >= 400:
                    resp.read()
                    raise _error(resp)
                for line in resp.iter_lines():
                    if line.strip():
                        yield json.loads(line)
        except httpx.TransportError as exc:
            raise EngineNotRunning(
                "The connection to Switchboard was lost.", hint="Is it still running?"
            ) from exc

    def __enter__(self) -> ControlClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()


def _error(resp: httpx.Response) -> ControlAPIError:
    try:
        data = resp.json()
        return ControlAPIError(
            str(data.get("message", resp.text)),
            hint=str(data.get("hint", "")),
            status=resp.status_code,
        )
    except ValueError:
        return ControlAPIError(
            f"Switchboard answered HTTP {resp.status_code}.",
            hint="See its log.",
            status=resp.status_code,
        )


def _pid_alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
