"""AuthService on its own (ASGI app, constructor seams): Client ID Metadata Document
clients through authorize/token, and servers protected by an external OIDC issuer
(HTTP JWKS path), plus per-server RFC 9728 metadata for each auth mode."""

from __future__ import annotations

import hashlib
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import RSAKey
from starlette.applications import Starlette

from switchboard.auth.keys import MemoryStorage
from switchboard.auth.service import AuthService
from switchboard.core.auth import ANONYMOUS, AuthDenied
from switchboard.core.errors import SecretError
from switchboard.core.events import EventBus, Notice
from switchboard.core.paths import AppPaths
from switchboard.core.spec import AuthMode, ServerSpec
from tests.helpers.keyrings import NoKeyring
from tests.helpers.oauth_flow import consent_form, continue_after_consent
from tests.unit.auth.tokens import b64, sign

ISSUER = "http://127.0.0.1:8765"
IDP = "https://idp.example"
CIMD_URL = "https://app.example/client.json"
REDIRECT = "http://127.0.0.1:41000/cb"
SERVERS = [
    ServerSpec(name="echo", command="x"),
    ServerSpec(name="ext", command="x", auth=AuthMode.EXTERNAL, external_issuer=IDP),
    ServerSpec(name="open", command="x", auth=AuthMode.OFF),
]


class FakeInternet:
    """The IdP's discovery + JWKS and a client's metadata document."""

    def __init__(self) -> None:
        self.idp_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.requests: list[str] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        self.requests.append(url)
        if url == f"{IDP}/.well-known/openid-configuration":
            return httpx.Response(200, json={"issuer": IDP, "jwks_uri": f"{IDP}/keys"})
        if url == f"{IDP}/keys":
            jwk = dict(RSAKey.import_key(self.idp_key.public_key()).as_dict(private=False))
            jwk.update(kid="idp-1", alg="RS256", use="sig")
            return httpx.Response(200, json={"keys": [jwk]})
        if url == CIMD_URL:
            return httpx.Response(
                200,
                json={
                    "client_id": CIMD_URL,
                    "client_name": "App via CIMD",
                    "redirect_uris": [REDIRECT],
                },
            )
        return httpx.Response(404)


@pytest.fixture
async def setup(
    paths: AppPaths,
) -> AsyncIterator[tuple[AuthService, httpx.AsyncClient, FakeInternet]]:
    net = FakeInternet()

    async def public_dns(host: str) -> list[str]:
        return ["93.184.216.34"]

    service = AuthService(
        paths,
        issuer=lambda: ISSUER,
        servers=lambda: SERVERS,
        secret_store=NoKeyring(),
        key_storage=MemoryStorage(),
        http_transport=httpx.MockTransport(net.handler),
        cimd_resolver=public_dns,
    )
    await service.start()
    app = Starlette(routes=service.routes())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url=ISSUER) as http:
        yield service, http, net
    await service.aclose()


async def test_cimd_client_authorizes_without_registration(
    setup: tuple[AuthService, httpx.AsyncClient, FakeInternet],
) -> None:
    service, http, net = setup
    verifier = "q" * 50
    resource = f"{ISSUER}/servers/echo/mcp"
    page = await http.get(
        "/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": CIMD_URL,
            "redirect_uri": REDIRECT,
            "state": "s1",
            "code_challenge": b64(hashlib.sha256(verifier.encode()).digest()),
            "code_challenge_method": "S256",
            "resource": resource,
        },
    )
    assert page.status_code == 200, page.text
    assert "App via CIMD" in page.text and "127.0.0.1:41000" in page.text
    [pending] = service.broker.pending()
    assert pending.client_name == "App via CIMD" and pending.redirect_host == "127.0.0.1:41000"
    rid, csrf = consent_form(page)
    assert rid == pending.id
    service.broker.decide(pending.id, True)
    r = await continue_after_consent(http, "", rid, csrf)
    assert r.status_code == 303, r.text
    code = parse_qs(urlsplit(r.headers["location"]).query)["code"][0]
    r = await http.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": CIMD_URL,
            "code_verifier": verifier,
        },
    )
    assert r.status_code == 200, r.text
    principal = await service.authenticate(
        server=SERVERS[0], resource=resource, authorization=f"Bearer {r.json()['access_token']}"
    )
    assert principal.client_id == CIMD_URL
    assert net.requests.count(CIMD_URL) == 1


def idp_claims(**over: Any) -> dict[str, Any]:
    now = int(time.time())
    out = {
        "iss": IDP,
        "sub": "alice",
        "aud": [f"{ISSUER}/servers/ext/mcp"],
        "iat": now,
        "exp": now + 300,
        "scope": "openid",
    }
    out.update(over)
    return out


