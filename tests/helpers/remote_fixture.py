"""A "remote" MCP server on loopback, built from the Python ``mcp`` SDK's server-side
auth: an in-memory ``OAuthAuthorizationServerProvider`` behind ``MCPServer``'s auth
routes (RFC 8414 metadata, RFC 7591 registration, PKCE S256 authorize/token, RFC 7009
revocation, RFC 9728 protected resource metadata) and its bearer middleware.

Test switches: ``token_ttl`` (short upstream access tokens), ``revoke_all()``
(consent revoked upstream: every access and refresh token stops working),
``down`` (answers 503), and ``log``: every request the server got (method, path,
headers), so tests can assert what reached it and what did not.

The "browser" is scripted: :func:`scripted_browser` follows the authorize redirect
with httpx (the provider approves at once, as a person who clicks "Allow" would).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import secrets
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import uvicorn
from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    RefreshToken,
    construct_redirect_uri,
)
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions, RevocationOptions
from mcp.server.mcpserver import MCPServer
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from pydantic import AnyHttpUrl, AnyUrl
from starlette.types import ASGIApp, Receive, Scope, Send

SCOPE = "mcp:tools"


@dataclasses.dataclass
class Logged:
    method: str
    path: str
    headers: dict[str, str]


class LoopbackClient(OAuthClientInformationFull):
    """A client registered by hand whose loopback redirect may use any port, as RFC 8252
    §7.3 asks of authorization servers for native apps."""

    def validate_redirect_uri(self, redirect_uri: AnyUrl | None) -> AnyUrl:
        if redirect_uri is not None and redirect_uri.host == "127.0.0.1":
            for known in self.redirect_uris or []:
                if known.host == "127.0.0.1" and known.path == redirect_uri.path:
                    return redirect_uri
        return super().validate_redirect_uri(redirect_uri)


MANUAL_CLIENT_ID = "switchboard-by-hand"
MANUAL_CLIENT_SECRET = "hand-made secret/+="


class Provider:
    """An in-memory authorization server that approves every authorize request."""

    def __init__(self, token_ttl: int) -> None:
        self.token_ttl = token_ttl
        self.clients: dict[str, OAuthClientInformationFull] = {}
        self.codes: dict[str, AuthorizationCode] = {}
        self.access: dict[str, AccessToken] = {}
        self.refresh: dict[str, RefreshToken] = {}
        self.issued: list[str] = []
        """Every access and refresh token ever issued (tests look for them elsewhere)."""
        self.refreshes = 0
        self.registrations = 0
        self.grant_scopes: list[str] | None = None
        """When set: the scopes every new token gets, whatever was asked (a person who
        unticked permissions on the provider's consent page)."""
        self.clients[MANUAL_CLIENT_ID] = LoopbackClient(
            client_id=MANUAL_CLIENT_ID,
            client_secret=MANUAL_CLIENT_SECRET,
            token_endpoint_auth_method="client_secret_basic",
            redirect_uris=[AnyUrl("http://127.0.0.1/callback")],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            scope=SCOPE,
        )

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        return self.clients.get(client_id)

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        assert client_info.client_id is not None
        self.registrations += 1
        self.clients[client_info.client_id] = client_info

    async def authorize(
        self, client: OAuthClientInformationFull, params: AuthorizationParams
    ) -> str:
        code = secrets.token_urlsafe(24)
        self.codes[code] = AuthorizationCode(
            code=code,
            scopes=params.scopes or [SCOPE],
            expires_at=time.time() + 300,
            client_id=client.client_id or "",
            code_challenge=params.code_challenge,
            redirect_uri=params.redirect_uri,
            redirect_uri_provided_explicitly=params.redirect_uri_provided_explicitly,
            resource=params.resource,
            subject="alice@example.test",
        )
        return construct_redirect_uri(str(params.redirect_uri), code=code, state=params.state)

    async def load_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: str
    ) -> AuthorizationCode | None:
        return self.codes.get(authorization_code)

    def _issue(self, client_id: str, scopes: list[str], resource: str | None) -> OAuthToken:
        if self.grant_scopes is not None:
            scopes = list(self.grant_scopes)
        access, refresh = f"up-at-{secrets.token_urlsafe(16)}", f"up-rt-{secrets.token_urlsafe(16)}"
        expires = int(time.time()) + self.token_ttl
        self.access[access] = AccessToken(
            token=access, client_id=client_id, scopes=scopes, expires_at=expires, resource=resource
        )
        self.refresh[refresh] = RefreshToken(
            token=refresh, client_id=client_id, scopes=scopes, resource=resource
        )
        self.issued += [access, refresh]
        return OAuthToken(
            access_token=access,
            expires_in=self.token_ttl,
            scope=" ".join(scopes),
            refresh_token=refresh,
        )

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: AuthorizationCode
    ) -> OAuthToken:
        self.codes.pop(authorization_code.code, None)
        return self._issue(
            client.client_id or "", authorization_code.scopes, authorization_code.resource
        )

    async def load_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: str
    ) -> RefreshToken | None:
        return self.refresh.get(refresh_token)

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: RefreshToken, scopes: list[str]
    ) -> OAuthToken:
        self.refreshes += 1
        self.refresh.pop(refresh_token.token, None)  # rotation
        return self._issue(
            client.client_id or "", scopes or refresh_token.scopes, refresh_token.resource
        )

    async def load_access_token(self, token: str) -> AccessToken | None:
        return self.access.get(token)

    async def revoke_token(self, token: AccessToken | RefreshToken) -> None:
        self.access.pop(token.token, None)
        self.refresh.pop(token.token, None)

    async def exchange_identity_assertion(self, *args: Any, **kwargs: Any) -> OAuthToken:
        raise NotImplementedError


