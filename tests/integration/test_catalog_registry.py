"""The MCP registry client against a real local HTTP server (port 0): paging,
search, incremental sync, errors, and offline use of the cache."""

from __future__ import annotations

import datetime
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from switchboard.catalog.catalog import Catalog
from switchboard.catalog.registry import RegistryClient
from switchboard.cli import main
from switchboard.core.errors import RegistryError

Handler = Callable[[str, dict[str, str]], tuple[int, bytes]]


def item(name: str, version: str = "1.0.0", status: str = "active", **meta: Any) -> dict[str, Any]:
    return {
        "server": {
            "name": f"io.example/{name}",
            "title": name.title(),
            "description": f"The {name} server",
            "version": version,
            "packages": [{"registryType": "npm", "identifier": f"@ex/{name}", "version": version}],
        },
        "_meta": {
            "io.modelcontextprotocol.registry/official": {
                "status": status,
                "isLatest": True,
                "updatedAt": "2026-01-01T00:00:00Z",
                **meta,
            }
        },
    }


def page(items: list[dict[str, Any]], cursor: str | None) -> tuple[int, bytes]:
    body = {"servers": items, "metadata": {"count": len(items), "nextCursor": cursor}}
    return 200, json.dumps(body).encode()


class FakeRegistry:
    """A tiny registry: ``handler(path, query) -> (status, body)``; records requests."""

    def __init__(self) -> None:
        self.handler: Handler = lambda path, q: page([], None)
        self.requests: list[tuple[str, dict[str, str]]] = []
        outer = self

        class H(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                outer.requests.append((parts.path, query))
                status, body = outer.handler(parts.path, query)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client gave up (timeout test)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.closed = False

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def registry() -> Iterator[FakeRegistry]:
    fake = FakeRegistry()
    fake.thread.start()
    try:
        yield fake
    finally:
        fake.close()


def client(fake: FakeRegistry, tmp_path: Path, **kw: Any) -> RegistryClient:
    return RegistryClient(tmp_path / "cache", base_url=fake.url, **kw)


async def test_pages_are_followed_by_cursor(registry: FakeRegistry, tmp_path: Path) -> None:
    pages = {
        None: page([item("a"), item("b")], "c1"),
        "c1": page([item("c")], "c2"),
        "c2": page([item("d")], None),
    }
    registry.handler = lambda path, q: pages[q.get("cursor")]
    result = await client(registry, tmp_path, page_size=2).sync()
    assert (result.fetched, result.total, result.incremental) == (4, 4, False)
    assert [r[0] for r in registry.requests] == ["/v0.1/servers"] * 3
    assert [r[1].get("cursor") for r in registry.requests] == [None, "c1", "c2"]
    assert all(r[1]["limit"] == "2" for r in registry.requests)
    assert all(r[1]["version"] == "latest" for r in registry.requests)


async def test_search_is_passed_to_the_registry(registry: FakeRegistry, tmp_path: Path) -> None:
    registry.handler = lambda path, q: page([item("weather")] if q.get("search") else [], None)
    found = await client(registry, tmp_path).search("weather")
    assert [e.handle for e in found] == ["weather"]
    assert registry.requests[0][1]["search"] == "weather"


async def test_incremental_sync_merges_updates_and_deletions(
    registry: FakeRegistry, tmp_path: Path
) -> None:
    registry.handler = lambda path, q: page([item("a"), item("b"), item("c")], None)
    reg = client(registry, tmp_path)
    first = await reg.sync()
    assert "updated_since" not in registry.requests[0][1]

    registry.handler = lambda path, q: page(
        [item("a", "2.0.0"), item("b", status="deleted"), item("new")], None
    )
    second = await reg.sync()
    assert second.incremental
    asked = datetime.datetime.fromisoformat(registry.requests[1][1]["updated_since"])
    synced = datetime.datetime.fromisoformat(first.synced_at)
    assert synced - datetime.timedelta(minutes=10) == asked  # margin for clock skew
    cached = {e.handle: e.version for e in reg.cached()}
    assert cached == {"a": "2.0.0", "c": "1.0.0", "new": "1.0.0"}
    # The cache feeds the catalog, over the bundled entries, with no network.
    registry.close()
    catalog = Catalog(reg)
    assert catalog.get("new").name == "io.example/new"
    assert catalog.get("filesystem").packages  # bundled still there
    assert [e.handle for e in catalog.search("new server")][:1] == ["new"]
    with pytest.raises(RegistryError, match="Could not reach") as info:
        await reg.sync()
    assert "offline" in info.value.hint
    assert {e.handle for e in reg.cached()} == {"a", "c", "new"}  # untouched by the failure


async def test_http_500_is_a_clear_error_and_keeps_the_cache(
    registry: FakeRegistry, tmp_path: Path
) -> None:
    registry.handler = lambda path, q: page([item("a")], None)
    reg = client(registry, tmp_path)
    await reg.sync()
    before = reg.cache_file.read_bytes()
    registry.handler = lambda path, q: (500, b'{"title": "Internal Server Error"}')
    with pytest.raises(RegistryError, match=r"internal error \(HTTP 500\)"):
        await reg.sync(full=True)
    assert reg.cache_file.read_bytes() == before


async def test_error_on_a_later_page_fails_the_whole_sync(
    registry: FakeRegistry, tmp_path: Path
) -> None:
    registry.handler = lambda path, q: page([item("a")], "p2") if "cursor" not in q else (503, b"")
    reg = client(registry, tmp_path)
    with pytest.raises(RegistryError, match="HTTP 503"):
        await reg.sync()
    assert reg.cached() == []
    assert not reg.cache_file.exists()


async def test_404_says_the_url_is_wrong(registry: FakeRegistry, tmp_path: Path) -> None:
    registry.handler = lambda path, q: (404, b"not found")
    with pytest.raises(RegistryError, match="refused the request") as info:
        await client(registry, tmp_path).search("x")
    assert "/v0.1/servers" in info.value.hint


async def test_timeout_is_a_clear_error(registry: FakeRegistry, tmp_path: Path) -> None:
    release = threading.Event()

    def slow(path: str, q: dict[str, str]) -> tuple[int, bytes]:
        release.wait(10)
        return page([], None)

    registry.handler = slow
    try:
        with pytest.raises(RegistryError, match="did not answer within 0.2 s"):
            await client(registry, tmp_path, timeout=0.2).search("x")
    finally:
        release.set()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>captive portal</html>", "not JSON"),
        (b'{"items": []}', "without a server list"),
        (b'{"servers": {"a": 1}}', "without a server list"),
    ],
)
async def test_malformed_answers(
    registry: FakeRegistry, tmp_path: Path, body: bytes, message: str
) -> None:
    registry.handler = lambda path, q: (200, body)
    with pytest.raises(RegistryError, match=message):
        await client(registry, tmp_path).sync()


