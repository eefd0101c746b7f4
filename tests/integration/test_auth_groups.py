"""Groups as OAuth resources (issue 14), on the AuthService's own routes (ASGI) and its
Authenticator: a group's ``/groups/<name>/{mcp,sse}`` URL is an RFC 8707 resource of its
own, with RFC 9728 metadata and 401 challenges pointing at it; the consent names the
group and its member servers; a token for the group opens the group's two endpoints and
nothing else (not its member servers' URLs, nor the other way round); our keys are
resolved in process (0 JWKS fetches)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from starlette.applications import Starlette

from switchboard.auth.consent import ChoiceRequired
from switchboard.auth.keys import MemoryStorage
from switchboard.auth.service import AuthService
from switchboard.core.auth import ANONYMOUS, AuthDenied
from switchboard.core.errors import ValidationError
from switchboard.core.events import EventBus, Notice
from switchboard.core.group import GroupSpec
from switchboard.core.paths import AppPaths
from switchboard.core.spec import AuthMode, ServerSpec
from tests.helpers.keyrings import NoKeyring
from tests.helpers.oauth_flow import consent_form, continue_after_consent
from tests.unit.auth.tokens import b64

pytestmark = pytest.mark.timeout(60)

ISSUER = "http://127.0.0.1:8765"
REDIRECT = "http://127.0.0.1:41000/cb"
VERIFIER = "g" * 50
SERVERS = [
    ServerSpec(name="echo", command="x"),
    ServerSpec(name="time", command="x"),
    ServerSpec(name="open", command="x", auth=AuthMode.OFF),
]
WORK = GroupSpec(name="work", servers=("echo", "time"), description="Work tools")
GROUPS = [
    WORK,
    GroupSpec(name="pub", servers=("open",), auth=AuthMode.OFF),
    # A group may share a server's name: still another resource.
    GroupSpec(name="echo", servers=("time",)),
]
WORK_URL = f"{ISSUER}/groups/work/mcp"
ECHO_URL = f"{ISSUER}/servers/echo/mcp"


@pytest.fixture
async def setup(paths: AppPaths) -> AsyncIterator[tuple[AuthService, httpx.AsyncClient]]:
    service = AuthService(
        paths,
        issuer=lambda: ISSUER,
        servers=lambda: SERVERS,
        groups=lambda: GROUPS,
        events=EventBus(),
        secret_store=NoKeyring(),
        key_storage=MemoryStorage(),
    )
    await service.start()
    app = Starlette(routes=service.routes())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url=ISSUER) as http:
        yield service, http
    await service.aclose()


async def register(http: httpx.AsyncClient, name: str = "group-client") -> str:
    r = await http.post("/oauth/register", json={"client_name": name, "redirect_uris": [REDIRECT]})
    assert r.status_code == 201, r.text
    return str(r.json()["client_id"])


async def authorize(http: httpx.AsyncClient, client_id: str, resource: str) -> httpx.Response:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "state": "st",
        "code_challenge": b64(hashlib.sha256(VERIFIER.encode()).digest()),
        "code_challenge_method": "S256",
    }
    if resource:
        params["resource"] = resource
    return await http.get("/oauth/authorize", params=params)


async def approve_and_exchange(
    service: AuthService,
    http: httpx.AsyncClient,
    client_id: str,
    page: httpx.Response,
    picked: tuple[str, ...] = (),
    **token_fields: str,
) -> dict[str, Any]:
    rid, csrf = consent_form(page)
    service.decide(rid, True, servers=picked)
    r = await continue_after_consent(http, "", rid, csrf)
    assert r.status_code == 303, r.text
    code = parse_qs(urlsplit(r.headers["location"]).query)["code"][0]
    r = await http.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": client_id,
            "code_verifier": VERIFIER,
            **token_fields,
        },
    )
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


async def refused(service: AuthService, spec: Any, resource: str, token: str) -> AuthDenied:
    with pytest.raises(AuthDenied) as caught:
        await service.authenticate(server=spec, resource=resource, authorization=f"Bearer {token}")
    return caught.value


def test_group_urls_resolve_to_group_keys(paths: AppPaths) -> None:
    service = AuthService(
        paths,
        issuer=lambda: ISSUER,
        servers=lambda: SERVERS,
        groups=lambda: GROUPS,
        secret_store=NoKeyring(),
    )
    resolve = service.resolve_resource
    assert resolve(WORK_URL) == "group:work"
    assert resolve(f"{ISSUER}/groups/work/sse") == "group:work"
    assert resolve("http://localhost:8765/groups/work/mcp") == "group:work"
    # Same name, other kind: two resources.
    assert resolve(f"{ISSUER}/groups/echo/mcp") == "group:echo"
    assert resolve(ECHO_URL) == "echo"
    for url in (
        f"{ISSUER}/groups/pub/mcp",  # auth off: not ours to grant
        f"{ISSUER}/groups/nope/mcp",
        f"{ISSUER}/groups/work/messages",
        f"{ISSUER}/groups/work",
        f"{ISSUER}/groups/work/mcp?x=1",
        "http://127.0.0.1:1/groups/work/mcp",
        f"{ISSUER}/group/work/mcp",
    ):
        assert resolve(url) is None, url
    # Without groups configured (the default), group URLs are nobody's.
    bare = AuthService(
        paths, issuer=lambda: ISSUER, servers=lambda: SERVERS, secret_store=NoKeyring()
    )
    assert bare.resolve_resource(WORK_URL) is None


async def test_rfc9728_metadata_per_group_endpoint(
    setup: tuple[AuthService, httpx.AsyncClient],
) -> None:
    _, http = setup
    for endpoint in ("mcp", "sse"):
        r = await http.get(f"/.well-known/oauth-protected-resource/groups/work/{endpoint}")
        assert r.status_code == 200, r.text
        assert r.json() == {
            "resource": f"{ISSUER}/groups/work/{endpoint}",
            "authorization_servers": [ISSUER],
            "bearer_methods_supported": ["header"],
            "resource_name": "Work tools",
            "scopes_supported": ["mcp"],
        }
    r = await http.get(
        "/.well-known/oauth-protected-resource/groups/echo/mcp",
        headers={"Host": "localhost:8765"},
    )
    assert r.json()["resource"] == "http://localhost:8765/groups/echo/mcp"
    assert r.json()["resource_name"] == "group echo"
    for path in ("groups/pub/mcp", "groups/nope/mcp"):
        r = await http.get(f"/.well-known/oauth-protected-resource/{path}")
        assert r.status_code == 404, path
        assert r.json() == {"error": "not_found"}
    r = await http.get("/.well-known/oauth-protected-resource/groups/work/messages")
    assert r.status_code == 404
    # Servers keep theirs.
    r = await http.get("/.well-known/oauth-protected-resource/servers/echo/mcp")
    assert r.json()["resource"] == ECHO_URL


async def test_challenges_point_at_the_group_metadata(
    setup: tuple[AuthService, httpx.AsyncClient],
) -> None:
    service, _ = setup
    meta = f"{ISSUER}/.well-known/oauth-protected-resource/groups/work/mcp"
    with pytest.raises(AuthDenied) as caught:
        await service.authenticate(server=WORK, resource=WORK_URL, authorization=None)
    assert caught.value.status == 401
    assert caught.value.www_authenticate == f'Bearer resource_metadata="{meta}", scope="mcp"'
    denied = await refused(service, WORK, "http://localhost:8765/groups/work/sse", "junk")
    assert denied.www_authenticate == (
        'Bearer error="invalid_token", error_description="The access token is invalid.", '
        'resource_metadata="http://localhost:8765/.well-known/oauth-protected-resource/'
        'groups/work/sse", scope="mcp"'
    )
    assert denied.body == {
        "error": "invalid_token",
        "error_description": "The access token is invalid.",
    }
    # A group without sign-in lets loopback callers in, as a server with auth off does.
    pub = GROUPS[1]
    assert (
        await service.authenticate(
            server=pub, resource=f"{ISSUER}/groups/pub/mcp", authorization=None
        )
        is ANONYMOUS
    )


async def test_group_token_opens_the_group_only(
    setup: tuple[AuthService, httpx.AsyncClient],
) -> None:
    service, http = setup
    notices: list[Notice] = []
    service.events.subscribe(lambda e: notices.append(e) if isinstance(e, Notice) else None)
    client_id = await register(http)
    page = await authorize(http, client_id, WORK_URL)
    assert page.status_code == 200, page.text
    # The consent page and the request name the group and list its servers.
    assert (
        "the group <strong>work</strong> (its servers: <strong>echo</strong>, "
        "<strong>time</strong>)" in page.text
    )
    [pending] = service.broker.pending()
    assert pending.server == "group:work" and not pending.choose
    assert pending.groups == {"group:work": ("echo", "time")}
    assert pending.target == "group work (servers: echo, time)"
    [listed] = service.pending_consents()
    assert listed["groups"] == {"group:work": ("echo", "time")}
    assert [n.title for n in notices] == [
        "group-client asks to use group work (servers: echo, time)"
    ]
    tokens = await approve_and_exchange(service, http, client_id, page)
    token = tokens["access_token"]
    assert service.validator is not None
    vt = await service.validator.validate(token, WORK_URL)
    assert vt.audience == (WORK_URL,)
    # The group's two transports take it.
    for url in (WORK_URL, f"{ISSUER}/groups/work/sse", "http://localhost:8765/groups/work/mcp"):
        principal = await service.authenticate(
            server=WORK, resource=url, authorization=f"Bearer {token}"
        )
        assert principal.client_id == client_id and "mcp" in principal.scopes
    # Its member servers' own endpoints do not, nor the server that shares a name with a
    # group, nor that group.
    for spec, url in (
        (SERVERS[0], ECHO_URL),
        (SERVERS[0], f"{ISSUER}/servers/echo/sse"),
        (SERVERS[1], f"{ISSUER}/servers/time/mcp"),
        (GROUPS[2], f"{ISSUER}/groups/echo/mcp"),
    ):
        denied = await refused(service, spec, url, token)
        assert denied.status == 401
        assert denied.body["error_description"] == (
            "The access token was issued for another resource."
        )
    grants = (await service.list_grants())["grants"]
    assert [(g["server"], g["resource"]) for g in grants] == [("group:work", WORK_URL)]
    # Our keys come from the key provider in process: not one JWKS fetch or request.
    assert service.jwks_fetches == 0 and service.jwks_requests == 0


async def test_server_token_does_not_open_a_group(
    setup: tuple[AuthService, httpx.AsyncClient],
) -> None:
    service, http = setup
    client_id = await register(http)
    page = await authorize(http, client_id, ECHO_URL)
    [pending] = service.broker.pending()
    assert pending.server == "echo" and pending.groups == {}
    assert "the server <strong>echo</strong>" in page.text
    token = (await approve_and_exchange(service, http, client_id, page))["access_token"]
    await service.authenticate(
        server=SERVERS[0], resource=ECHO_URL, authorization=f"Bearer {token}"
    )
    for spec, url in ((WORK, WORK_URL), (GROUPS[2], f"{ISSUER}/groups/echo/mcp")):
        denied = await refused(service, spec, url, token)
        assert denied.body["error_description"] == (
            "The access token was issued for another resource."
        )
        assert "/.well-known/oauth-protected-resource/groups/" in denied.www_authenticate
    assert service.jwks_fetches == 0


async def test_choose_servers_offers_groups_and_narrows_at_the_token_endpoint(
    setup: tuple[AuthService, httpx.AsyncClient],
) -> None:
    """RFC 8707 §2: no resource -> the person picks, groups among the choices (with
    their servers); RFC 8707 §2.2: the token request may narrow to one granted URL."""
    service, http = setup
    client_id = await register(http)
    page = await authorize(http, client_id, "")
    assert page.status_code == 200, page.text
    assert "--group NAME" in page.text
    [pending] = service.broker.pending()
    assert pending.choose
    assert pending.choices == ("echo", "time", "group:work", "group:echo")
    assert pending.groups == {"group:work": ("echo", "time"), "group:echo": ("time",)}
    assert pending.describe("group:echo") == "group echo (servers: time)"
    assert pending.describe("time") == "time"
    with pytest.raises(ChoiceRequired, match="--group NAME") as caught:
        service.broker.decide(pending.id, True)
    assert "group work (servers: echo, time)" in str(caught.value)
    with pytest.raises(ValidationError, match="group pub"):
        service.decide(pending.id, True, servers=["group:pub"])
    tokens = await approve_and_exchange(
        service, http, client_id, page, picked=("group:work",), resource=WORK_URL
    )
    # One pick: a plain audience (RFC 9068 §2.2) of the group's URL.
    assert service.validator is not None
    vt = await service.validator.validate(tokens["access_token"], WORK_URL)
    assert vt.audience == (WORK_URL,)
    denied = await refused(service, SERVERS[0], ECHO_URL, tokens["access_token"])
    assert denied.status == 401
    # Two picks, then a token narrowed to one of them; a member server not granted is
    # not a target this grant covers.
    page = await authorize(http, client_id, ISSUER)
    [pending] = service.broker.pending()
    rid, csrf = consent_form(page)
    service.decide(rid, True, servers=["echo", "group:work"])
    r = await continue_after_consent(http, "", rid, csrf)
    code = parse_qs(urlsplit(r.headers["location"]).query)["code"][0]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": client_id,
        "code_verifier": VERIFIER,
    }
    r = await http.post("/oauth/token", data={**form, "resource": f"{ISSUER}/servers/time/mcp"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_target"
    r = await http.post("/oauth/token", data={**form, "resource": WORK_URL})
    assert r.status_code == 200, r.text
    vt = await service.validator.validate(r.json()["access_token"], WORK_URL)
    assert vt.audience == (WORK_URL,)
    grants = (await service.list_grants())["grants"]
    assert sorted(g["server"] for g in grants) == ["echo group:work", "group:work"]


async def test_both_picked_gives_an_array_audience(
    setup: tuple[AuthService, httpx.AsyncClient],
) -> None:
    service, http = setup
    client_id = await register(http)
    page = await authorize(http, client_id, "")
    tokens = await approve_and_exchange(
        service, http, client_id, page, picked=("echo", "group:work")
    )
    token = tokens["access_token"]
    for spec, url in ((SERVERS[0], ECHO_URL), (WORK, WORK_URL)):
        await service.authenticate(server=spec, resource=url, authorization=f"Bearer {token}")
    denied = await refused(service, SERVERS[1], f"{ISSUER}/servers/time/mcp", token)
    assert denied.status == 401
    grants = (await service.list_grants())["grants"]
    assert [g["server"] for g in grants] == ["echo group:work"]
    # Narrowed at the token endpoint with the refresh token (RFC 8707 §2.2).
    r = await http.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": client_id,
            "resource": WORK_URL,
        },
    )
    assert r.status_code == 200, r.text
    narrowed = r.json()["access_token"]
    await service.authenticate(server=WORK, resource=WORK_URL, authorization=f"Bearer {narrowed}")
    denied = await refused(service, SERVERS[0], ECHO_URL, narrowed)
    assert denied.status == 401
    assert service.jwks_fetches == 0


async def test_unknown_group_is_invalid_target_naming_group_urls(
    setup: tuple[AuthService, httpx.AsyncClient],
) -> None:
    service, http = setup
    client_id = await register(http)
    for resource in (f"{ISSUER}/groups/nope/mcp", f"{ISSUER}/groups/pub/mcp"):
        r = await authorize(http, client_id, resource)
        assert r.status_code == 302, r.text
        query = parse_qs(urlsplit(r.headers["location"]).query)
        assert query["error"] == ["invalid_target"]
        text = query["error_description"][0]
        assert "not an MCP server of this gateway nor one of its groups" in text, text
        assert f"Groups here: {WORK_URL}, {ISSUER}/groups/echo/mcp." in text, text
        assert "/groups/pub/" not in text  # auth off: not ours to grant
    assert service.broker.pending() == []


async def test_first_party_token_for_a_group(
    setup: tuple[AuthService, httpx.AsyncClient],
) -> None:
    """``switchboard connect --group`` without keyring access: the control API's token."""
    service, _ = setup
    data = await service.first_party_token("work", "groups")
    token = data["access_token"]
    await service.authenticate(server=WORK, resource=WORK_URL, authorization=f"Bearer {token}")
    denied = await refused(service, SERVERS[0], ECHO_URL, token)
    assert denied.status == 401
    with pytest.raises(ValidationError, match="Group 'pub' does not use"):
        await service.first_party_token("pub", "groups")
    with pytest.raises(ValidationError, match="Unknown kind"):
        await service.first_party_token("work", "nonsense")
    server_token = (await service.first_party_token("echo"))["access_token"]
    denied = await refused(service, WORK, WORK_URL, server_token)
    assert denied.status == 401
