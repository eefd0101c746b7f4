"""ServerSpec's remote fields: https required (loopback http allowed), no command,
headers name keyring secrets, old configs read unchanged."""

from __future__ import annotations

import pytest

from switchboard.core.errors import ValidationError
from switchboard.core.spec import ServerSpec, Transport


def remote(url: str, **kw: object) -> ServerSpec:
    return ServerSpec(name="r", transport=Transport.STREAMABLE_HTTP, url=url, remote=True, **kw)  # type: ignore[arg-type]


def test_https_required_except_loopback() -> None:
    assert remote("https://mcp.example.com/mcp").muxed
    assert remote("http://127.0.0.1:8000/mcp").remote
    assert remote("http://localhost:8000/mcp").remote
    with pytest.raises(ValidationError, match="https"):
        remote("http://mcp.example.com/mcp")
    with pytest.raises(ValidationError, match="credentials"):
        remote("https://user:pw@mcp.example.com/mcp")


def test_remote_shape() -> None:
    with pytest.raises(ValidationError, match="command"):
        remote("https://x.example/mcp", command="npx")
    with pytest.raises(ValidationError, match="HTTP transport"):
        ServerSpec(name="r", command="", url="https://x.example/mcp", remote=True)
    with pytest.raises(ValidationError, match="header"):
        remote("https://x.example/mcp", headers={"Mcp-Session-Id": "s"})
    with pytest.raises(ValidationError, match="not remote"):
        ServerSpec(name="l", command="cat", headers={"X-Key": "s"})


def test_round_trip_and_backward_compatibility() -> None:
    spec = remote("https://x.example/mcp", headers={"X-API-Key": "r.key"}, oauth_client_id="abc")
    data = spec.to_dict()
    assert data["remote"] is True and data["headers"] == {"X-API-Key": "r.key"}
    assert ServerSpec.from_dict(data) == spec
    local = ServerSpec(
        name="l", transport=Transport.STREAMABLE_HTTP, url="http://127.0.0.1:3001/mcp"
    )
    assert "remote" not in local.to_dict() and not local.muxed
    assert ServerSpec.from_dict(local.to_dict()) == local
