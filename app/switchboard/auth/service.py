"""AuthService: keys, store, authorization server, consent and the gateway's authenticator.

The engine builds one, mounts :meth:`routes` on the listener and :meth:`control_routes`
on the control API, and sets ``engine.authenticator = service`` (see
``gateway/authslot.py``). Per server (``ServerSpec.auth``):

- ``switchboard``: our tokens, keys from the in-process KeyProvider (never HTTP JWKS);
- ``external``: an external OIDC issuer, keys from its JWKS over HTTP (cached);
- ``off``: no token (loopback only; the UI flags it).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from switchboard.auth import firstparty
from switchboard.auth.cimd import ClientMetadataResolver, Resolver, system_resolver
from switchboard.auth.consent import ChoiceRequired, ConsentBroker, ConsentRequest
from switchboard.auth.firstparty import NamedSecrets, home_key
from switchboard.auth.keys import FileStorage, KeyProvider, KeyStorage, choose_storage
from switchboard.auth.server import SCOPE, GrantUser, OAuthServer
from switchboard.auth.store import AuthStore
from switchboard.auth.validator import JWKSClient, TokenInvalid, TokenValidator
from switchboard.core.errors import AuthError, SecretError, ValidationError
from switchboard.core.events import EventBus, Notice
from switchboard.core.paths import AppPaths
from switchboard.core.spec import AuthMode, ServerSpec, Settings
from switchboard.gateway.authslot import ANONYMOUS, AuthDenied, Principal

_T = TypeVar("_T")
log = logging.getLogger("switchboard.auth")
# authlib logs issued tokens at DEBUG ("Issue token ..."): never let `-v` print them.
logging.getLogger("authlib").setLevel(logging.INFO)

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})

# Fixed, person-readable texts per rejection reason: never exception text.
_REASONS = {
    "expired": "The access token expired.",
    "revoked": "The access token was revoked.",
    "wrong_audience": "The access token was issued for another resource.",
    "wrong_issuer": "The access token comes from another issuer.",
    "not_yet_valid": "The access token is not valid yet.",
}
_DEFAULT_REASON = "The access token is invalid."


class AuthService:
    """Everything under ``auth/`` wired together; also the gateway's Authenticator."""

    def __init__(
        self,
        paths: AppPaths,
        *,
        issuer: Callable[[], str],
        servers: Callable[[], Sequence[ServerSpec]],
        settings: Callable[[], Settings] = Settings,
        events: EventBus | None = None,
        secret_store: Any = None,
        key_storage: KeyStorage | None = None,
        broker: ConsentBroker | None = None,
        http_transport: httpx.AsyncBaseTransport | None = None,
        cimd_resolver: Resolver = system_resolver,
        clock: Callable[[], float] = time.time,
        keyring_timeout: float = 15.0,
    ) -> None:
        self.paths = paths
        self._keyring_timeout = keyring_timeout
        self.issuer = issuer
        self._servers = servers
        self._settings = settings
        self.events = events or EventBus()
        if secret_store is None:
            from switchboard.secrets import SecretStore

            secret_store = SecretStore()
        self.secret_store = secret_store
        self._key_storage = key_storage
        self.key_warning: str | None = None
        self.broker = broker or ConsentBroker()
        self._http_transport = http_transport
        self._clock = clock
        self.store = AuthStore(paths.auth_db, clock=clock)
        self.keys: KeyProvider | None = None
        self.oauth: OAuthServer | None = None
        self.validator: TokenValidator | None = None
        self._external: dict[str, TokenValidator] = {}
        self._maintenance: asyncio.Task[None] | None = None
        self._unsubscribe = self.broker.on_request(self._announce)
        self.cimd = ClientMetadataResolver(transport=http_transport, resolver=cimd_resolver)

    # -- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        settings = self._settings()
        storage: KeyStorage
        if self._key_storage is not None:
            storage = self._key_storage
        else:
            try:
                storage, self.key_warning = await _keyring_call(
                    self._keyring_timeout,
                    choose_storage,
                    NamedSecrets(self.secret_store, home_key(self.paths)),
                    self.paths.data_dir / "auth-signing-keys.json",
                )
            except SecretError as exc:
                storage = FileStorage(self.paths.data_dir / "auth-signing-keys.json")
                self.key_warning = (
                    f"The keyring did not answer ({exc.message}); Switchboard keeps its token "
                    f"signing key in the owner-only file {storage.path} instead."
                )
        keys = KeyProvider(
            storage,
            rotation_interval=settings.key_rotation_days * 86400.0,
            max_token_lifetime=settings.access_token_ttl + 60.0,
            clock=self._clock,
        )
        await asyncio.to_thread(self.store.open)
        try:
            if isinstance(storage, FileStorage):
                await asyncio.to_thread(keys.load_or_create)
            else:
                await _keyring_call(self._keyring_timeout, keys.load_or_create)
        except SecretError as exc:
            # A keyring that exists but refuses (locked, D-Bus trouble) must not keep the
            # engine from starting: fall back to the owner-only file, visibly.
            fallback = self.paths.data_dir / "auth-signing-keys.json"
            self.key_warning = (
                f"The keyring refused the token signing key ({exc.message}); Switchboard "
                f"uses the owner-only file {fallback} instead. Unlock the keyring and "
                "restart to move it back."
            )
            keys.storage = FileStorage(fallback)
            await asyncio.to_thread(keys.load_or_create)
        self.keys = keys
        self.oauth = OAuthServer(
            store=self.store,
            keys=keys,
            broker=self.broker,
            issuer=self.issuer,
            resolve_resource=self.resolve_resource,
            access_token_ttl=lambda: self._settings().access_token_ttl,
            cimd=self.cimd,
            clock=self._clock,
            server_urls=lambda: [
                f"{self.issuer()}/servers/{s.name}/mcp"
                for s in self._servers()
                if s.auth is AuthMode.SWITCHBOARD
            ],
        )
        await asyncio.to_thread(self.oauth.load_state)
        self.validator = TokenValidator(
            self.issuer,
            key_provider=keys,
            expected_typ="at+jwt",
            is_revoked=self.oauth.token_revoked,
            clock=self._clock,
        )
        try:
            await _keyring_call(
                self._keyring_timeout,
                firstparty.ensure_client,
                self.store,
                NamedSecrets(self.secret_store, home_key(self.paths)),
                self.paths,
            )
        except SecretError as exc:
            log.warning("first-party client unavailable (switchboard connect): %s", exc)
        if self.key_warning:
            log.warning("%s", self.key_warning)
            self.events.publish(
                Notice("key-warning", "Signing key not in a keyring", self.key_warning)
            )
        self._maintenance = asyncio.get_running_loop().create_task(
            self._maintain_keys(), name="switchboard-auth-keys"
        )

    async def aclose(self) -> None:
        task, self._maintenance = self._maintenance, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for validator in self._external.values():
            if validator.jwks is not None:
                await validator.jwks.aclose()
        self._external.clear()
        await asyncio.to_thread(self.store.close)

    async def _maintain_keys(self) -> None:
        """Key rotation when due; at least hourly also the pruning of client
        registrations that never got a grant."""
        assert self.keys is not None
        while True:
            await asyncio.sleep(min(max(self.keys.next_maintenance_in(), 1.0), 3600.0))
            try:
                await asyncio.to_thread(self.keys.maintain)
            except Exception:
                log.exception("key maintenance failed")
            if self.oauth is not None:
                try:
                    await asyncio.to_thread(self.oauth.prune_unused_clients)
                except Exception:
                    log.exception("pruning unused client registrations failed")

    def _announce(self, req: ConsentRequest) -> None:
        if req.choose:
            title = f"{req.client_name} asks to use servers (choose which)"
            text = f"Choose and approve: switchboard consent approve {req.id} --server NAME"
        else:
            title = f"{req.client_name} asks to use {req.server}"
            text = f"Approve or deny: switchboard consent approve {req.id}"
        self.events.publish(
            Notice(
                kind="consent",
                title=title,
                text=text,
                data={"request_id": req.id, "server": req.server, "client_id": req.client_id},
            )
        )

    # -- resources -----------------------------------------------------------------------
    def _server(self, name: str) -> ServerSpec | None:
        for spec in self._servers():
            if spec.name == name:
                return spec
        return None

    def resolve_resource(self, resource: str) -> str | None:
        """The server name of a gateway MCP URL on this listener (any loopback spelling)."""
        try:
            parts = urlsplit(resource)
            ours = urlsplit(self.issuer())
            port = parts.port
        except (ValueError, AuthError):
            return None
        host = (parts.hostname or "").lower()
        host = f"[{host}]" if ":" in host else host
        if (
            parts.scheme != ours.scheme
            or host not in LOOPBACK_HOSTS
            or port != ours.port
            or parts.query
            or parts.fragment
        ):
            return None
        segments = parts.path.split("/")
        if (
            len(segments) != 4
            or segments[0]
            or segments[1] != "servers"
            or segments[3] not in ("mcp", "sse")
        ):
            return None
        spec = self._server(segments[2])
        if spec is None or spec.auth is not AuthMode.SWITCHBOARD:
            return None
        return spec.name

    @staticmethod
    def resource_metadata_url(resource: str) -> str:
        parts = urlsplit(resource)
        return f"{parts.scheme}://{parts.netloc}/.well-known/oauth-protected-resource{parts.path}"

    # -- the gateway's auth slot ---------------------------------------------------------
    async def authenticate(
        self, *, server: ServerSpec, resource: str, authorization: str | None
    ) -> Principal:
        """See :class:`switchboard.gateway.authslot.Authenticator`."""
        if server.auth is AuthMode.OFF:
            return ANONYMOUS
        required = frozenset({SCOPE}) if server.auth is AuthMode.SWITCHBOARD else frozenset()
        # The 401's metadata URL points at the configured listener, whatever the Host said.
        try:
            parts = urlsplit(resource)
            netloc, path = parts.netloc, parts.path
        except ValueError:
            netloc, path = "", f"/servers/{server.name}/mcp"
        meta = self.resource_metadata_url(_listener_origin(self.issuer(), netloc) + path)
        scope_param = f', scope="{SCOPE}"' if required else ""
        if not authorization:
            raise AuthDenied(
                401,
                f'Bearer resource_metadata="{meta}"{scope_param}',
                {"error": "unauthorized", "error_description": "An access token is required."},
            )
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or " " in token:
            raise self._invalid(meta, scope_param, "invalid_request")
        validator = self._validator_for(server)
        try:
            try:
                vt = await validator.validate(token, resource)
            except TokenInvalid as exc:
                # One server, two transports: a token for its /mcp URL also opens its
                # legacy /sse endpoint and the other way round (same origin and server).
                sibling = _sibling_endpoint(resource)
                if exc.reason != "wrong_audience" or sibling is None:
                    raise
                vt = await validator.validate(token, sibling)
        except TokenInvalid as exc:
            raise self._invalid(meta, scope_param, exc.reason) from None
        if not required <= vt.scopes:
            raise AuthDenied(
                403,
                f'Bearer error="insufficient_scope", scope="{" ".join(sorted(required))}", '
                f'resource_metadata="{meta}"',
                {
                    "error": "insufficient_scope",
                    "error_description": "The access token lacks a required scope.",
                },
            )
        return Principal(
            subject=vt.subject, client_id=vt.client_id, scopes=vt.scopes, token_id=vt.token_id
        )

    @staticmethod
    def _invalid(meta: str, scope_param: str, reason: str) -> AuthDenied:
        text = _REASONS.get(reason, _DEFAULT_REASON)
        return AuthDenied(
            401,
            f'Bearer error="invalid_token", error_description="{text}", '
            f'resource_metadata="{meta}"{scope_param}',
            {"error": "invalid_token", "error_description": text},
        )

    def _validator_for(self, server: ServerSpec) -> TokenValidator:
        if server.auth is AuthMode.SWITCHBOARD:
            if self.validator is None:
                raise AuthError("The auth service is not started.", hint="Start the engine.")
            return self.validator
        issuer = server.external_issuer or ""
        validator = self._external.get(issuer)
        if validator is None:
            validator = TokenValidator(
                issuer,
                jwks=JWKSClient(issuer, transport=self._http_transport),
                clock=self._clock,
            )
            self._external[issuer] = validator
        return validator

    @property
    def jwks_fetches(self) -> int:
        """JWKS HTTP fetches made by the validator of our own tokens (0 by design)."""
        return self.validator.jwks_fetches if self.validator is not None else 0

    @property
    def jwks_requests(self) -> int:
        """Requests that reached our own JWKS endpoint."""
        return self.oauth.jwks_requests if self.oauth is not None else 0

    # -- routes --------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        """Listener routes; handlers look up ``self.oauth`` per call (set by start())."""

        def late(method: str) -> Callable[[Request], Any]:
            async def handler(request: Request) -> Response:
                if self.oauth is None:
                    return JSONResponse({"error": "temporarily_unavailable"}, status_code=503)
                response: Response = await getattr(self.oauth, method)(request)
                return response

            return handler

        paths = [
            ("/.well-known/oauth-authorization-server", "GET", "_metadata"),
            ("/.well-known/openid-configuration", "GET", "_oidc_metadata"),
            ("/oauth/jwks.json", "GET", "_jwks"),
            ("/oauth/authorize", "GET", "_authorize"),
            ("/oauth/authorize/continue", "POST", "_continue"),
            ("/oauth/token", "POST", "_token"),
            ("/oauth/register", "POST", "_register"),
            ("/oauth/revoke", "POST", "_revoke"),
            ("/oauth/introspect", "POST", "_introspect"),
        ]
        return [
            Route(
                "/.well-known/oauth-protected-resource/servers/{name}/mcp",
                self._protected_resource,
                methods=["GET"],
            ),
            Route(
                "/.well-known/oauth-protected-resource/servers/{name}/sse",
                self._protected_resource,
                methods=["GET"],
            ),
            *(Route(p, late(fn), methods=[m]) for p, m, fn in paths),
        ]

    async def _protected_resource(self, request: Request) -> Response:
        """RFC 9728 metadata; ``resource`` = the MCP URL on the configured listener, spelled
        with the loopback name the client used (see :func:`_listener_origin`)."""
        name = request.path_params["name"]
        spec = self._server(name)
        if spec is None or spec.auth is AuthMode.OFF:
            return JSONResponse({"error": "not_found"}, status_code=404)
        endpoint = request.url.path.rsplit("/", 1)[-1]
        origin = _listener_origin(self.issuer(), request.headers.get("host", ""))
        resource = f"{origin}/servers/{name}/{endpoint}"
        if spec.auth is AuthMode.EXTERNAL:
            servers = [spec.external_issuer or ""]
            scopes: list[str] = []
        else:
            servers = [self.issuer()]
            scopes = [SCOPE]
        body: dict[str, Any] = {
            "resource": resource,
            "authorization_servers": servers,
            "bearer_methods_supported": ["header"],
            "resource_name": spec.description or spec.name,
        }
        if scopes:
            body["scopes_supported"] = scopes
        return JSONResponse(body, headers={"Cache-Control": "max-age=60"})

    # -- consent and grants (control API, CLI, GUI) --------------------------------------
    def pending_consents(self) -> list[dict[str, Any]]:
        return [{**dataclasses.asdict(r), "choose": r.choose} for r in self.broker.pending()]

    def decide(
        self,
        request_id: str,
        approve: bool,
        remember: bool = False,
        servers: Sequence[str] = (),
    ) -> None:
        """``servers``: the picked servers of a "choose servers" request."""
        try:
            decided = self.broker.decide(request_id, approve, remember, tuple(servers))
        except ChoiceRequired as exc:
            raise ValidationError(
                str(exc), hint="Run 'switchboard consent list' to see the request."
            ) from None
        if not decided:
            raise ValidationError(
                f"No pending consent request {request_id!r}.",
                hint="Run 'switchboard consent list' to see pending requests.",
            )

    async def list_grants(self) -> dict[str, Any]:
        """Active grants (with the client's name, the redirect URI of the approval, when
        last used and whether it is remembered) and remembered consents; SQLite is read
        in a worker thread."""
        return await asyncio.to_thread(self._list_grants)

    def _list_grants(self) -> dict[str, Any]:
        grants = self.store.list_grants()
        consents = self.store.list_consents()
        remembered = {(c.client_id, c.server) for c in consents}
        clients: dict[str, dict[str, Any]] = {}
        for cid in {g.client_id for g in grants} | {c.client_id for c in consents}:
            clients[cid] = self.store.get_client(cid) or {}

        def name(cid: str) -> str:
            return str(clients[cid].get("client_name") or cid)

        def redirect(g: Any) -> str:
            # Grants from before redirect URIs were recorded: the client's only one.
            uris = clients[g.client_id].get("redirect_uris") or []
            return str(g.redirect_uri or (uris[0] if len(uris) == 1 else ""))

        return {
            "grants": [
                {
                    **g.to_dict(),
                    "client_name": name(g.client_id),
                    "redirect_uri": redirect(g),
                    "remembered": all((g.client_id, s) in remembered for s in g.servers),
                }
                for g in grants
            ],
            "consents": [{**c.to_dict(), "client_name": name(c.client_id)} for c in consents],
        }

    async def revoke_grant(self, grant_id: str) -> None:
        """Revoke a grant (its refresh tokens die, its access tokens stop validating) and
        forget the remembered consent behind it."""
        assert self.oauth is not None
        grant = await asyncio.to_thread(self.store.get_grant, grant_id)
        if grant is None or grant.revoked_at is not None:
            raise ValidationError(
                f"No active grant {grant_id!r}.",
                hint="Run 'switchboard grants list' to see grants.",
            )
        await asyncio.to_thread(self.oauth.revoke_grant_sync, grant_id, "revoked_by_user")
        for name in grant.servers:
            await asyncio.to_thread(self.store.forget_consent, grant.client_id, name)

    async def first_party_token(self, server: str) -> dict[str, Any]:
        """A token for the first-party client, asked through the control API (admin
        token): the path ``switchboard connect`` takes when it cannot read the keyring
        (an MCP client spawned it with a stripped environment)."""
        oauth = self.oauth
        if oauth is None:
            raise AuthError("The auth service is not started.", hint="Start the engine.")
        resource = f"{self.issuer()}/servers/{server}/mcp"
        if self.resolve_resource(resource) is None:
            raise ValidationError(
                f"Server {server!r} does not use Switchboard's authorization.",
                hint="Check the name with 'switchboard list' and its auth setting.",
            )
        client = await asyncio.to_thread(oauth.query_client, firstparty.CLIENT_ID)
        if client is None:
            raise AuthError("The first-party client is missing.", hint="Restart Switchboard.")
        user = GrantUser(None, firstparty.CLIENT_ID, server, resource, SCOPE)
        return await asyncio.to_thread(
            oauth.generate_token, "client_credentials", client, user, SCOPE, None, False
        )

    async def forget_consent(self, client_id: str, server: str) -> None:
        if not await asyncio.to_thread(self.store.forget_consent, client_id, server):
            raise ValidationError(
                f"No remembered consent for {client_id!r} on {server!r}.",
                hint="Run 'switchboard grants list'.",
            )

    def control_routes(self) -> list[Route]:
        async def consent_list(request: Request) -> Response:
            return JSONResponse({"pending": self.pending_consents()})

        def decider(approve: bool) -> Callable[[Request], Any]:
            async def run(request: Request) -> Response:
                remember = False
                servers: list[str] = []
                body = await request.body()
                if body:
                    from switchboard.control.api import read_json

                    data = await read_json(request)
                    remember = bool(isinstance(data, dict) and data.get("remember"))
                    picked = data.get("servers") if isinstance(data, dict) else None
                    if picked is not None:
                        if not isinstance(picked, list) or not all(
                            isinstance(n, str) for n in picked
                        ):
                            raise ValidationError(
                                'Send "servers" as a list of server names.',
                                hint="Name each server with --server NAME.",
                            )
                        servers = picked
                self.decide(request.path_params["id"], approve, remember, servers)
                return JSONResponse({"ok": True})

            return run

        async def grants_list(request: Request) -> Response:
            return JSONResponse(await self.list_grants())

        async def grant_revoke(request: Request) -> Response:
            await self.revoke_grant(request.path_params["id"])
            return Response(status_code=204)

        async def first_party_token(request: Request) -> Response:
            from switchboard.control.api import read_json

            data = await read_json(request)
            name = data.get("server") if isinstance(data, dict) else None
            if not isinstance(name, str):
                raise ValidationError('Send {"server": NAME}.', hint="Name a server.")
            return JSONResponse(
                await self.first_party_token(name), headers={"Cache-Control": "no-store"}
            )

        async def consent_forget(request: Request) -> Response:
            await self.forget_consent(
                request.path_params["client_id"], request.path_params["server"]
            )
            return Response(status_code=204)

        return [
            Route("/consent", consent_list, methods=["GET"]),
            Route("/consent/{id}/approve", decider(True), methods=["POST"]),
            Route("/consent/{id}/deny", decider(False), methods=["POST"]),
            Route("/auth/token", first_party_token, methods=["POST"]),
            Route("/grants", grants_list, methods=["GET"]),
            Route("/grants/{id}", grant_revoke, methods=["DELETE"]),
            Route("/consents/{client_id:path}/{server}", consent_forget, methods=["DELETE"]),
        ]


