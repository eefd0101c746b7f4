"""Client ID Metadata Documents: a ``client_id`` that is an https URL names its own metadata.

The fetch is an SSRF risk (the authorization endpoint makes us request a URL a web page
chose), so: https only, default port only, no credentials or fragment in the URL, the
host must resolve to public addresses only (no loopback, private, link-local, ...), no
redirects, a short timeout and a size cap; the document's ``client_id`` must equal the
URL and its redirect URIs are judged like registered ones (``auth/registration.py``:
loopback or app redirects kept, off-machine ones dropped, malformed ones refuse the
document) and its ``client_name`` must be plain text. Results are cached.
The HTTP transport and the DNS resolver are constructor seams.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

from switchboard.auth.registration import (
    MAX_NAME,
    MAX_REDIRECT_URIS,
    REFUSED_FIELD,
    RegistrationRejected,
    clean_text,
    judge_redirect_uri,
)

MAX_DOCUMENT_BYTES = 64 * 1024
Resolver = Callable[[str], Awaitable[list[str]]]


class CIMDError(Exception):
    """The metadata document could not be used; ``public_message`` is safe to show."""

    def __init__(self, public_message: str) -> None:
        super().__init__(public_message)
        self.public_message = public_message


def is_cimd_client_id(client_id: str) -> bool:
    return client_id.startswith("https://")


async def system_resolver(host: str) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, 443, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _public(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class ClientMetadataResolver:
    """Fetches and caches Client ID Metadata Documents with SSRF guards."""

    def __init__(
        self,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        resolver: Resolver = system_resolver,
        ttl: float = 300.0,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._transport = transport
        self._resolver = resolver
        self.ttl = ttl
        self.timeout = timeout
        self._clock = clock
        self._cache: dict[str, tuple[float, dict[str, Any]]] = {}
        self.fetches = 0

    async def resolve(self, url: str) -> dict[str, Any]:
        hit = self._cache.get(url)
        if hit is not None and self._clock() < hit[0]:
            return hit[1]
        doc = await self._fetch(url)
        self._cache[url] = (self._clock() + self.ttl, doc)
        return doc

    async def _fetch(self, url: str) -> dict[str, Any]:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise CIMDError("The client_id is not a valid URL.") from None
        if (
            parts.scheme != "https"
            or not parts.hostname
            or parts.username
            or parts.password
            or parts.fragment
            or port not in (None, 443)
            or parts.path in ("", "/")
        ):
            raise CIMDError("The client_id URL must be an https URL with a path.")
        try:
            addresses = await self._resolver(parts.hostname)
        except OSError:
            raise CIMDError("The client_id host could not be resolved.") from None
        if not addresses or not all(_public(a) for a in addresses):
            raise CIMDError("The client_id host is not a public internet address.")
        self.fetches += 1
        try:
            async with (
                httpx.AsyncClient(
                    transport=self._transport,
                    timeout=self.timeout,
                    follow_redirects=False,
                    trust_env=False,
                ) as http,
                http.stream("GET", url, headers={"Accept": "application/json"}) as resp,
            ):
                if resp.status_code != 200:
                    raise CIMDError("The client metadata document could not be fetched.")
                body = b""
                async for chunk in resp.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_DOCUMENT_BYTES:
                        raise CIMDError("The client metadata document is too large.")
        except httpx.HTTPError:
            raise CIMDError("The client metadata document could not be fetched.") from None
        try:
            doc = json.loads(body)
        except ValueError:
            raise CIMDError("The client metadata document is not JSON.") from None
        if not isinstance(doc, dict) or doc.get("client_id") != url:
            raise CIMDError("The client metadata document does not name this client_id.")
        uris = doc.get("redirect_uris")
        if not isinstance(uris, list) or not uris or len(uris) > MAX_REDIRECT_URIS:
            raise CIMDError("The client metadata document has no acceptable redirect_uris.")
        verdicts = [judge_redirect_uri(u) for u in uris]
        accepted = [v.uri for v in verdicts if v.accepted]
        if any(v.malformed for v in verdicts) or not accepted:
            reasons = "; ".join(f"{v.uri}: {v.reason}" for v in verdicts if not v.accepted)
            raise CIMDError(
                f"The client metadata document has no acceptable redirect_uris ({reasons})."
            )
        # Our own field: never taken from the document.
        doc = {k: v for k, v in doc.items() if k != REFUSED_FIELD}
        doc["redirect_uris"] = accepted
        dropped = [v for v in verdicts if not v.accepted]
        if dropped:
            doc[REFUSED_FIELD] = [{"redirect_uri": v.uri, "reason": v.reason} for v in dropped]
        name = doc.get("client_name")
        if name is not None:
            try:
                clean_text("client_name", name, MAX_NAME)
            except RegistrationRejected:
                raise CIMDError(
                    "The client metadata document's client_name is not plain text."
                ) from None
        method = doc.get("token_endpoint_auth_method", "none")
        if method != "none":
            raise CIMDError("Only public clients (token_endpoint_auth_method none) are supported.")
        return doc
