"""What a client may register: redirect URIs judged one by one, metadata checked for type,
size and characters before authlib sees it, and registration caps per source.

Redirect URIs (RFC 8252 §7, OAuth 2.1 §2.3.1):

- loopback ``http`` (``127.0.0.1``, ``[::1]``, ``localhost``; §7.3): accepted;
- private-use schemes (§7.1) for native apps: accepted when the scheme is in
  reverse-domain form (contains a dot, ``com.example.app:/cb``) or is one of the known
  desktop apps' schemes (``cursor``, ``vscode``, ``vscode-insiders``, ``windsurf``,
  ``kiro``, ...). Never a scheme a browser gives a meaning of its own (``javascript``,
  ``data``, ``file``, ``blob``, ``about``, ...) nor an ``http``-lookalike;
- ``https`` on a loopback host: accepted; ``https`` elsewhere (§7.2 claimed URLs) and
  non-loopback ``http``: **dropped** from the registration, because the authorization
  code would leave this computer. The rest of the registration stands; the response
  lists only the accepted URIs and names the dropped ones with their reason in
  ``refused_redirect_uris`` (an extension field, RFC 7591 §3.2.1 allows more metadata);
- anything malformed (not a string, relative, control characters, backslashes,
  whitespace, non-ASCII, credentials or a fragment, a bad port, over 2048 characters)
  refuses the whole registration: that is a broken or hostile client, not a policy
  question. When no URI is left, ``invalid_redirect_uri`` names each reason.

Metadata (RFC 7591 §2): only the fields we use are kept, each of its JSON type, bounded
in size, without control characters or lone surrogates (they would be stored and then
fail to encode in the response or on the consent page). Scopes and grant types we do
not offer are dropped (§2 lets the server replace requested values).

Caps: all requests come from 127.0.0.1, so the peer address says nothing about which
process asked. The cap is keyed on what a client states about itself, its
``client_name`` and the hosts of its redirect URIs (:func:`source_key`): one client that
floods uses up its own budget, not another client's. A process that changes its name on
every request is held by the global ceiling, which bounds memory and disk.
"""

from __future__ import annotations

import collections
import dataclasses
import re
import unicodedata
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from switchboard.core.loopback import is_loopback_host

MAX_URI = 2048
MAX_REDIRECT_URIS = 10
MAX_NAME = 200
MAX_SHORT = 200
MAX_LIST = 10
# Schemes of desktop apps that register without reverse-domain form (RFC 8252 §7.1 says
# SHOULD, these apps predate it). Lower case; a scheme is compared lower-cased.
KNOWN_APP_SCHEMES = frozenset(
    {
        "cursor",
        "vscode",
        "vscode-insiders",
        "vscodium",
        "code-oss",
        "windsurf",
        "kiro",
        "trae",
        "zed",
        "positron",
    }
)
# Schemes a browser or the OS gives a meaning of its own: never a redirect target.
FORBIDDEN_SCHEMES = frozenset(
    {
        "javascript",
        "vbscript",
        "data",
        "file",
        "blob",
        "about",
        "filesystem",
        "view-source",
        "ftp",
        "ws",
        "wss",
        "mailto",
        "tel",
        "sms",
        "chrome",
        "chrome-extension",
        "moz-extension",
        "resource",
        "jar",
    }
)
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*$")
_CONTROL = re.compile(r"[\x00-\x20\x7f\\]")
REFUSED_FIELD = "refused_redirect_uris"


