"""The remote-server service the engine holds: builds :class:`RemoteServer` objects
for the supervisor and runs sign-in / sign-out.

Built by the composition root with its seams: the keyring-backed secret store (tokens
live there only), the resolver of header secrets, the browser opener, the HTTP
transport and the clock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import httpx

from switchboard.core.errors import AuthError, SwitchboardError
from switchboard.core.events import EventBus
from switchboard.core.spec import ServerSpec
from switchboard.core.state import ServerState
from switchboard.remote.credentials import HeaderResolver
from switchboard.remote.oauth import Browser, OAuthClient, system_browser
from switchboard.remote.server import RemoteServer
from switchboard.remote.stream import settle_background
from switchboard.remote.vault import SecretBackend, Vault
from switchboard.supervisor.process import ManagedServer

log = logging.getLogger("switchboard.remote")

USER_AGENT = "Switchboard (MCP gateway)"


class RemoteService:
    """Remote servers' upstream side: one HTTP client, the vault, the OAuth client."""

    def __init__(
        self,
        secrets: SecretBackend,
        resolve: HeaderResolver,
        *,
        browser: Browser = system_browser,
        http_transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        client_metadata_url: str | None = None,
        sign_in_timeout: float = 300.0,
    ) -> None:
        self.http = httpx.AsyncClient(
            transport=http_transport,
            timeout=httpx.Timeout(30.0, read=None),
            headers={"user-agent": USER_AGENT},
            follow_redirects=False,
        )
        self.vault = Vault(secrets)
        self.oauth = OAuthClient(
            self.http,
            self.vault,
            browser=browser,
            clock=clock,
            client_metadata_url=client_metadata_url,
            timeout=sign_in_timeout,
        )
        self._resolve = resolve
        self._clock = clock

    def factory(self, spec: ServerSpec, events: EventBus, log_file: Any) -> ManagedServer:
        """The supervisor's constructor of remote servers."""
        return RemoteServer(
            spec,
            events=events,
            log_file=log_file,
            http=self.http,
            oauth=self.oauth,
            resolve=self._resolve,
            clock=self._clock,
        )

    @staticmethod
    def _remote(server: ManagedServer) -> RemoteServer:
        if not isinstance(server, RemoteServer):
            raise SwitchboardError(
                f"{server.name!r} is not a remote server; only remote servers sign in.",
                hint="Add it with 'switchboard add NAME --url https://...'.",
            )
        return server

    async def sign_in(self, server: ManagedServer) -> dict[str, Any]:
        """Run the browser sign-in for ``server``, then (re)connect it."""
        remote = self._remote(server)
        if not remote.spec.remote or not remote.spec.url:
            raise SwitchboardError(f"{server.name!r} has no remote URL.", hint="Edit it.")
        creds = remote.credentials
        await self.oauth.sign_in(
            remote.name,
            remote.spec.url,
            creds.challenge,
            manual_client_id=remote.spec.oauth_client_id,
            extra_scopes=creds.step_up,
        )
        creds.step_up = ()
        await remote.credentials.load()
        if remote.state.is_active:
            await remote.reconnect()
        else:
            await remote.start()
        if remote.state is not ServerState.RUNNING:
            raise AuthError(
                f"Signed in, but {remote.name!r} is {remote.state.value}: {remote.detail}",
                hint=f"See 'switchboard logs {remote.name}'.",
            )
        return remote.sign_in_status()

    async def sign_out(self, server: ManagedServer) -> dict[str, Any]:
        """Forget (and revoke upstream) the tokens; a running server needs sign-in next."""
        remote = self._remote(server)
        await self.oauth.sign_out(remote.name)
        remote.credentials.tokens = None
        if remote.state.is_active:
            await remote.reconnect()
        return remote.sign_in_status()

    def status(self, server: ManagedServer) -> dict[str, Any]:
        return self._remote(server).sign_in_status()

    async def forget(self, name: str) -> None:
        """A removed server's keyring entries."""
        await self.oauth.sign_out(name)
        await self.vault.forget_all(name)

    async def aclose(self) -> None:
        await settle_background()
        await self.http.aclose()