def _listener_origin(issuer: str, host_header: str) -> str:
    """The configured listener's origin (scheme and port from ``issuer``, never from the
    request). Only the host's spelling follows the Host header, and only among the
    loopback names the listener answers to, so a client that connected to
    ``localhost`` gets ``localhost`` back (RFC 9728 §3.3: ``resource`` must equal the
    URL it used)."""
    ours = urlsplit(issuer)
    try:
        host = (urlsplit(f"//{host_header}").hostname or "").lower()
    except ValueError:
        host = ""
    host = f"[{host}]" if ":" in host else host
    if host not in LOOPBACK_HOSTS or ours.port is None:
        return f"{ours.scheme}://{ours.netloc}"
    return f"{ours.scheme}://{host}:{ours.port}"


def _sibling_endpoint(resource: str) -> str | None:
    """``.../servers/x/mcp`` <-> ``.../servers/x/sse``."""
    if resource.endswith("/mcp"):
        return resource[:-4] + "/sse"
    if resource.endswith("/sse"):
        return resource[:-4] + "/mcp"
    return None


async def _keyring_call(timeout: float, fn: Callable[..., _T], *args: Any) -> _T:
    """Run a keyring call in a daemon thread with a timeout (SecretError on timeout).

    A locked Secret Service that cannot show its unlock prompt would otherwise block
    engine start-up, and SIGTERM, for ever.

    Not ``asyncio.to_thread``: a call stuck in D-Bus would then also block interpreter
    exit, which waits for the default executor's threads."""
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[_T] = loop.create_future()

    def settle(ok: bool, value: Any) -> None:
        if fut.done():
            return
        if ok:
            fut.set_result(value)
        else:
            fut.set_exception(value)

    def work() -> None:
        try:
            outcome: tuple[bool, Any] = (True, fn(*args))
        except BaseException as exc:  # handed to the awaiting task
            outcome = (False, exc)
        # A call that answered after the timeout may find the loop closed: nobody waits.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, *outcome)

    threading.Thread(target=work, name="switchboard-keyring", daemon=True).start()
    try:
        return await asyncio.wait_for(fut, timeout)
    except TimeoutError:
        raise SecretError(
            f"the keyring did not answer within {timeout:g} s (is it locked?)",
            hint="Unlock your keyring and restart Switchboard.",
        ) from None