class _Log:
    """ASGI middleware: records each request, answers 503 while ``down``."""

    def __init__(self, app: ASGIApp, fixture: RemoteFixture) -> None:
        self.app = app
        self.fixture = fixture

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            self.fixture.log.append(Logged(scope["method"], scope["path"], headers))
            sid = headers.get("mcp-session-id")
            if sid is not None:
                self.fixture.sessions.add(sid)
                if sid in self.fixture.dropped and scope["method"] == "POST":
                    # Restarted: it no longer knows the session (MCP: answer 404).
                    await send({"type": "http.response.start", "status": 404, "headers": []})
                    await send({"type": "http.response.body", "body": b"unknown session"})
                    return
            if self.fixture.down and scope["path"].startswith(("/mcp", "/sse", "/messages")):
                await send({"type": "http.response.start", "status": 503, "headers": []})
                await send({"type": "http.response.body", "body": b"down"})
                return
            if scope["path"].startswith(("/mcp", "/sse", "/messages")):
                # Every MCP answer sets a cookie: it must never reach a client.
                async def send_with_cookie(message: Any) -> None:
                    if message["type"] == "http.response.start":
                        headers = [*message.get("headers", []), (b"set-cookie", COOKIE)]
                        message = {**message, "headers": headers}
                    await send(message)

                await self.app(scope, receive, send_with_cookie)
                return
        await self.app(scope, receive, send)


COOKIE = b"upstream-session=up-cookie-0123456789; Path=/; HttpOnly"


class RemoteFixture:
    """The running fixture server (see the module docstring)."""

    def __init__(self, token_ttl: int = 3600, *, dcr: bool = True, legacy: bool = False) -> None:
        self.provider = Provider(token_ttl)
        self.log: list[Logged] = []
        self.down = False
        self.sessions: set[str] = set()
        self.dropped: set[str] = set()
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.url = f"{self.base}/sse" if legacy else f"{self.base}/mcp"
        """The MCP endpoint: Streamable HTTP, or the legacy HTTP+SSE stream."""
        server = MCPServer(
            "remote-fixture",
            auth_server_provider=self.provider,
            auth=AuthSettings(
                issuer_url=AnyHttpUrl(self.base),
                resource_server_url=AnyHttpUrl(self.url),
                validate_token_resource=True,
                client_registration_options=ClientRegistrationOptions(
                    enabled=dcr, valid_scopes=[SCOPE], default_scopes=[SCOPE]
                ),
                revocation_options=RevocationOptions(enabled=True),
                required_scopes=[SCOPE],
            ),
        )

        @server.tool()
        def echo(message: str) -> str:
            """Echo the message back (the argument name server-everything's echo has)."""
            return f"remote:{message}"

        @server.tool()
        def add(a: int, b: int) -> int:
            """Add two numbers."""
            return a + b

        self.mcp = server
        app = (
            server.sse_app(host="127.0.0.1")
            if legacy
            else server.streamable_http_app(host="127.0.0.1")
        )
        self._app = _Log(app, self)
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    def drop_sessions(self) -> None:
        """As if the server restarted: every session seen so far is unknown (404)."""
        self.dropped |= self.sessions

    def revoke_all(self) -> None:
        """The person revoked Switchboard's access at the provider."""
        self.provider.access.clear()
        self.provider.refresh.clear()

    def mcp_requests(self) -> list[Logged]:
        return [e for e in self.log if e.path.startswith(("/mcp", "/sse", "/messages"))]

    async def start(self) -> None:
        config = uvicorn.Config(
            self._app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.get_running_loop().create_task(self._server.serve())
        for _ in range(400):
            if self._server.started:
                return
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)
        raise RuntimeError("the remote fixture did not start")

    async def aclose(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._task, 10)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class ScriptedBrowser:
    """Opens the authorize URL with httpx and follows redirects to the loopback
    callback, as the person's browser would after they click "Allow"."""

    def __init__(self) -> None:
        self.opened: list[str] = []

    async def __call__(self, url: str) -> None:
        self.opened.append(url)
        task = asyncio.get_running_loop().create_task(self._follow(url))
        _TASKS.add(task)
        task.add_done_callback(_TASKS.discard)

    async def _follow(self, url: str) -> None:
        async with httpx.AsyncClient(follow_redirects=True, trust_env=False, timeout=30) as http:
            await http.get(url)


_TASKS: set[asyncio.Task[None]] = set()


@contextlib.asynccontextmanager
async def remote_fixture(
    token_ttl: int = 3600, *, dcr: bool = True, legacy: bool = False
) -> AsyncIterator[RemoteFixture]:
    fixture = RemoteFixture(token_ttl, dcr=dcr, legacy=legacy)
    await fixture.start()
    try:
        yield fixture
    finally:
        await fixture.aclose()


__all__ = [
    "COOKIE",
    "MANUAL_CLIENT_ID",
    "MANUAL_CLIENT_SECRET",
    "SCOPE",
    "RemoteFixture",
    "ScriptedBrowser",
    "remote_fixture",
]
