"""AuthService: keys, store, authorization server, consent and the gateway's authenticator.

The engine builds one, mounts :meth:`routes` on the listener and :meth:`control_routes`
on the control API, and sets ``engine.authenticator = service`` (see
``core/auth.py``; the checks themselves are in ``auth/resource.py``). Per server
(``ServerSpec.auth``) and group (``GroupSpec.auth``: ``switchboard`` or ``off``):

- ``switchboard``: our tokens, keys from the in-process KeyProvider (never HTTP JWKS);
- ``external``: an external OIDC issuer, keys from its JWKS over HTTP (cached);
- ``off``: no token (loopback only; the UI flags it).

Signing keys live in the keyring when it answers; a keyring that times out or refuses
falls back, visibly (``key_warning``), to an owner-only file (:meth:`AuthService.start`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx
from starlette.routing import BaseRoute, Route

from switchboard.auth import connect_client
from switchboard.auth._threads import call_with_timeout
from switchboard.auth.cimd import ClientMetadataResolver, Resolver, system_resolver
from switchboard.auth.connect_client import NamedSecrets, home_key
from switchboard.auth.consent import ChoiceRequired, ConsentBroker, ConsentRequest
from switchboard.auth.control_routes import control_routes
from switchboard.auth.keys import FileStorage, KeyProvider, KeyStorage, choose_storage
from switchboard.auth.models import SCOPE, GrantUser
from switchboard.auth.regroup import group_events, rename_grants, revoke_grants
from switchboard.auth.resource import ResourceServer
from switchboard.auth.server import OAuthServer, authorization_server_routes
from switchboard.auth.store import AuthStore
from switchboard.auth.targetkeys import GROUPS, SERVERS, key_of, key_url, label, split_key
from switchboard.auth.validator import TokenValidator
from switchboard.core.audit import FAILURE, NO_AUDIT, PERSON, SUCCESS, AuditSink
from switchboard.core.auth import AuthDenied, Principal
from switchboard.core.errors import AuthError, SecretError, ValidationError
from switchboard.core.events import Event, EventBus, GroupsChanged, Notice
from switchboard.core.group import GroupSpec
from switchboard.core.paths import AppPaths
from switchboard.core.spec import AuthMode, ServerSpec, Settings

log = logging.getLogger("switchboard.auth")
# authlib logs issued tokens at DEBUG ("Issue token ..."): never let `-v` print them.
logging.getLogger("authlib").setLevel(logging.INFO)


class AuthService:
    """Everything under ``auth/`` wired together; also the gateway's Authenticator."""

    def __init__(
        self,
        paths: AppPaths,
        *,
        issuer: Callable[[], str],
        servers: Callable[[], Sequence[ServerSpec]],
        groups: Callable[[], Sequence[GroupSpec]] = tuple,
        settings: Callable[[], Settings] = Settings,
        events: EventBus | None = None,
        secret_store: Any = None,
        key_storage: KeyStorage | None = None,
        broker: ConsentBroker | None = None,
        http_transport: httpx.AsyncBaseTransport | None = None,
        cimd_resolver: Resolver = system_resolver,
        clock: Callable[[], float] = time.time,
        keyring_timeout: float = 15.0,
        audit: AuditSink = NO_AUDIT,
    ) -> None:
        self.audit = audit
        """Security-relevant events (``core/audit.py``): sign-ins, consents, revocations,
        refused tokens."""
        self.paths = paths
        self._keyring_timeout = keyring_timeout
        self.issuer = issuer
        self._servers = servers
        self._groups = groups
        self._settings = settings
        self.events = events or EventBus()
        if secret_store is None:
            from switchboard.secrets import SecretStore

            secret_store = SecretStore()
        self.secret_store = secret_store
        self._key_storage = key_storage
        self.key_warning: str | None = None
        self.broker = broker or ConsentBroker()
        self._clock = clock
        self.store = AuthStore(paths.auth_db, clock=clock)
        self.keys: KeyProvider | None = None
        self.oauth: OAuthServer | None = None
        self.validator: TokenValidator | None = None
        self._maintenance: asyncio.Task[None] | None = None
        self._unsubscribe = self.broker.on_request(self._announce)
        self._unfollow_groups: Callable[[], None] | None = None
        self.cimd = ClientMetadataResolver(transport=http_transport, resolver=cimd_resolver)
        self.resource = ResourceServer(
            issuer=issuer,
            servers=servers,
            groups=groups,
            own_validator=lambda: self.validator,
            http_transport=http_transport,
            clock=clock,
        )

    # -- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        settings = self._settings()
        storage: KeyStorage
        if self._key_storage is not None:
            storage = self._key_storage
        else:
            try:
                storage, self.key_warning = await call_with_timeout(
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
                await call_with_timeout(self._keyring_timeout, keys.load_or_create)
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
            server_urls=lambda: self._urls(self._servers()),
            group_urls=lambda: self._urls(self._groups()),
            group_members=self.group_members,
            audit=self.audit,
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
            await call_with_timeout(
                self._keyring_timeout,
                connect_client.ensure_client,
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
        self._unfollow_groups = self.events.subscribe(self._on_event)

    async def aclose(self) -> None:
        if self._unfollow_groups is not None:
            self._unfollow_groups()
            self._unfollow_groups = None
        task, self._maintenance = self._maintenance, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.resource.aclose()
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

    # -- grants follow their group (auth/regroup.py) -----------------------------------
    def _on_event(self, event: Event) -> None:
        """A renamed group's grants and remembered consents are re-keyed, a deleted
        group's revoked. On the event loop, not in a worker: the rename is committed
        when the event is published, and a client whose config already names the new URL
        must not refresh before its grant does (a few rows, one transaction)."""
        if not isinstance(event, GroupsChanged) or self.oauth is None:
            return
        rename, gone = group_events(event.names, {g.name for g in self._groups()})
        if rename is not None:
            self.rename_group_grants(*rename)
        for name in gone:
            self.revoke_group_grants(name)

    def rename_group_grants(self, old: str, new: str) -> None:
        """Blocking: move group ``old``'s grants and remembered consents to ``new``."""
        rename_grants(self.store, self.audit, self.issuer(), old, new)

    def revoke_group_grants(self, name: str) -> None:
        """Blocking: end the deleted group ``name``'s grants and remembered consents."""
        assert self.oauth is not None
        revoke_grants(self.store, self.audit, self.oauth.revoked_grants, name)

    def _urls(self, specs: Sequence[ServerSpec | GroupSpec]) -> list[str]:
        """The MCP URLs of ``specs`` that take Switchboard's tokens."""
        return [
            key_url(self.issuer(), key_of(s.kind, s.name))
            for s in specs
            if s.auth is AuthMode.SWITCHBOARD
        ]

    def group_members(self, key: str) -> tuple[str, ...] | None:
        """The member servers of the group ``key`` (``group:NAME``); None when ``key``
        is not a group."""
        kind, name = split_key(key)
        if kind != GROUPS:
            return None
        for spec in self._groups():
            if spec.name == name:
                return spec.servers
        return None

    def _announce(self, req: ConsentRequest) -> None:
        if req.choose:
            title = f"{req.client_name} asks to use servers (choose which)"
            text = f"Choose and approve: switchboard consent approve {req.id} --server NAME"
        else:
            title = f"{req.client_name} asks to use {label(req.server, req.groups)}"
            text = f"Approve or deny: switchboard consent approve {req.id}"
        self.events.publish(
            Notice(
                kind="consent",
                title=title,
                text=text,
                data={"request_id": req.id, "server": req.server, "client_id": req.client_id},
            )
        )

    # -- the resource server (auth/resource.py) ----------------------------------------
    def resolve_resource(self, resource: str) -> str | None:
        """The target key (server name, or ``group:NAME``) of a gateway MCP URL on this
        listener (any loopback spelling)."""
        return self.resource.resolve_resource(resource)

    async def authenticate(
        self, *, server: ServerSpec | GroupSpec, resource: str, authorization: str | None
    ) -> Principal:
        """See :class:`switchboard.core.auth.Authenticator`; a refused token is audited
        (its reason, never the token). A request without a token is not: every client's
        first request is one (RFC 9728 discovery starts from its 401), and logging them
        would let any local program fill the audit log with nothing of note."""
        try:
            return await self.resource.authenticate(
                server=server, resource=resource, authorization=authorization
            )
        except AuthDenied as exc:
            if authorization:
                self.audit.emit(
                    "token_rejected",
                    target=key_of(server.kind, server.name),
                    outcome=FAILURE,
                    reason=exc.body.get("error_description"),
                    error=exc.body.get("error"),
                    status=exc.status,
                )
            raise

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
        """Listener routes: RFC 9728 metadata and the authorization server's endpoints
        (these look up ``self.oauth`` per call: it is set by start())."""
        return [*self.resource.routes(), *authorization_server_routes(lambda: self.oauth)]

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

    async def first_party_token(self, server: str, kind: str = SERVERS) -> dict[str, Any]:
        """A token for the first-party client, asked through the control API (admin
        token): the path ``switchboard connect`` takes when it cannot read the keyring
        (an MCP client spawned it with a stripped environment). ``kind``: ``"servers"``
        or ``"groups"`` (``server`` then names a group)."""
        oauth = self.oauth
        if oauth is None:
            raise AuthError("The auth service is not started.", hint="Start the engine.")
        if kind not in (SERVERS, GROUPS):
            raise ValidationError(f"Unknown kind {kind!r}.", hint="Use servers or groups.")
        resource = key_url(self.issuer(), key_of(kind, server))
        if self.resolve_resource(resource) is None:
            what, where = (
                ("Server", "switchboard list")
                if kind == SERVERS
                else ("Group", "switchboard group list")
            )
            raise ValidationError(
                f"{what} {server!r} does not use Switchboard's authorization.",
                hint=f"Check the name with '{where}' and its auth setting.",
            )
        client = await asyncio.to_thread(oauth.query_client, connect_client.CLIENT_ID)
        if client is None:
            raise AuthError("The first-party client is missing.", hint="Restart Switchboard.")
        user = GrantUser(None, connect_client.CLIENT_ID, key_of(kind, server), resource, SCOPE)
        token = await asyncio.to_thread(
            oauth.generate_token, "client_credentials", client, user, SCOPE, None, False
        )
        self.audit.emit(
            "sign_in",
            actor=connect_client.CLIENT_ID,
            target=user.server,
            outcome=SUCCESS,
            grant_type="client_credentials",
        )
        return token

    async def forget_consent(self, client_id: str, server: str) -> None:
        if not await asyncio.to_thread(self.store.forget_consent, client_id, server):
            raise ValidationError(
                f"No remembered consent for {client_id!r} on {server!r}.",
                hint="Run 'switchboard grants list'.",
            )
        self.audit.emit(
            "consent_forgotten", actor=PERSON, target=server, outcome=SUCCESS, client=client_id
        )

    def control_routes(self) -> list[Route]:
        """The control API's consent and grant routes (``auth/control_routes.py``)."""
        return control_routes(self)
