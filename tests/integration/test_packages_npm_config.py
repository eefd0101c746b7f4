"""The package resolver's ``npm install --prefix <cache dir>`` keeps the person's global
npm config (QA, issue 16.1). npm reads its global config from ``<prefix>/etc/npmrc``, so
``--prefix`` alone silently drops it: a registry, proxy or ``cafile`` set there (the
usual corporate setup) was ignored and the install failed (e.g. SELF_SIGNED_CERT_IN_CHAIN)
or went to the public registry, after which the server fell back to ``npx``.

Real npm; the global config's registry is a loopback HTTP server that records requests."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from switchboard.packages import PackageError, PackageResolver
from tests.conftest import requires_npx

pytestmark = [requires_npx, pytest.mark.timeout(120)]

PACKAGE = "switchboard-qa-no-such-package"


def _registry(seen: list[str]) -> type[BaseHTTPRequestHandler]:
    """A registry that records each request's path and has no packages."""

    class Registry(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(404)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"error":"Not found"}')

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Registry


@pytest.fixture
def registry() -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []

    server = ThreadingHTTPServer(("127.0.0.1", 0), _registry(seen))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", seen
    finally:
        server.shutdown()
        server.server_close()


async def test_install_uses_the_global_npmrc(
    tmp_path: Path, registry: tuple[str, list[str]]
) -> None:
    url, seen = registry
    prefix = tmp_path / "node-prefix"  # npm's own prefix: its global config lives here
    (prefix / "etc").mkdir(parents=True)
    (prefix / "etc" / "npmrc").write_text(f"registry={url}\n")
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "PREFIX": str(prefix),
        "npm_config_cache": str(tmp_path / "npm-cache"),
    }
    npx = shutil.which("npx")
    assert npx is not None
    resolver = PackageResolver(tmp_path / "cache")
    with pytest.raises(PackageError):
        await resolver(
            npx, ["-y", f"{PACKAGE}@1.0.0"], path=env["PATH"], env=env, note=lambda _n: None
        )
    assert any(PACKAGE in path for path in seen), seen
