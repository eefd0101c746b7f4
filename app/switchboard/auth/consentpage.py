"""The authorization endpoint and its browser page: "Approve in Switchboard".

``GET /oauth/authorize`` (RFC 6749 §4.1.1) never approves by itself: after authlib
checked the request (client, redirect URI with the RFC 8252 §7.3 loopback port rule,
PKCE) and the resource was resolved (RFC 8707, ``auth/targets.py``), it opens a consent
request (``auth/consent.py``) and answers a small page that tells the person to decide in
the app. The page posts to ``POST /oauth/authorize/continue``, which waits for the
decision and then redirects back with the code or ``access_denied`` (RFC 9207 ``iss``
added by the server). That post carries a CSRF token that must match both the page's
hidden field and a per-request ``SameSite=Strict`` cookie. A Client ID Metadata Document
client is re-resolved on every authorization.

A redirect URI that cannot be used (dropped at registration, or never registered) gets
an error page, never a redirect (RFC 6749 §4.1.2.1).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
import html
import logging
import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from authlib.oauth2.rfc6749 import errors as oauth_errors
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from switchboard.auth.adapter import (
    BodyTooLarge,
    Incoming,
    read_capped,
    read_request,
    run,
    to_response,
)
from switchboard.auth.cimd import CIMDError, is_cimd_client_id
from switchboard.auth.consent import Decision
from switchboard.auth.models import SCOPE, Client, GrantUser
from switchboard.auth.registration import REFUSED_FIELD
from switchboard.auth.targetkeys import GROUPS, key_url, split_key
from switchboard.auth.targets import (
    InvalidTargetError,
    names_no_server,
    resource_hint,
    server_choices,
)
from switchboard.core.audit import APPROVED, DENIED, EXPIRED, PERSON

if TYPE_CHECKING:
    from switchboard.auth.server import OAuthServer

log = logging.getLogger("switchboard.auth")

CSRF_COOKIE = "sb_consent_"


@dataclasses.dataclass(slots=True)
class PendingAuthorization:
    """An authorization request waiting for the person's decision (and its page's CSRF token)."""

    incoming: Incoming
    grant: Any
    csrf: str
    user: GrantUser


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Approve in Switchboard</title>
<style>body{{font:16px system-ui,sans-serif;max-width:36em;margin:3em auto;padding:0 1em}}
code{{background:#eee;padding:.1em .3em}}</style></head>
<body>
<h1>Approve in Switchboard</h1>
<p><strong>{client}</strong> (redirects to <code>{host}</code>) asks to use {what}
with scope <code>{scope}</code>.</p>
<p>{how} This page continues by itself.</p>
<form id="continue" method="post" action="{action}">
<input type="hidden" name="request_id" value="{rid}">
<input type="hidden" name="csrf_token" value="{csrf}">
<noscript><button type="submit">Continue after approving</button></noscript>
</form>
<script nonce="{nonce}">document.getElementById("continue").submit();</script>
</body></html>
"""


def page_headers(nonce: str | None = None) -> dict[str, str]:
    script = f"'nonce-{nonce}'" if nonce else "'none'"
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; script-src {script}; style-src 'unsafe-inline'; "
            "frame-ancestors 'none'; base-uri 'none'"
        ),
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
    }


def error_page(status: int, code: str, text: str) -> Response:
    body = (
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>Authorization error"
        f"</title></head><body><h1>Authorization error</h1><p>{html.escape(text)}</p>"
        f"<p><code>{html.escape(code)}</code></p></body></html>"
    )
    return HTMLResponse(body, status_code=status, headers=page_headers())


def redirect_problem(owner: OAuthServer, incoming: Incoming) -> str | None:
    """Blocking: why an authorization request's ``redirect_uri`` cannot be used (never
    redirected to, RFC 6749 §4.1.2.1): one the client registered but we dropped
    (``registration.judge_redirect_uri``), or one it never registered. None if fine
    or if authlib is to judge (no client, no redirect_uri)."""
    requested = incoming.args.get("redirect_uri")
    client = owner.query_client(incoming.args.get("client_id", ""))
    if not requested or client is None:
        return None
    for item in client.data.get(REFUSED_FIELD) or []:
        if isinstance(item, dict) and item.get("redirect_uri") == requested:
            return (
                f"The redirect URI {requested} was not registered: {item.get('reason')}. "
                "Use one of the client's other redirect URIs."
            )
    if not client.check_redirect_uri(requested):
        return (
            "The redirect_uri is not one this client registered (exact match; only a "
            "loopback port may differ). Register it, or use a registered one."
        )
    return None


