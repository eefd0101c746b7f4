"""Switchboard as an OAuth client of a remote MCP server's provider (MCP 2025-11-25
basic/authorization, client side).

Sign-in: discovery (``discovery.py``) -> a client: the one the person entered
(``oauth_client_id``), the one registered earlier, a Client ID Metadata Document URL
when the AS supports it and one is configured (draft-ietf-oauth-client-id-metadata-
document), else RFC 7591 dynamic registration -> authorization code with PKCE S256
(RFC 7636) and ``resource`` (RFC 8707) in the person's browser, redirected to a
loopback listener on 127.0.0.1 (RFC 8252 §7.3) -> token request. Refresh (RFC 6749 §6)
keeps a rotated refresh token; revocation (RFC 7009) on sign-out.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import httpx
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from switchboard.core.errors import AuthError
from switchboard.remote.discovery import Challenge, Discovered, discover
from switchboard.remote.vault import TokenSet, Vault

log = logging.getLogger("switchboard.remote")

Browser = Callable[[str], Awaitable[None]]
"""Opens a URL in the person's browser (tests: a scripted browser)."""

SIGN_IN_TIMEOUT = 300.0
CLIENT_NAME = "Switchboard"

_DONE_PAGE = (
    b"<!doctype html><meta charset=utf-8><title>Switchboard</title>"
    b"<p>%s</p><p>You can close this window.</p>"
)


class SignInRequired(AuthError):
    """There is no usable upstream token: the person has to sign in (again)."""


class Unreachable(AuthError):
    """The provider could not be reached (network, 5xx): try again later."""


async def system_browser(url: str) -> None:
    """Open ``url`` in the default browser (a thread: ``webbrowser`` may block)."""
    import webbrowser

    opened = await asyncio.to_thread(webbrowser.open, url)
    if not opened:
        log.warning("no browser could be opened; open this URL to sign in: %s", url)


class _Callback:
    """The loopback redirect listener (RFC 8252 §7.3): one GET to ``/callback``."""

    def __init__(self) -> None:
        self.result: asyncio.Future[dict[str, str]] = asyncio.get_running_loop().create_future()
        self.server: asyncio.Server | None = None
        self.port = 0

    async def listen(self, port: int) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            line = head.split(b"\r\n", 1)[0].decode("latin-1")
            method, target, _ = [*line.split(" ", 2), "", ""][:3]
            parts = urlsplit(target)
            if method != "GET" or parts.path != "/callback":
                writer.write(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
                return
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            text = b"Signed in." if "code" in query else b"Sign-in did not complete."
            body = _DONE_PAGE % text
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\n"
                b"cache-control: no-store\r\nconnection: close\r\n"
                b"content-length: %d\r\n\r\n%s" % (len(body), body)
            )
            if not self.result.done():
                self.result.set_result(query)
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            pass
        finally:
            with contextlib.suppress(Exception):
                await writer.drain()
                writer.close()

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await self.server.wait_closed()