async def test_external_issuer_uses_its_http_jwks(
    setup: tuple[AuthService, httpx.AsyncClient, FakeInternet],
) -> None:
    service, http, net = setup
    ext, resource = SERVERS[1], f"{ISSUER}/servers/ext/mcp"
    token = sign(net.idp_key, idp_claims(), kid="idp-1", typ="JWT")
    principal = await service.authenticate(
        server=ext, resource=resource, authorization=f"Bearer {token}"
    )
    assert principal.subject == "alice"
    await service.authenticate(server=ext, resource=resource, authorization=f"Bearer {token}")
    assert net.requests.count(f"{IDP}/keys") == 1  # cached
    # Our own tokens are not accepted for an external-issuer server, and vice versa.
    assert service.keys is not None
    kid, key = service.keys.signing_key()
    ours = sign(key, idp_claims(iss=ISSUER, aud=resource), kid=kid)
    with pytest.raises(AuthDenied) as denied:
        await service.authenticate(server=ext, resource=resource, authorization=f"Bearer {ours}")
    assert denied.value.status == 401
    with pytest.raises(AuthDenied):
        await service.authenticate(
            server=SERVERS[0],
            resource=f"{ISSUER}/servers/echo/mcp",
            authorization=f"Bearer {token}",
        )
    # Protected resource metadata names the external issuer.
    prm = (await http.get("/.well-known/oauth-protected-resource/servers/ext/mcp")).json()
    assert prm == {
        "resource": resource,
        "authorization_servers": [IDP],
        "bearer_methods_supported": ["header"],
        "resource_name": "ext",
    }
    assert service.jwks_fetches == 0  # the validator of our own tokens never fetched


async def test_auth_off_and_metadata_per_mode(
    setup: tuple[AuthService, httpx.AsyncClient, FakeInternet],
) -> None:
    service, http, _ = setup
    assert (
        await service.authenticate(
            server=SERVERS[2], resource=f"{ISSUER}/servers/open/mcp", authorization=None
        )
        is ANONYMOUS
    )
    assert (
        await http.get("/.well-known/oauth-protected-resource/servers/open/mcp")
    ).status_code == 404
    assert (
        await http.get("/.well-known/oauth-protected-resource/servers/nope/mcp")
    ).status_code == 404
    prm = (await http.get("/.well-known/oauth-protected-resource/servers/echo/mcp")).json()
    assert prm["resource"] == f"{ISSUER}/servers/echo/mcp"
    assert prm["authorization_servers"] == [ISSUER] and prm["scopes_supported"] == ["mcp"]
    # The same server reached as localhost gets metadata for exactly that URL.
    prm = (
        await http.get(
            "/.well-known/oauth-protected-resource/servers/echo/mcp",
            headers={"host": "localhost:8765"},
        )
    ).json()
    assert prm["resource"] == "http://localhost:8765/servers/echo/mcp"
    assert service.resolve_resource("http://localhost:8765/servers/echo/mcp") == "echo"
    assert service.resolve_resource("http://127.0.0.1:8765/servers/ext/mcp") is None
    assert service.resolve_resource("http://127.0.0.1:8765/servers/echo/mcp?x=1") is None
    assert service.resolve_resource("http://evil.example:8765/servers/echo/mcp") is None


class LockedKeyring:
    """A keyring that is there but refuses (locked, D-Bus trouble)."""

    def check(self) -> None:
        pass

    def get(self, name: str) -> str | None:
        raise SecretError("The keyring refused to read.", hint="Unlock it.")

    def set(self, name: str, value: str) -> None:
        raise SecretError("The keyring refused to store.", hint="Unlock it.")


async def test_locked_keyring_falls_back_to_the_file_visibly(paths: AppPaths) -> None:
    notices: list[Notice] = []
    events = EventBus()
    events.subscribe(lambda e: notices.append(e) if isinstance(e, Notice) else None)
    service = AuthService(
        paths,
        issuer=lambda: ISSUER,
        servers=lambda: SERVERS,
        secret_store=LockedKeyring(),
        events=events,
    )
    await service.start()
    try:
        assert service.key_warning is not None and "refused" in service.key_warning
        assert [n.kind for n in notices] == ["key-warning"]
        key_file = paths.data_dir / "auth-signing-keys.json"
        assert key_file.stat().st_mode & 0o777 == 0o600
        assert service.keys is not None and service.keys.signing_key()[0]
    finally:
        await service.aclose()