async def authorize(owner: OAuthServer, request: Request) -> Response:
    incoming = await read_request(request)
    if isinstance(incoming, Response):
        return incoming
    client_id = incoming.args.get("client_id", "")
    if is_cimd_client_id(client_id):
        # Re-resolved on every authorization (the resolver caches for its TTL), so a
        # changed document (new redirect URIs, name) takes effect.
        try:
            doc = await owner.cimd.resolve(client_id)
        except CIMDError as exc:
            return error_page(400, "invalid_client", exc.public_message)
        data = {
            "client_id": client_id,
            "client_name": doc.get("client_name") or urlsplit(client_id).hostname,
            "redirect_uris": list(doc["redirect_uris"]),
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "cimd": True,
        }
        if doc.get(REFUSED_FIELD):
            data[REFUSED_FIELD] = doc[REFUSED_FIELD]
        known = owner.cimd_clients.get(client_id)
        if known is None or known.data != data:
            owner.cimd_clients[client_id] = Client(data)
            await asyncio.to_thread(owner.store.save_client, client_id, data)
    refused = await asyncio.to_thread(redirect_problem, owner, incoming)
    if refused is not None:
        return error_page(400, "invalid_request", refused)
    try:
        grant = await asyncio.to_thread(owner.server.get_consent_grant, incoming)
    except oauth_errors.OAuth2Error as error:
        if error.redirect_uri:
            return to_response(owner.server.handle_error_response(None, error))
        return error_page(400, error.error, error.description or "Invalid request.")
    except ValueError:
        # authlib refuses to build an error whose text would carry characters RFC 6749
        # §5.2 forbids (they came from the request): still the request's fault.
        log.info("authorization request refused: malformed parameters")
        return error_page(400, "invalid_request", "The authorization request is malformed.")
    except Exception:
        log.exception("authorization request failed")
        return error_page(500, "server_error", "Internal error; see the log.")
    client: Client = grant.client
    redirect_uri: str = grant.redirect_uri
    state = incoming.args.get("state")
    resources = incoming.datalist.get("resource", [])
    choices: tuple[str, ...] = ()
    if names_no_server(owner, resources):
        choices = server_choices(owner)
        server: str | None = "" if choices else None
    else:
        server = owner.resolve_resource(resources[0]) if len(resources) == 1 else None
    if server is None:
        err = InvalidTargetError(
            resource_hint(owner, resources), state=state, redirect_uri=redirect_uri
        )
        return to_response(owner.server.handle_error_response(None, err))
    scope: str = grant.request.scope or SCOPE
    resource = resources[0] if server else ""
    user = GrantUser(None, owner.subject, server, resource, scope)
    # RFC 8252 §8.6: a public client's identity cannot be assured, so a remembered
    # approval never answers by itself; it only marks the request for the person.
    remembered = (
        await asyncio.to_thread(owner.store.get_consent, client.client_id, server)
        if server
        else None
    )
    groups = {
        key: members
        for key in (server, *choices)
        if key and (members := owner.group_members(key)) is not None
    }
    req = owner.broker.open(
        client_id=client.client_id,
        client_name=client.name,
        redirect_uri=redirect_uri,
        redirect_host=urlsplit(redirect_uri).netloc,
        server=server,
        resource=resource,
        scopes=tuple(scope.split()),
        previously_approved=remembered is not None
        and set(scope.split()) <= set(remembered.scope.split()),
        choices=choices,
        groups=groups,
    )
    csrf = secrets.token_urlsafe(24)
    owner.pending[req.id] = PendingAuthorization(incoming, grant, csrf, user)
    nonce = secrets.token_urlsafe(12)
    rid = html.escape(req.id)
    if server:
        what = _what(server, groups.get(server, ()))
        how = (
            "Approve or deny it in the Switchboard app, or with "
            f"<code>switchboard consent approve {rid}</code>."
        )
    else:
        what = "servers of this gateway (it did not say which)"
        how = (
            "Choose the servers and approve in the Switchboard app, or with "
            f"<code>switchboard consent approve {rid} --server NAME</code> "
            "(<code>--group NAME</code> for a group)."
        )
    page = _PAGE.format(
        client=html.escape(client.name),
        host=html.escape(urlsplit(redirect_uri).netloc),
        what=what,
        how=how,
        scope=html.escape(scope),
        rid=rid,
        csrf=html.escape(csrf),
        nonce=nonce,
        action="/oauth/authorize/continue",
    )
    response = HTMLResponse(page, headers=page_headers(nonce))
    response.set_cookie(
        CSRF_COOKIE + req.id,
        csrf,
        httponly=True,
        samesite="strict",
        path="/oauth/authorize",
    )
    return response


