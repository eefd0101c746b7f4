"""Discovery (RFC 9728 -> RFC 8414 / OIDC) and the client choice of the upstream
OAuth client, against scripted HTTP answers (httpx.MockTransport)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from switchboard.core.errors import AuthError
from switchboard.remote.discovery import Challenge, discover, parse_challenge, well_known
from switchboard.remote.oauth import OAuthClient
from switchboard.remote.vault import Vault

SERVER = "https://mcp.example.com/v1/mcp"
ISSUER = "https://auth.example.com/tenant"


def as_metadata(**over: Any) -> dict[str, Any]:
    doc = {
        "issuer": ISSUER,
        "authorization_endpoint": f"{ISSUER}/authorize",
        "token_endpoint": f"{ISSUER}/token",
        "registration_endpoint": f"{ISSUER}/register",
        "code_challenge_methods_supported": ["S256"],
    }
    doc.update(over)
    return {k: v for k, v in doc.items() if v is not None}


def transport(docs: dict[str, Any], seen: list[str] | None = None) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        if seen is not None:
            seen.append(url)
        if url in docs:
            return httpx.Response(200, json=docs[url])
        return httpx.Response(404)

    return httpx.MockTransport(handle)


def test_parse_challenge() -> None:
    c = parse_challenge(
        'Bearer error="insufficient_scope", scope="a b", '
        'resource_metadata="https://x/.well-known/oauth-protected-resource"'
    )
    assert c == Challenge(
        "https://x/.well-known/oauth-protected-resource", "a b", "insufficient_scope"
    )
    assert parse_challenge(None) == Challenge()
    assert parse_challenge("Basic realm=x") == Challenge()


def test_well_known_paths() -> None:
    assert well_known(ISSUER, "oauth-authorization-server") == (
        "https://auth.example.com/.well-known/oauth-authorization-server/tenant"
    )
    assert well_known(ISSUER, "openid-configuration", insert=False) == (
        "https://auth.example.com/tenant/.well-known/openid-configuration"
    )


async def test_prm_from_the_challenge_then_oidc_fallback() -> None:
    prm_url = "https://mcp.example.com/meta"
    seen: list[str] = []
    docs = {
        prm_url: {
            "resource": SERVER,
            "authorization_servers": [ISSUER],
            "scopes_supported": ["read", "write"],
        },
        # no RFC 8414 document: OIDC discovery with path insertion answers
        "https://auth.example.com/.well-known/openid-configuration/tenant": as_metadata(),
    }
    async with httpx.AsyncClient(transport=transport(docs, seen)) as http:
        found = await discover(http, SERVER, Challenge(resource_metadata=prm_url))
    assert found.issuer == ISSUER and found.resource == SERVER
    assert found.scopes == ("read", "write")
    assert seen[0] == prm_url
    assert "https://auth.example.com/.well-known/oauth-authorization-server/tenant" in seen


@pytest.mark.parametrize(
    ("metadata", "prm", "message"),
    [
        (as_metadata(code_challenge_methods_supported=None), None, "PKCE"),
        (as_metadata(issuer="https://evil.example.com"), None, "another issuer"),
        (as_metadata(token_endpoint="http://auth.example.com/token"), None, "plain-http"),
        (as_metadata(), {"resource": "https://other.example.com/mcp"}, "another resource"),
        (as_metadata(), {"resource": SERVER, "authorization_servers": []}, "no authorization"),
    ],
)
async def test_unsafe_metadata_is_refused(
    metadata: dict[str, Any], prm: dict[str, Any] | None, message: str
) -> None:
    docs: dict[str, Any] = {
        "https://auth.example.com/.well-known/oauth-authorization-server/tenant": metadata
    }
    docs["https://mcp.example.com/.well-known/oauth-protected-resource/v1/mcp"] = prm or {
        "resource": SERVER,
        "authorization_servers": [ISSUER],
    }
    async with httpx.AsyncClient(transport=transport(docs)) as http:
        with pytest.raises(AuthError, match=message):
            await discover(http, SERVER, Challenge())


async def test_a_server_without_prm_uses_its_origin_as_issuer() -> None:
    docs = {
        "https://mcp.example.com/.well-known/oauth-authorization-server": as_metadata(
            issuer="https://mcp.example.com"
        )
    }
    async with httpx.AsyncClient(transport=transport(docs)) as http:
        found = await discover(http, SERVER, Challenge(scope="x"))
    assert found.issuer == "https://mcp.example.com" and found.scopes == ("x",)


class Secrets:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    async def aget(self, name: str) -> str | None:
        return self.values.get(name)

    async def aset(self, name: str, value: str) -> None:
        self.values[name] = value

    async def adelete(self, name: str) -> bool:
        return self.values.pop(name, None) is not None


async def test_client_choice_cimd_then_dcr_then_manual() -> None:
    from switchboard.remote.discovery import Discovered

    registered: list[dict[str, Any]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        registered.append(json.loads(request.content))
        return httpx.Response(201, json={"client_id": "dyn-1"})

    cimd_url = "https://switchboard.example/oauth/client.json"
    async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as http:
        oauth = OAuthClient(http, Vault(Secrets()), client_metadata_url=cimd_url)
        redirect = "http://127.0.0.1:5000/callback"
        with_cimd = Discovered(
            SERVER, ISSUER, as_metadata(client_id_metadata_document_supported=True), ()
        )
        client = await oauth._client("s", with_cimd, redirect, None, None)
        assert client["client_id"] == cimd_url and not registered
        plain = Discovered(SERVER, ISSUER, as_metadata(), ())
        client = await oauth._client("s", plain, redirect, None, None)
        assert client["client_id"] == "dyn-1"
        assert registered[0]["redirect_uris"] == [redirect]
        assert registered[0]["token_endpoint_auth_method"] == "none"
        # a later sign-in on the same port reuses the registration
        stored = await oauth.vault.client("s")
        assert stored is not None
        again = await oauth._client("s", plain, redirect, stored, None)
        assert again["client_id"] == "dyn-1" and len(registered) == 1
        # no registration endpoint and no manual id: say what to do
        closed = Discovered(SERVER, ISSUER, as_metadata(registration_endpoint=None), ())
        with pytest.raises(AuthError, match="register"):
            await oauth._client("t", closed, redirect, None, None)
        manual = await oauth._client("t", closed, redirect, None, "by-hand")
        assert manual["client_id"] == "by-hand"
        assert manual["token_endpoint_auth_method"] == "none"
