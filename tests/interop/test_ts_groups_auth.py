"""The official TypeScript MCP SDK signs in to a *group* with its own OAuth flow
(issue 14): RFC 9728 discovery from the group endpoint's 401, RFC 7591 registration,
PKCE, the group's URL as RFC 8707 resource, one consent naming the group, a token
bound to the group's URL only; then tools of server-everything through the group.
The client is tests/interop/js/ts_client.mjs's ``signin`` scenario (the SDK's code)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from switchboard.auth.validator import TokenInvalid
from switchboard.core.group import GroupSpec, Naming
from tests.interop.conftest import Interop

pytestmark = [
    pytest.mark.npm,
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.timeout(300),
]


async def test_ts_sdk_signs_in_to_a_group_and_calls_through_it(interop: Interop) -> None:
    engine = interop.engine
    # Own names (priority naming): the scenario calls server-everything's "echo".
    await engine.add_group(
        GroupSpec(name="work", servers=("everything", "sampling"), naming=Naming.PRIORITY)
    )
    url = engine.group_url("work")
    report = await interop.run_ts("signin", url)
    out = report["result"]
    assert report["errors"] == []
    assert out["echo"] == ["Echo: hello from the TypeScript SDK"]
    assert {"echo", "trigger-long-running-operation"} <= set(out["tools"])

    path = urlsplit(url).path
    calls = [(r["method"], r["path"], r["status"]) for r in report["requests"]]
    assert calls[:4] == [
        ("POST", path, 401),
        ("GET", f"/.well-known/oauth-protected-resource{path}", 200),
        ("GET", "/.well-known/oauth-authorization-server", 200),
        ("POST", "/oauth/register", 201),
    ]
    authorize = parse_qs(urlsplit(out["authorizeUrls"][0]).query)
    assert authorize["resource"] == [url]
    assert authorize["code_challenge_method"] == ["S256"]
    # One consent, for the group.
    asked = interop.desk.by_client("ts-sdk-signin")
    assert [r.server for r in asked] == ["group:work"]
    # The token opens the group only, not its member servers' own endpoints.
    validator = engine.auth.validator
    assert validator is not None
    token = out["tokens"]["access_token"]
    assert (await validator.validate(token, url)).audience == (url,)
    with pytest.raises(TokenInvalid):
        await validator.validate(token, interop.everything_url)
    assert engine.auth.jwks_fetches == 0