async def test_malformed_entries_are_skipped_not_fatal(
    registry: FakeRegistry, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bad = {"server": {"name": "io.example/bad", "packages": [{"registryType": "npm"}]}}
    registry.handler = lambda path, q: page([item("good"), bad, "junk"], None)  # type: ignore[list-item]
    result = await client(registry, tmp_path).sync()
    assert result.total == 1
    assert "io.example/bad" in caplog.text


async def test_a_cursor_loop_is_detected(registry: FakeRegistry, tmp_path: Path) -> None:
    registry.handler = lambda path, q: page([item("a")], "same")
    with pytest.raises(RegistryError, match="same page cursor twice"):
        await client(registry, tmp_path).sync()


def test_cli_sync_and_search(
    registry: FakeRegistry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry.handler = lambda path, q: page([item("weather"), item("tides")], None)
    home = ["--home", str(tmp_path / "home")]
    assert main([*home, "catalog", "--registry", registry.url, "sync"]) == 0
    assert "2 in the cache" in capsys.readouterr().out
    assert main([*home, "catalog", "--registry", registry.url, "search", "tides"]) == 0
    assert capsys.readouterr().out.startswith("tides")
    assert main([*home, "catalog", "--registry", registry.url, "search", "--online", "x"]) == 0
    assert registry.requests[-1][1]["search"] == "x"
    registry.handler = lambda path, q: (500, b"")
    assert main([*home, "catalog", "--registry", registry.url, "sync"]) == 1
    err = capsys.readouterr().err
    assert "error:" in err
    assert "hint:" in err
