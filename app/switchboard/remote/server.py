"""A remote server in the supervisor: no process, one upstream session (RemoteStream).

"Start" connects (state RUNNING once the server answers with our credentials) or ends
in NEEDS_SIGN_IN when there is no valid token (a state of its own: the person has to
act, nothing failed). A lost connection (network, 5xx) is BACKOFF with growing delays,
retried for as long as the server is wanted up; a session the server ended is
replaced at once (the mux re-initializes the new one, client sessions survive).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

import httpx

from switchboard.core.errors import AuthError, SecretError
from switchboard.core.events import EventBus
from switchboard.core.spec import ServerSpec, Transport
from switchboard.core.state import ServerState
from switchboard.remote.credentials import Credentials, HeaderResolver
from switchboard.remote.oauth import OAuthClient, SignInRequired, Unreachable
from switchboard.remote.stream import EndReason, NotAnEndpoint, RemoteStream
from switchboard.supervisor.backoff import Backoff
from switchboard.supervisor.process import ManagedServer

_SETTLED = {
    ServerState.RUNNING,
    ServerState.FAILED,
    ServerState.BACKOFF,
    ServerState.NEEDS_SIGN_IN,
}


class RemoteServer(ManagedServer):
    """Runs one remote :class:`ServerSpec`: connects, reconnects, waits for sign-in."""

    def __init__(
        self,
        spec: ServerSpec,
        *,
        events: EventBus,
        log_file: Any,
        http: httpx.AsyncClient,
        oauth: OAuthClient,
        resolve: HeaderResolver,
        clock: Callable[[], float] = time.time,
        rand: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(spec, events=events, path="", log_file=log_file, rand=rand)
        self._http = http
        self._oauth = oauth
        self._resolve_headers = resolve
        self._wall = clock
        self.credentials = self._make_credentials()
        self._wake = asyncio.Event()
        self.stream: RemoteStream | None = None  # type: ignore[assignment]
        self._stream_done = asyncio.Event()
        self._attempted = asyncio.Event()
        """Set after each connection attempt settled (connected, needs sign-in, backoff)."""

    def _make_credentials(self) -> Credentials:
        return Credentials(
            self.name,
            self._oauth,
            static=self.spec.headers,
            resolve=self._resolve_headers,
            clock=self._wall,
        )

    def update_spec(self, spec: ServerSpec) -> None:
        """Takes effect at the next (re)start; the credentials object (and the tokens it
        holds) stays unless what it is built from changed."""
        old = self.spec
        super().update_spec(spec)
        if (old.url, old.headers, old.oauth_client_id) != (
            spec.url,
            spec.headers,
            spec.oauth_client_id,
        ):
            self.credentials = self._make_credentials()

    # -- lifecycle ---------------------------------------------------------------------
    async def start(self) -> None:
        if self.state is ServerState.STOPPING:
            await self.wait_for({ServerState.STOPPED})
        if self._task is not None and not self._task.done():
            if self.state is ServerState.NEEDS_SIGN_IN:
                await self.reconnect()
            return
        self._stopping = False
        self.restarts = 0
        self._set_state(ServerState.STARTING, "")
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"switchboard-remote-{self.name}"
        )
        await self.wait_for(_SETTLED)

    async def reconnect(self) -> None:
        """Try again now (after a sign-in); returns once it settled."""
        if self._task is None or self._task.done():
            await self.start()
            return
        if self.state in (ServerState.NEEDS_SIGN_IN, ServerState.BACKOFF):
            self._wake.set()
            await self.wait_for({ServerState.STARTING})
            await self.wait_for(_SETTLED)
        elif self.state is ServerState.RUNNING and self.stream is not None:
            self._attempted.clear()
            self.stream._end(EndReason.SESSION_LOST, "signed in again")
            await self._attempted.wait()

    async def _wait(self, delay: float | None) -> None:
        """Sleep ``delay`` seconds (None: until woken), or less when woken."""
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), delay)

    async def _run(self) -> None:
        spec_restart = self.spec.restart
        backoff = Backoff(spec_restart, *([self._rand] if self._rand else []))
        while not self._stopping:
            # A replaced session keeps RUNNING: calls wait for the new one (ready_mux)
            # instead of being refused as if the server were down.
            if self.state not in (ServerState.STARTING, ServerState.RUNNING):
                self._set_state(ServerState.STARTING, "")
            try:
                await self.credentials.load()
            except SecretError as exc:
                self._system(f"could not read its credentials: {exc}")
                self._set_state(ServerState.FAILED, str(exc))
                return
            self._generation += 1
            self._stream_done.clear()
            stream = RemoteStream(
                self.name,
                self._generation,
                self.spec.url or "",
                legacy=self.spec.transport is Transport.SSE,
                http=self._http,
                credentials=self.credentials,
                system=self._system,
                ended=lambda _s: self._stream_done.set(),
            )
            try:
                await stream.connect()
            except SignInRequired as exc:
                stream._end(EndReason.SIGN_IN, exc.message)
                await self._needs_sign_in(exc.message)
                continue
            except Unreachable as exc:
                stream._end(EndReason.UNREACHABLE, exc.message)
                await self._back_off(backoff, exc.message, 0.0)
                continue
            except (AuthError, NotAnEndpoint) as exc:
                stream._end(EndReason.STOPPED)
                self._system(f"cannot connect: {exc}")
                self._set_state(ServerState.FAILED, str(exc))
                self._attempted.set()
                return
            self.stream = stream
            self._attempted.set()
            self.started_at = time.time()
            started = self._clock.now()
            self._system(f"connected to {self.spec.url}")
            self._set_state(ServerState.RUNNING, self._running_detail())
            await self._stream_done.wait()
            self.stream = None
            self.started_at = None
            if self._stopping:
                return
            reason, detail = stream.end_reason, stream.end_detail
            self._system(f"upstream session ended: {detail or reason}")
            if reason is EndReason.SIGN_IN:
                await self._needs_sign_in(detail)
            elif reason is EndReason.SESSION_LOST:
                backoff.reset()  # reconnect at once, still RUNNING (see the loop's top)
            else:
                await self._back_off(backoff, detail, self._clock.now() - started)

    async def _needs_sign_in(self, why: str) -> None:
        self.last_exit = why
        self._set_state(ServerState.NEEDS_SIGN_IN, why)
        self._attempted.set()
        await self._wait(None)

    async def _back_off(self, backoff: Backoff, why: str, ran: float) -> None:
        """Network trouble is retried for as long as the server is wanted up, at most
        ``restart.max_delay`` apart (a provider outage must not end in FAILED)."""
        backoff.record_exit(ran)
        delay = backoff.delay()
        self.restarts += 1
        self.last_exit = why
        self._set_state(ServerState.BACKOFF, f"{why} Retrying in {delay:.1f}s.")
        self._attempted.set()
        await self._wait(delay)

    def _running_detail(self) -> str:
        tokens = self.credentials.tokens
        if tokens is None:
            return f"connected to {self.spec.url}"
        who = f" as {tokens.account}" if tokens.account else ""
        return f"connected to {self.spec.url}, signed in{who}"

    def sign_in_status(self) -> dict[str, Any]:
        """For front ends: signed in (as, expires, scope) / needs sign-in / API key."""
        tokens = self.credentials.tokens
        out: dict[str, Any] = {
            "server": self.name,
            "url": self.spec.url,
            "state": self.state.value,
            "needs_sign_in": self.state is ServerState.NEEDS_SIGN_IN,
            "signed_in": tokens is not None,
            "headers": sorted(self.spec.headers),
        }
        if tokens is not None:
            out |= {
                "account": tokens.account,
                "expires_at": tokens.expires_at,
                "scope": tokens.scope,
                "issuer": tokens.issuer,
                "refreshable": bool(tokens.refresh_token),
            }
        return out
