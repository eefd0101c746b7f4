"""Client ID Metadata Documents: SSRF guards, document checks and the cache."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from switchboard.auth.cimd import CIMDError, ClientMetadataResolver

URL = "https://client.example/oauth/metadata.json"
DOC = {"client_id": URL, "client_name": "Example", "redirect_uris": ["http://127.0.0.1:3000/cb"]}


def resolver_for(
    addresses: list[str], handler: Any, hits: list[httpx.Request] | None = None
) -> ClientMetadataResolver:
    async def resolve(host: str) -> list[str]:
        return addresses

    def wrapped(request: httpx.Request) -> httpx.Response:
        if hits is not None:
            hits.append(request)
        result: httpx.Response = handler(request)
        return result

    return ClientMetadataResolver(transport=httpx.MockTransport(wrapped), resolver=resolve)


async def test_fetches_validates_and_caches() -> None:
    hits: list[httpx.Request] = []
    r = resolver_for(["93.184.216.34"], lambda req: httpx.Response(200, json=DOC), hits)
    assert (await r.resolve(URL))["client_name"] == "Example"
    assert (await r.resolve(URL))["client_name"] == "Example"
    assert len(hits) == 1


@pytest.mark.parametrize(
    "url",
    [
        "http://client.example/meta.json",
        "https://client.example/",
        "https://client.example:8443/meta.json",
        "https://user:pw@client.example/meta.json",
        "https://client.example/meta.json#x",
    ],
)
async def test_bad_client_id_urls_are_refused_without_a_request(url: str) -> None:
    hits: list[httpx.Request] = []
    r = resolver_for(["93.184.216.34"], lambda req: httpx.Response(200, json=DOC), hits)
    with pytest.raises(CIMDError):
        await r.resolve(url)
    assert hits == []


@pytest.mark.parametrize(
    "addresses",
    [
        ["127.0.0.1"],
        ["10.0.0.5"],
        ["192.168.1.1"],
        ["169.254.169.254"],
        ["::1"],
        ["fd00::1"],
        ["::ffff:127.0.0.1"],
        ["93.184.216.34", "10.0.0.1"],
        [],
    ],
)
async def test_ssrf_guard_refuses_non_public_addresses(addresses: list[str]) -> None:
    hits: list[httpx.Request] = []
    r = resolver_for(addresses, lambda req: httpx.Response(200, json=DOC), hits)
    with pytest.raises(CIMDError, match="public"):
        await r.resolve(URL)
    assert hits == []


@pytest.mark.parametrize(
    ("response", "match"),
    [
        (httpx.Response(302, headers={"location": "http://169.254.169.254/"}), "fetched"),
        (httpx.Response(404), "fetched"),
        (httpx.Response(200, content=b"not json"), "not JSON"),
        (httpx.Response(200, json={**DOC, "client_id": "https://other.example/m"}), "client_id"),
        (
            httpx.Response(200, json={**DOC, "redirect_uris": ["http://evil.example/cb"]}),
            "redirect",
        ),
        (httpx.Response(200, json={**DOC, "redirect_uris": []}), "redirect"),
        (
            httpx.Response(
                200, json={**DOC, "redirect_uris": ["javascript:x", *DOC["redirect_uris"]]}
            ),
            "javascript: scheme",
        ),
        (httpx.Response(200, json={**DOC, "redirect_uris": "http://127.0.0.1/cb"}), "redirect"),
        (
            httpx.Response(200, content=json.dumps(DOC).replace('"Example"', '"\\ud800"').encode()),
            "client_name",
        ),
        (httpx.Response(200, json={**DOC, "client_name": ["x"]}), "client_name"),
        (
            httpx.Response(200, json={**DOC, "token_endpoint_auth_method": "client_secret_basic"}),
            "public",
        ),
        (httpx.Response(200, content=json.dumps({**DOC, "pad": "x" * 70000}).encode()), "large"),
    ],
)
async def test_document_checks(response: httpx.Response, match: str) -> None:
    r = resolver_for(["93.184.216.34"], lambda req: response)
    with pytest.raises(CIMDError, match=match):
        await r.resolve(URL)


async def test_off_machine_redirects_are_dropped_and_app_schemes_kept() -> None:
    """RFC 8252 §7 verdicts as for registration: the code never leaves this computer."""
    uris = ["https://client.example/cb", "com.example.app:/cb", "http://127.0.0.1:3000/cb"]
    r = resolver_for(
        ["93.184.216.34"], lambda req: httpx.Response(200, json={**DOC, "redirect_uris": uris})
    )
    doc = await r.resolve(URL)
    assert doc["redirect_uris"] == uris[1:]
    [refused] = doc["refused_redirect_uris"]
    assert refused["redirect_uri"] == uris[0] and "off this computer" in refused["reason"]


async def test_a_document_cannot_supply_our_refused_redirect_uris_field() -> None:
    forged = {**DOC, "refused_redirect_uris": [{"redirect_uri": "x", "reason": "<b>"}]}
    r = resolver_for(["93.184.216.34"], lambda req: httpx.Response(200, json=forged))
    assert "refused_redirect_uris" not in await r.resolve(URL)