def _what(key: str, members: tuple[str, ...]) -> str:
    """The consent page's words for one server, or for a group and its member servers."""
    kind, name = split_key(key)
    if kind != GROUPS:
        return f"the server <strong>{html.escape(name)}</strong>"
    servers = ", ".join(f"<strong>{html.escape(m)}</strong>" for m in members) or "none yet"
    return f"the group <strong>{html.escape(name)}</strong> (its servers: {servers})"


def forget_expired(owner: OAuthServer, request_id: str, decision: Decision) -> None:
    """The broker dropped a request (timeout, or replaced under its caps): forget it
    now. A decided one waits ``timeout`` more for its consent page to post back."""
    if decision is Decision.EXPIRED:
        owner.pending.pop(request_id, None)
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # decided outside the loop (a test): the page may still post
        return
    loop.call_later(owner.broker.timeout, owner.pending.pop, request_id, None)


async def continue_authorization(owner: OAuthServer, request: Request) -> Response:
    """The consent page posts here and waits until the person decided in the app."""
    try:
        fields = dict(parse_qsl((await read_capped(request)).decode("utf-8", "replace")))
    except BodyTooLarge:
        fields = {}
    rid = fields.get("request_id", "")
    token = fields.get("csrf_token", "")
    # One cookie per request: two authorizations in one browser do not collide.
    cookie = request.cookies.get(CSRF_COOKIE + rid, "") if rid else ""
    pending = owner.pending.get(rid)
    if (
        pending is None
        or not token
        or not hmac.compare_digest(token.encode(), pending.csrf.encode())
        or not hmac.compare_digest(cookie.encode(), pending.csrf.encode())
    ):
        return error_page(403, "access_denied", "This consent request is unknown or expired.")
    decision, remember = await owner.broker.wait(rid)
    if owner.pending.pop(rid, None) is None and decision is not Decision.EXPIRED:
        return error_page(403, "access_denied", "This consent request was used already.")
    approved = decision is Decision.APPROVED
    user = pending.user
    if approved and not user.server:
        user = picked(owner, user, owner.broker.chosen(rid))
        approved = bool(user.server)
    client_id = pending.grant.client.client_id
    owner.audit.emit(
        "consent",
        actor=PERSON,
        target=user.server or None,
        outcome=APPROVED if approved else EXPIRED if decision is Decision.EXPIRED else DENIED,
        client=client_id,
        client_name=pending.grant.client.name,
        redirect_host=urlsplit(pending.grant.redirect_uri).netloc or None,
        remembered=bool(approved and remember),
    )
    for name in user.server.split() if approved else ():
        if remember:
            await asyncio.to_thread(owner.store.remember_consent, client_id, name, user.scope)
        else:  # "remember" unticked this time: the latest approval counts
            await asyncio.to_thread(owner.store.forget_consent, client_id, name)
    response = await finish(owner, pending.incoming, pending.grant, user, approved)
    if response.status_code == 302:
        response.status_code = 303
    response.delete_cookie(CSRF_COOKIE + rid, path="/oauth/authorize")
    return response


def picked(owner: OAuthServer, user: GrantUser, names: tuple[str, ...]) -> GrantUser:
    """The user of a "choose servers" request with the picked servers' (and groups')
    MCP URLs on this listener; those removed meanwhile are dropped (none left: not
    approved)."""
    iss = owner.issuer()
    kept = [n for n in names if owner.resolve_resource(key_url(iss, n)) == n]
    if len(kept) < len(names):
        log.info("consent: picked server(s) or group(s) no longer available dropped")
    return dataclasses.replace(
        user,
        server=" ".join(kept),
        resource=" ".join(key_url(iss, n) for n in kept),
    )


async def finish(
    owner: OAuthServer, incoming: Incoming, grant: Any, user: GrantUser, approved: bool
) -> Response:
    return await run(
        owner.server.create_authorization_response,
        grant.request,
        user if approved else None,
        grant,
    )