def _token_error(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        return str(data["error"])[:100]
    return f"HTTP {response.status_code}"


def _account_of(token: dict[str, Any]) -> str:
    """A display name from an OpenID id_token's claims (shown only, never trusted)."""
    id_token = token.get("id_token")
    if not isinstance(id_token, str) or id_token.count(".") != 2:
        return ""
    try:
        payload = id_token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        return ""
    for key in ("email", "preferred_username", "name", "sub"):
        if isinstance(claims.get(key), str):
            return str(claims[key])[:200]
    return ""


def _lifetime(token: dict[str, Any]) -> float | None:
    expires_in = token.get("expires_in")
    if isinstance(expires_in, int | float) and not isinstance(expires_in, bool) and expires_in > 0:
        return float(expires_in)
    return None


class OAuthClient:
    """The sign-in, refresh and sign-out of remote servers."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        vault: Vault,
        *,
        browser: Browser = system_browser,
        clock: Callable[[], float] = time.time,
        client_metadata_url: str | None = None,
        timeout: float = SIGN_IN_TIMEOUT,
    ) -> None:
        self.http = http
        self.vault = vault
        self.browser = browser
        self.clock = clock
        self.client_metadata_url = client_metadata_url
        """An https URL serving Switchboard's client metadata document (CIMD), if any."""
        self.timeout = timeout

    # -- sign-in ----------------------------------------------------------------------
    async def sign_in(
        self,
        name: str,
        url: str,
        challenge: Challenge,
        *,
        manual_client_id: str | None = None,
        extra_scopes: tuple[str, ...] = (),
    ) -> TokenSet:
        """The whole browser flow; saves and returns the tokens. Raises AuthError."""
        found = await discover(self.http, url, challenge)
        scopes = tuple(dict.fromkeys((*found.scopes, *extra_scopes)))
        callback = _Callback()
        stored = await self.vault.client(name)
        port = 0
        if stored and stored.get("issuer") == found.issuer and not manual_client_id:
            port = urlsplit(str(stored.get("redirect_uri", ""))).port or 0
        try:
            await callback.listen(port)
        except OSError:
            stored = None
            await callback.listen(0)
        try:
            redirect_uri = f"http://127.0.0.1:{callback.port}/callback"
            client = await self._client(name, found, redirect_uri, stored, manual_client_id)
            verifier = secrets.token_urlsafe(48)
            state = secrets.token_urlsafe(24)
            query = {
                "response_type": "code",
                "client_id": client["client_id"],
                "redirect_uri": redirect_uri,
                "state": state,
                "code_challenge": create_s256_code_challenge(verifier),
                "code_challenge_method": "S256",
                "resource": found.resource,
            }
            if scopes:
                query["scope"] = " ".join(scopes)
            endpoint = found.metadata["authorization_endpoint"]
            sep = "&" if "?" in endpoint else "?"
            await self.browser(f"{endpoint}{sep}{urlencode(query)}")
            try:
                answer = await asyncio.wait_for(asyncio.shield(callback.result), self.timeout)
            except TimeoutError:
                raise AuthError(
                    "Sign-in timed out: the browser did not come back to Switchboard.",
                    hint="Try again and finish the sign-in in the browser window.",
                ) from None
        finally:
            await callback.close()
        if answer.get("state") != state:
            raise AuthError(
                "Sign-in failed: the answer did not match the request (state).",
                hint="Start the sign-in again from Switchboard.",
            )
        if "iss" in answer and answer["iss"] != found.metadata.get("issuer"):
            raise AuthError(  # RFC 9207 §2.4
                "Sign-in failed: the answer came from another authorization server.",
                hint="Start the sign-in again from Switchboard.",
            )
        if "code" not in answer:
            error = answer.get("error", "no code")[:100]
            raise AuthError(
                f"The provider refused the sign-in ({error}).",
                hint="Sign in again and allow access, or check the provider's settings.",
            )
        form = {
            "grant_type": "authorization_code",
            "code": answer["code"],
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
            "resource": found.resource,
        }
        token = await self._token_request(found.metadata["token_endpoint"], form, client)
        tokens = TokenSet(
            access_token=token["access_token"],
            token_endpoint=found.metadata["token_endpoint"],
            client_id=client["client_id"],
            resource=found.resource,
            refresh_token=token.get("refresh_token"),
            expires_at=self._expiry(token),
            lifetime=_lifetime(token),
            scope=str(token.get("scope") or " ".join(scopes)),
            issuer=found.issuer,
            revocation_endpoint=found.metadata.get("revocation_endpoint"),
            account=_account_of(token),
            client_secret=client.get("client_secret"),
            auth_method=str(client.get("token_endpoint_auth_method") or "none"),
        )
        await self.vault.save_tokens(name, tokens)
        log.info("signed in to remote server %s (issuer %s)", name, found.issuer)
        return tokens

    async def _client(
        self,
        name: str,
        found: Discovered,
        redirect_uri: str,
        stored: dict[str, Any] | None,
        manual_client_id: str | None,
    ) -> dict[str, Any]:
        """Which client id signs in (see the module docstring for the order)."""
        if manual_client_id:
            secret = await self.vault.client_secret(name)
            method = "none"
            if secret:
                supported = found.metadata.get("token_endpoint_auth_methods_supported") or [
                    "client_secret_basic"
                ]
                method = (
                    "client_secret_basic"
                    if "client_secret_basic" in supported
                    else "client_secret_post"
                )
            return {
                "client_id": manual_client_id,
                "client_secret": secret,
                "token_endpoint_auth_method": method,
            }
        if stored and stored.get("redirect_uri") == redirect_uri and stored.get("client_id"):
            expires = stored.get("client_secret_expires_at") or 0
            if not expires or expires > self.clock() + 60:
                return stored
        if self.client_metadata_url and found.metadata.get("client_id_metadata_document_supported"):
            return {"client_id": self.client_metadata_url, "token_endpoint_auth_method": "none"}
        registration = found.metadata.get("registration_endpoint")
        if not isinstance(registration, str):
            raise AuthError(
                f"The provider of {name!r} does not let apps register themselves.",
                hint="Register an app with the provider (redirect URI http://127.0.0.1/callback)"
                f" and enter its client id: 'switchboard edit {name} --oauth-client-id ID'.",
            )
        body = {
            "client_name": CLIENT_NAME,
            "redirect_uris": [redirect_uri],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        }
        try:
            response = await self.http.post(registration, json=body)
        except httpx.HTTPError as exc:
            raise Unreachable(
                f"Could not reach the provider to register Switchboard ({type(exc).__name__}).",
                hint="Check the network and try again.",
            ) from None
        if response.status_code not in (200, 201):
            raise AuthError(
                f"The provider refused to register Switchboard ({_token_error(response)}).",
                hint="Register an app by hand and enter its client id.",
            )
        data = response.json()
        if not isinstance(data, dict) or not isinstance(data.get("client_id"), str):
            raise AuthError(
                "The provider's registration answer has no client id.",
                hint="Try again later.",
            )
        client = {
            "client_id": data["client_id"],
            "client_secret": data.get("client_secret"),
            "client_secret_expires_at": data.get("client_secret_expires_at"),
            "token_endpoint_auth_method": data.get("token_endpoint_auth_method", "none"),
            "redirect_uri": redirect_uri,
            "issuer": found.issuer,
        }
        await self.vault.save_client(name, client)
        return client

    # -- token endpoint ---------------------------------------------------------------
    async def _token_request(
        self, endpoint: str, form: dict[str, str], client: dict[str, Any]
    ) -> dict[str, Any]:
        """POST to the token endpoint with the client's authentication (RFC 6749 §2.3)."""
        headers = {"accept": "application/json"}
        form = {**form}
        method = client.get("token_endpoint_auth_method") or "none"
        secret = client.get("client_secret")
        form["client_id"] = client["client_id"]  # RFC 6749 §4.1.3 (some AS want it always)
        if secret and method == "client_secret_basic":
            # RFC 6749 §2.3.1: both parts form-urlencoded before Basic encoding.
            pair = f"{quote(client['client_id'], safe='')}:{quote(secret, safe='')}"
            headers["authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        elif secret and method == "client_secret_post":
            form["client_secret"] = secret
        try:
            response = await self.http.post(endpoint, data=form, headers=headers)
        except httpx.HTTPError as exc:
            raise Unreachable(
                f"Could not reach the provider's token endpoint ({type(exc).__name__}).",
                hint="Check the network; Switchboard retries.",
            ) from None
        if response.status_code >= 500:
            raise Unreachable(
                f"The provider's token endpoint failed (HTTP {response.status_code}).",
                hint="Switchboard retries; nothing to do unless it persists.",
            )
        if response.status_code != 200:
            error = _token_error(response)
            if form["grant_type"] == "refresh_token":
                raise SignInRequired(
                    f"The provider no longer accepts the saved sign-in ({error}).",
                    hint="Sign in again.",
                )
            raise AuthError(f"The provider refused the token request ({error}).", hint="Retry.")
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("access_token"), str):
            raise AuthError("The provider's token answer has no access token.", hint="Retry.")
        return data

    def _expiry(self, token: dict[str, Any]) -> float | None:
        lifetime = _lifetime(token)
        return None if lifetime is None else self.clock() + lifetime

    async def refresh(self, name: str, tokens: TokenSet) -> TokenSet:
        """A new access token from the refresh token (RFC 6749 §6); a rotated refresh
        token replaces the old one (OAuth 2.1 §4.3.1). SignInRequired when refused."""
        if not tokens.refresh_token:
            raise SignInRequired("The sign-in expired.", hint="Sign in again.")
        form = {
            "grant_type": "refresh_token",
            "refresh_token": tokens.refresh_token,
            "resource": tokens.resource,
        }
        client = {
            "client_id": tokens.client_id,
            "client_secret": tokens.client_secret,
            "token_endpoint_auth_method": tokens.auth_method,
        }
        try:
            token = await self._token_request(tokens.token_endpoint, form, client)
        except SignInRequired:
            await self.vault.forget_tokens(name)
            raise
        tokens.access_token = token["access_token"]
        tokens.refresh_token = token.get("refresh_token") or tokens.refresh_token
        tokens.expires_at = self._expiry(token)
        tokens.lifetime = _lifetime(token)
        if isinstance(token.get("scope"), str):
            tokens.scope = token["scope"]
        await self.vault.save_tokens(name, tokens)
        log.info("refreshed the upstream token of remote server %s", name)
        return tokens

    async def sign_out(self, name: str) -> bool:
        """Forget the tokens; revoke the refresh token upstream when possible (RFC 7009)."""
        tokens = await self.vault.tokens(name)
        await self.vault.forget_tokens(name)
        if tokens is None:
            return False
        if tokens.revocation_endpoint and (tokens.refresh_token or tokens.access_token):
            form = {
                "token": tokens.refresh_token or tokens.access_token,
                "client_id": tokens.client_id,
            }
            with contextlib.suppress(httpx.HTTPError):
                await self.http.post(tokens.revocation_endpoint, data=form)
        return True
