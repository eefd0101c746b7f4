"""What is kept of a request's arguments and result when a server opted in
(``ServerSpec.record_arguments``), with secrets taken out.

Replaced by ``[redacted]``: every occurrence of a known secret value (the server's own
keyring secrets, resolved by the recorder), anything shaped like a bearer credential
(``Bearer <token>`` per RFC 6750 §2.1, a JWT per RFC 7519 §3, well-known API-key
prefixes), and the value of any object member whose name says it is a credential
(``password``, ``token``, ``authorization``, ``api_key``, ``secret``...). What is kept
is cut at :data:`MAX_TEXT` characters.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import orjson

REDACTED = "[redacted]"
MAX_TEXT = 64 * 1024
"""Longest arguments/result text kept per record (the rest is cut, and says so)."""
MIN_SECRET = 4
"""Shorter secret values are not searched for (they would redact ordinary words)."""

_BEARER = re.compile(r"(?i)\bbearer\s+[A-Za-z0-9\-._~+/]+=*")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_KEYS = re.compile(
    r"\b(?:sk-[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}"
    r"|xox[abposr]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16}|glpat-[A-Za-z0-9_-]{20,})"
)
_SECRET_NAME = re.compile(
    r"(?i)^(?:.*[-_.])?(?:passw(?:or)?d|passphrase|secret|client[-_]?secret|token|"
    r"access[-_]?token|refresh[-_]?token|authori[sz]ation|auth|api[-_]?key|apikey|"
    r"private[-_]?key|credentials?|cookie|session[-_]?id)$"
)
"""Member names whose string value is a credential: ``password``, ``github_token``,
``X-Api-Key``... (not ``max_tokens`` or ``author``)."""


class Redactor:
    """Redacts one server's documents; ``secrets``: its known secret values."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        values = sorted({s for s in secrets if len(s) >= MIN_SECRET}, key=len, reverse=True)
        self._known = re.compile("|".join(re.escape(v) for v in values)) if values else None

    def text(self, value: str) -> str:
        if self._known is not None:
            value = self._known.sub(REDACTED, value)
        value = _BEARER.sub(f"Bearer {REDACTED}", value)
        value = _JWT.sub(REDACTED, value)
        return _KEYS.sub(REDACTED, value)

    def walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {
                self.text(str(k)): (
                    REDACTED if isinstance(v, str) and _SECRET_NAME.match(str(k)) else self.walk(v)
                )
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self.walk(v) for v in value]
        return value

    def document(self, value: Any) -> str:
        """``value`` redacted, as JSON text of at most :data:`MAX_TEXT` characters."""
        text = orjson.dumps(self.walk(value)).decode()
        if len(text) > MAX_TEXT:
            text = text[:MAX_TEXT] + f"... [{len(text) - MAX_TEXT} more characters not kept]"
        return text


def arguments_of(request: bytes) -> Any:
    """What a request asks with: a tool call's ``arguments``, otherwise its ``params``."""
    try:
        msg = orjson.loads(request)
    except orjson.JSONDecodeError:
        return None
    params = msg.get("params") if isinstance(msg, dict) else None
    if not isinstance(params, dict):
        return None
    if msg.get("method") == "tools/call" and "arguments" in params:
        return params["arguments"]
    return {k: v for k, v in params.items() if k != "_meta"}


def result_of(response: bytes) -> Any:
    """What came back: the ``result``, or the ``error`` object."""
    try:
        msg = orjson.loads(response)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(msg, dict):
        return None
    return msg["result"] if "result" in msg else msg.get("error")
