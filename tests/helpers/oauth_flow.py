"""The OAuth flow as a person and their browser play it, for the real ``mcp`` SDK
client's :class:`OAuthClientProvider`: token storage in memory, a browser that opens our
consent page and lets the test decide (broker, CLI or the Qt dialog), and the consent
page's approve-and-continue steps for tests that drive the endpoints by hand."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from mcp.client.auth import OAuthClientProvider
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)

REDIRECT = "http://127.0.0.1:53682/callback"


class MemoryTokenStorage:
    """The SDK's TokenStorage, in memory."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


def consent_form(page: httpx.Response) -> tuple[str, str]:
    """(request_id, csrf_token) from our consent page."""
    rid = re.search(r'name="request_id" value="([^"]+)"', page.text)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert rid and csrf, page.text
    return rid.group(1), csrf.group(1)


async def continue_after_consent(
    http: httpx.AsyncClient, base_url: str, request_id: str, csrf: str
) -> httpx.Response:
    """What the consent page's script does: post back and follow the app's decision."""
    return await http.post(
        f"{base_url}/oauth/authorize/continue",
        data={"request_id": request_id, "csrf_token": csrf},
    )


async def approve_on_page(
    http: httpx.AsyncClient, engine: Any, page: httpx.Response, remember: bool = False
) -> str:
    """Approve the page's request through the engine's consent broker; the redirect
    location the browser is sent to."""
    rid, csrf = consent_form(page)
    engine.consent.decide(rid, True, remember)
    resp = await continue_after_consent(http, engine.base_url, rid, csrf)
    assert resp.status_code == 303, resp.text
    return str(resp.headers["location"])


class ConsentBrowser:
    """Plays the person's browser: opens the authorize URL (our consent page), lets
    :meth:`answer` decide in the app, posts the page's form and keeps the redirect for
    the SDK's callback."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.location: str | None = None

    async def answer(self, page: httpx.Response, request_id: str) -> None:
        """Approve or deny ``request_id`` the way the test's person does."""
        raise NotImplementedError

    async def redirect_handler(self, url: str) -> None:
        async with httpx.AsyncClient(trust_env=False) as http:
            page = await http.get(url)
            assert page.status_code == 200, page.text
            rid, csrf = consent_form(page)
            await self.answer(page, rid)
            resp = await continue_after_consent(http, self.engine.base_url, rid, csrf)
            assert resp.status_code == 303, resp.text
            self.location = resp.headers["location"]

    async def callback_handler(self) -> AuthorizationCodeResult:
        assert self.location is not None
        query = parse_qs(urlsplit(self.location).query)
        if "error" in query:
            raise PermissionError(query["error"][0])
        return AuthorizationCodeResult(
            code=query["code"][0], state=query.get("state", [None])[0], iss=query["iss"][0]
        )


def sdk_provider(
    url: str, browser: ConsentBrowser, storage: MemoryTokenStorage, client_name: str
) -> OAuthClientProvider:
    """The SDK's OAuth provider for a public client redirecting to :data:`REDIRECT`."""
    return OAuthClientProvider(
        server_url=url,
        client_metadata=OAuthClientMetadata(
            client_name=client_name,
            redirect_uris=[REDIRECT],  # type: ignore[list-item]
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
        ),
        storage=storage,
        redirect_handler=browser.redirect_handler,
        callback_handler=browser.callback_handler,
    )
