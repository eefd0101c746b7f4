"""Client of the official MCP registry API (``GET /v0.1/servers``) with an on-disk cache.

Pages are followed with ``cursor`` / ``metadata.nextCursor``; ``search`` filters by
name; ``updated_since`` makes :meth:`RegistryClient.sync` incremental (only entries
changed since the last sync are fetched, then merged into the cache). Every failure -
no network, timeouts, HTTP errors, malformed JSON - becomes a RegistryError that says
what happened; the cache keeps working offline.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import json
import logging
from pathlib import Path
from typing import Any

import httpx

from switchboard import __version__
from switchboard.catalog.model import CatalogEntry
from switchboard.core.errors import CatalogError, RegistryError
from switchboard.store.atomic import atomic_write

log = logging.getLogger("switchboard.catalog")

DEFAULT_REGISTRY = "https://registry.modelcontextprotocol.io"
API_PATH = "/v0.1/servers"
CACHE_VERSION = 1


@dataclasses.dataclass(frozen=True, slots=True)
class Page:
    entries: tuple[CatalogEntry, ...]
    next_cursor: str | None
    skipped: int = 0
    """Malformed entries left out (logged)."""


@dataclasses.dataclass(frozen=True, slots=True)
class SyncResult:
    fetched: int
    total: int
    incremental: bool
    synced_at: str


_STAMP = "%Y-%m-%dT%H:%M:%SZ"
SKEW = datetime.timedelta(minutes=10)


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime(_STAMP)


def _minus(stamp: str, delta: datetime.timedelta) -> str:
    try:
        when = datetime.datetime.strptime(stamp, _STAMP).replace(tzinfo=datetime.UTC)
    except ValueError:
        return stamp
    return (when - delta).strftime(_STAMP)


class RegistryClient:
    """Reads the registry over HTTP; ``transport`` is the test seam (httpx)."""

    def __init__(
        self,
        cache_dir: Path,
        *,
        base_url: str = DEFAULT_REGISTRY,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 15.0,
        page_size: int = 100,
        max_pages: int = 500,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.cache_file = cache_dir / "registry-cache.json"
        self._transport = transport
        self._timeout = timeout
        self._page_size = page_size
        self._max_pages = max_pages

    # -- HTTP --------------------------------------------------------------------------
    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.base_url,
            transport=self._transport,
            timeout=httpx.Timeout(self._timeout),
            headers={"Accept": "application/json", "User-Agent": f"switchboard/{__version__}"},
            follow_redirects=True,
        )

    async def _get(self, http: httpx.AsyncClient, params: dict[str, str]) -> Any:
        where = f"the MCP registry at {self.base_url}"
        try:
            resp = await http.get(API_PATH, params=params)
        except httpx.TimeoutException:
            raise RegistryError(
                f"{where} did not answer within {self._timeout:g} s.",
                hint="Check your network connection; the cached catalog still works offline.",
            ) from None
        except httpx.HTTPError as exc:
            raise RegistryError(
                f"Could not reach {where}: {type(exc).__name__}.",
                hint="Check your network connection or the registry URL; "
                "the cached catalog still works offline.",
            ) from None
        if resp.status_code >= 500:
            raise RegistryError(
                f"{where} had an internal error (HTTP {resp.status_code}).",
                hint="Try again later; the cached catalog still works offline.",
            )
        if resp.status_code >= 400:
            raise RegistryError(
                f"{where} refused the request (HTTP {resp.status_code}).",
                hint="Check the registry URL; it must serve the /v0.1/servers API.",
            )
        try:
            return resp.json()
        except ValueError:
            raise RegistryError(
                f"{where} answered with something that is not JSON.",
                hint="Check the registry URL; a proxy or captive portal may be in the way.",
            ) from None

    def _page(self, data: Any) -> Page:
        servers = data.get("servers") if isinstance(data, dict) else None
        if not isinstance(servers, list):
            raise RegistryError(
                f"The MCP registry at {self.base_url} answered JSON without a server list.",
                hint="Check the registry URL; it must serve the /v0.1/servers API.",
            )
        entries = []
        skipped = 0
        for item in servers:
            try:
                entries.append(CatalogEntry.from_json(item))
            except CatalogError as exc:
                skipped += 1
                log.warning("registry entry skipped: %s", exc)
        meta = data.get("metadata") or {}
        cursor = meta.get("nextCursor") if isinstance(meta, dict) else None
        return Page(tuple(entries), str(cursor) if cursor else None, skipped)

    async def pages(
        self, *, search: str | None = None, updated_since: str | None = None
    ) -> list[Page]:
        """Every page of a listing, following cursors."""
        params = {"limit": str(self._page_size), "version": "latest"}
        if search:
            params["search"] = search
        if updated_since:
            params["updated_since"] = updated_since
        out: list[Page] = []
        seen: set[str] = set()
        async with self._client() as http:
            cursor: str | None = None
            for _ in range(self._max_pages):
                query = dict(params, cursor=cursor) if cursor else params
                page = self._page(await self._get(http, query))
                out.append(page)
                cursor = page.next_cursor
                if not cursor:
                    return out
                if cursor in seen:
                    raise RegistryError(
                        f"The MCP registry at {self.base_url} sent the same page cursor twice.",
                        hint="This is a registry bug; try again later.",
                    )
                seen.add(cursor)
        raise RegistryError(
            f"The MCP registry at {self.base_url} sent more than {self._max_pages} pages.",
            hint="Narrow the search.",
        )

    async def search(self, query: str) -> list[CatalogEntry]:
        """Live search (the registry matches server names)."""
        pages = await self.pages(search=query)
        return [e for p in pages for e in p.entries if e.is_latest and e.status != "deleted"]

    # -- cache ---------------------------------------------------------------------------
    def _load_cache(self) -> dict[str, Any]:
        try:
            data = json.loads(self.cache_file.read_text("utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("registry cache %s unreadable (%s); ignoring it", self.cache_file, exc)
            return {}
        if (
            not isinstance(data, dict)
            or data.get("version") != CACHE_VERSION
            or data.get("base_url") != self.base_url
            or not isinstance(data.get("servers"), dict)
        ):
            return {}
        return data

    def cached(self) -> list[CatalogEntry]:
        """Entries from the last sync (empty when never synced). Blocking file read."""
        out = []
        for item in self._load_cache().get("servers", {}).values():
            try:
                out.append(CatalogEntry.from_json(item))
            except CatalogError:
                continue
        return out

    def synced_at(self) -> str | None:
        value = self._load_cache().get("synced_at")
        return value if isinstance(value, str) else None

    async def sync(self, *, full: bool = False) -> SyncResult:
        """Fetch what changed since the last sync (everything the first time or with
        ``full``) and merge it into the cache."""
        cache = {} if full else await asyncio.to_thread(self._load_cache)
        since = cache.get("synced_at") if cache else None
        started = _now()
        # Ask for a little more than needed: our clock and the registry's may differ,
        # and merging an entry twice is harmless.
        pages = await self.pages(updated_since=_minus(since, SKEW) if since else None)
        servers: dict[str, Any] = dict(cache.get("servers", {})) if cache else {}
        fetched = 0
        for page in pages:
            for entry in page.entries:
                fetched += 1
                if entry.status == "deleted":
                    servers.pop(entry.name, None)
                elif entry.is_latest:
                    servers[entry.name] = dict(entry.raw)
        doc = {
            "version": CACHE_VERSION,
            "base_url": self.base_url,
            "synced_at": started,
            "servers": servers,
        }
        data = json.dumps(doc, ensure_ascii=False).encode("utf-8")
        await asyncio.to_thread(atomic_write, self.cache_file, data, mode=0o644)
        return SyncResult(fetched, len(servers), since is not None, started)