class RegistrationRejected(Exception):
    """The registration request cannot be accepted: an RFC 7591 §3.2.2 error."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


@dataclasses.dataclass(frozen=True, slots=True)
class RedirectVerdict:
    """One redirect URI judged: ``accepted``, or refused with ``reason``; ``malformed``
    refusals refuse the whole registration, the others only drop that URI."""

    uri: str
    accepted: bool
    reason: str = ""
    malformed: bool = False


def _show(value: Any) -> str:
    """A value for an error description: printable ASCII only, bounded (RFC 6749 §5.2)."""
    text = value if isinstance(value, str) else type(value).__name__
    text = "".join(c if " " <= c <= "~" and c not in '"\\' else "?" for c in text)
    return text if len(text) <= 80 else text[:77] + "..."


def judge_redirect_uri(value: Any) -> RedirectVerdict:
    """RFC 8252 §7 for one registered redirect URI (see the module docstring)."""

    def bad(reason: str) -> RedirectVerdict:
        return RedirectVerdict(_show(value), False, reason, malformed=True)

    if not isinstance(value, str):
        return bad("a redirect URI must be a string")
    if not value or len(value) > MAX_URI:
        return bad(f"a redirect URI must have 1 to {MAX_URI} characters")
    if not value.isascii() or _CONTROL.search(value):
        return bad("spaces, control characters, backslashes or non-ASCII characters")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return bad("not a valid URI")
    scheme = parts.scheme.lower()
    if not scheme or not _SCHEME.match(scheme) or not value[: len(scheme) + 1].endswith(":"):
        return bad("not an absolute URI")
    if "#" in value:
        return bad("a redirect URI must not have a fragment (RFC 6749 §3.1.2)")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return bad("a redirect URI must not carry credentials")
    if scheme in ("http", "https"):
        if not parts.hostname or not value[len(scheme) + 1 :].startswith("//"):
            return bad("an http(s) redirect URI needs a host")
        if is_loopback_host(parts.hostname):
            return RedirectVerdict(value, True)
        return RedirectVerdict(
            value,
            False,
            f"the authorization code would be sent to {_show(parts.hostname)}, off this "
            "computer; use a loopback (http://127.0.0.1:PORT/...) or app redirect",
        )
    if scheme in FORBIDDEN_SCHEMES:
        return bad(f"the {scheme}: scheme is never a redirect target")
    if scheme.startswith("http"):
        return bad(f"the {_show(scheme)}: scheme looks like http(s)")
    if "." not in scheme and scheme not in KNOWN_APP_SCHEMES:
        return bad(
            f"the {_show(scheme)}: scheme is not a private-use scheme in reverse-domain "
            "form (RFC 8252 §7.1, e.g. com.example.app:/callback)"
        )
    if not parts.path and not parts.netloc:
        return bad("an app redirect URI needs a path")
    return RedirectVerdict(value, True)


def clean_text(field: str, value: Any, limit: int) -> str:
    if not isinstance(value, str):
        raise RegistrationRejected("invalid_client_metadata", f"{field} must be a string.")
    if len(value) > limit:
        raise RegistrationRejected(
            "invalid_client_metadata", f"{field} is longer than {limit} characters."
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise RegistrationRejected(
            "invalid_client_metadata", f"{field} is not valid Unicode text."
        ) from None
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co") for c in value):
        raise RegistrationRejected(
            "invalid_client_metadata",
            f"{field} contains control or invisible formatting characters.",
        )
    return value


def _clean_list(field: str, value: Any, limit: int = MAX_LIST) -> list[str]:
    if not isinstance(value, list) or len(value) > limit:
        raise RegistrationRejected(
            "invalid_client_metadata", f"{field} must be a list of at most {limit} strings."
        )
    return [clean_text(field, item, MAX_SHORT) for item in value]


def _clean_uri_field(field: str, value: Any) -> str:
    text = clean_text(field, value, MAX_URI)
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or _CONTROL.search(text):
        raise RegistrationRejected("invalid_client_metadata", f"{field} must be an http(s) URL.")
    return text


_TEXT_FIELDS = {"client_name": MAX_NAME, "software_id": MAX_SHORT, "software_version": MAX_SHORT}
_URI_FIELDS = ("client_uri", "logo_uri", "tos_uri", "policy_uri")


def clean_metadata(
    body: Any,
    *,
    scopes_supported: Iterable[str],
    grant_types_supported: Iterable[str],
) -> tuple[dict[str, Any], list[RedirectVerdict]]:
    """The RFC 7591 §2 metadata we keep, checked; and the redirect URIs dropped by policy.
    Raises :class:`RegistrationRejected` for anything malformed or when no redirect URI
    is left."""
    if not isinstance(body, dict):
        raise RegistrationRejected(
            "invalid_client_metadata", "The registration body must be a JSON object."
        )
    out: dict[str, Any] = {}
    uris = body.get("redirect_uris")
    if not isinstance(uris, list) or not uris:
        raise RegistrationRejected(
            "invalid_redirect_uri", "redirect_uris must be a non-empty list of URIs."
        )
    if len(uris) > MAX_REDIRECT_URIS:
        raise RegistrationRejected(
            "invalid_redirect_uri", f"At most {MAX_REDIRECT_URIS} redirect URIs."
        )
    verdicts = [judge_redirect_uri(u) for u in uris]
    broken = [v for v in verdicts if v.malformed]
    if broken:
        raise RegistrationRejected("invalid_redirect_uri", _reasons(broken))
    accepted = list(dict.fromkeys(v.uri for v in verdicts if v.accepted))
    dropped = [v for v in verdicts if not v.accepted]
    if not accepted:
        raise RegistrationRejected("invalid_redirect_uri", _reasons(dropped))
    out["redirect_uris"] = accepted
    for field, limit in _TEXT_FIELDS.items():
        if body.get(field) is not None:
            out[field] = clean_text(field, body[field], limit)
    for field in _URI_FIELDS:
        if body.get(field) is not None:
            out[field] = _clean_uri_field(field, body[field])
    method = body.get("token_endpoint_auth_method")
    if method is not None:
        out["token_endpoint_auth_method"] = clean_text(
            "token_endpoint_auth_method", method, MAX_SHORT
        )
    if body.get("scope") is not None:
        wanted = clean_text("scope", body["scope"], 1000).split()
        kept = [s for s in dict.fromkeys(wanted) if s in set(scopes_supported)]
        if kept:
            out["scope"] = " ".join(kept)
    if body.get("grant_types") is not None:
        grants = _clean_list("grant_types", body["grant_types"])
        offered = set(grant_types_supported)
        kept_grants = [g for g in dict.fromkeys(grants) if g in offered]
        if not kept_grants:
            raise RegistrationRejected(
                "invalid_client_metadata",
                "None of grant_types is offered; use authorization_code and refresh_token.",
            )
        out["grant_types"] = kept_grants
    if body.get("response_types") is not None:
        out["response_types"] = list(
            dict.fromkeys(_clean_list("response_types", body["response_types"]))
        )
    if body.get("contacts") is not None:
        out["contacts"] = _clean_list("contacts", body["contacts"])
    return out, dropped


def _reasons(verdicts: list[RedirectVerdict]) -> str:
    parts = [f"{v.uri}: {v.reason}" for v in verdicts[:5]]
    more = f" (and {len(verdicts) - 5} more)" if len(verdicts) > 5 else ""
    return "No acceptable redirect URI. " + "; ".join(parts) + more + "."


def source_key(metadata: dict[str, Any]) -> str:
    """Who is registering, as far as a loopback server can tell: the client's name and
    the origins its redirect URIs point at (loopback ports left out, they change)."""
    name = " ".join(str(metadata.get("client_name") or "").casefold().split())
    targets = set()
    for uri in metadata.get("redirect_uris", []):
        parts = urlsplit(uri)
        host = parts.hostname or ""
        if is_loopback_host(host):
            targets.add(f"{parts.scheme}://loopback")
        else:
            targets.add(f"{parts.scheme}://{host}")
    return name + "|" + ",".join(sorted(targets))


class RegistrationLimiter:
    """Sliding-window caps: ``per_source`` registrations per ``window`` seconds for one
    :func:`source_key`, and ``ceiling`` for all sources together. At most ``max_sources``
    keys are tracked (the least recently used are forgotten), so memory stays bounded."""

    def __init__(
        self, *, per_source: int, ceiling: int, window: float, max_sources: int = 1024
    ) -> None:
        self.per_source = per_source
        self.ceiling = ceiling
        self.window = window
        self.max_sources = max_sources
        self._all: collections.deque[float] = collections.deque()
        self._by_source: collections.OrderedDict[str, collections.deque[float]] = (
            collections.OrderedDict()
        )

    def _trim(self, times: collections.deque[float], now: float) -> None:
        while times and now - times[0] >= self.window:
            times.popleft()

    def retry_after(self, key: str, now: float) -> tuple[float, str] | None:
        """Count one registration by ``key``; or (seconds to wait, which cap) when a cap
        is reached (the attempt is then not counted)."""
        self._trim(self._all, now)
        mine = self._by_source.get(key)
        if mine is None:
            mine = collections.deque()
        self._trim(mine, now)
        if len(mine) >= self.per_source:
            return max(0.0, self.window - (now - mine[0])), "source"
        if len(self._all) >= self.ceiling:
            return max(0.0, self.window - (now - self._all[0])), "global"
        mine.append(now)
        self._all.append(now)
        self._by_source[key] = mine
        self._by_source.move_to_end(key)
        while len(self._by_source) > self.max_sources:
            self._by_source.popitem(last=False)
        return None
