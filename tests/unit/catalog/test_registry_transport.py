"""The registry client's HTTP seam: an httpx transport passed to the constructor."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from switchboard.catalog.registry import RegistryClient
from switchboard.core.errors import RegistryError


async def test_injected_transport_and_base_url(tmp_path: Path) -> None:
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        assert request.headers["accept"] == "application/json"
        assert request.headers["user-agent"].startswith("switchboard/")
        body = {"servers": [{"server": {"name": "io.ex/a", "version": "1"}}], "metadata": {}}
        return httpx.Response(200, json=body)

    reg = RegistryClient(
        tmp_path, base_url="https://mirror.example/reg/", transport=httpx.MockTransport(handler)
    )
    assert [e.name for e in await reg.search("a")] == ["io.ex/a"]
    assert str(seen[0]).startswith("https://mirror.example/reg/v0.1/servers?")


async def test_connection_refused_names_the_registry(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    reg = RegistryClient(tmp_path, base_url="http://r.test", transport=httpx.MockTransport(handler))
    with pytest.raises(RegistryError, match="Could not reach the MCP registry at http://r.test"):
        await reg.sync()
