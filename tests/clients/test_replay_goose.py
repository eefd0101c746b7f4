"""Goose (block/goose).

Two released shapes. Before Client ID Metadata Documents, goose registered through rmcp
(modelcontextprotocol/rust-sdk ``crates/rmcp/src/transport/auth.rs`` ``register_client``:
client_name, redirect_uris, grant_types [authorization_code, refresh_token],
token_endpoint_auth_method none, response_types [code]; ``get_authorization_url`` sends
no ``resource`` and the token request none either), with client name "goose" and the
redirect ``http://127.0.0.1:PORT/oauth_callback`` from block/goose
``crates/goose/src/oauth/mod.rs``. That release has no setting for a resource: the person
picks the servers it may use.

Current goose (``crates/goose/src/oauth/mod.rs``: ``CLIENT_METADATA_URL =
https://goose-docs.ai/oauth/client-metadata.json``, ``with_client_metadata_url``) uses
that URL as its client_id. The document itself is not in our references; the one served
here has the fields the CIMD draft requires and goose's callback path. The MCP URL is
sent as resource (MCP 2025-06-18 §Resource Parameter, which that release implements).
"""

from __future__ import annotations

from typing import Any

import httpx

from switchboard.core.paths import AppPaths
from switchboard.core.spec import AuthMode
from switchboard.engine import Engine
from tests.clients.replay import Shape, reach_token, reach_token_picking, status_with
from tests.conftest import fixture_cmd, make_test_engine
from tests.fixtures.gw_helpers import add_started

REDIRECT = "http://127.0.0.1:51234/oauth_callback"
GOOSE_RMCP = Shape(
    registration={
        "client_name": "goose",
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_method": "none",
        "response_types": ["code"],
    },
    redirect_uri=REDIRECT,
    resource="none",
    token_resource=False,
)
CIMD_URL = "https://goose-docs.ai/oauth/client-metadata.json"
DOCUMENT = {
    "client_id": CIMD_URL,
    "client_name": "goose",
    "client_uri": "https://goose-docs.ai",
    "redirect_uris": ["http://127.0.0.1/oauth_callback"],
    "grant_types": ["authorization_code", "refresh_token"],
    "response_types": ["code"],
    "token_endpoint_auth_method": "none",
}


async def test_goose_via_rmcp_registration_gets_the_server_the_person_picks(
    engine: Engine, http: httpx.AsyncClient, url: str, other_url: str
) -> None:
    token = await reach_token_picking(
        http, engine, GOOSE_RMCP, url, pick=["echo"], choices={"echo", "notes"}
    )
    # Not picked: the token does not open the other server.
    assert await status_with(other_url, token["access_token"]) in (401, 403)
    grants = engine.auth.store.list_grants()
    assert [(g.client_id, g.servers, g.resources) for g in grants] == [
        (grants[0].client_id, ("echo",), (url,))
    ]


async def test_goose_with_its_client_metadata_document_reaches_a_token(
    paths: AppPaths, http: httpx.AsyncClient
) -> None:
    fetched: list[str] = []

    def serve(request: httpx.Request) -> httpx.Response:
        fetched.append(str(request.url))
        return httpx.Response(200, json=DOCUMENT)

    async def public(host: str) -> list[str]:
        return ["93.184.216.34"]

    # The document is served by a mock transport: tests never reach the internet.
    engine = make_test_engine(
        paths, http_transport=httpx.MockTransport(serve), cimd_resolver=public
    )
    await engine.start()
    try:
        cmd, args = fixture_cmd("echo_server.py")
        url = await add_started(engine, "echo", cmd, args, auth=AuthMode.SWITCHBOARD)
        shape = Shape(registration={}, redirect_uri=REDIRECT, token_resource=False)
        client: dict[str, Any] = {"client_id": CIMD_URL}
        await reach_token(http, engine, shape, url, client=client)
        assert fetched == [CIMD_URL]
    finally:
        await engine.aclose()
