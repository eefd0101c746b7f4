"""Token forging helpers for the auth tests (valid tokens and every kind of broken one)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

ISSUER = "http://127.0.0.1:8765"
RESOURCE = "http://127.0.0.1:8765/servers/echo/mcp"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(obj: Any) -> str:
    return b64(json.dumps(obj, separators=(",", ":")).encode())


def claims(**over: Any) -> dict[str, Any]:
    now = int(time.time())
    out: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "local-user",
        "aud": RESOURCE,
        "client_id": "c1",
        "scope": "mcp",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": "j1",
        "gid": "g1",
    }
    out.update(over)
    return {k: v for k, v in out.items() if v is not None}


def sign(
    key: Any,
    payload: dict[str, Any],
    *,
    kid: str | None,
    alg: str = "RS256",
    typ: str | None = "at+jwt",
    extra_header: dict[str, Any] | None = None,
) -> str:
    header: dict[str, Any] = {"alg": alg}
    if typ is not None:
        header["typ"] = typ
    if kid is not None:
        header["kid"] = kid
    header.update(extra_header or {})
    signing_input = f"{b64json(header)}.{b64json(payload)}".encode()
    if alg == "none":
        sig = b""
    elif alg.startswith("HS"):
        sig = hmac.new(key, signing_input, hashlib.sha256).digest()
    elif alg == "RS256":
        assert isinstance(key, rsa.RSAPrivateKey)
        sig = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    elif alg == "ES256":
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    else:
        raise ValueError(alg)
    return f"{signing_input.decode()}.{b64(sig)}"


async def code_flow(
    engine: Any,
    http: Any,
    resource: str,
    *,
    redirect_uri: str = "http://127.0.0.1:40123/cb",
    client: dict[str, Any] | None = None,
    remember: bool = False,
    verifier: str = "v" * 64,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """DCR (unless ``client`` given) -> authorize -> approve via the broker -> token.
    Returns (client registration, token response)."""
    from urllib.parse import parse_qs, urlsplit

    from tests.helpers.oauth_flow import approve_on_page

    base = engine.base_url
    if client is None:
        r = await http.post(
            f"{base}/oauth/register",
            json={"client_name": "flow", "redirect_uris": [redirect_uri]},
        )
        assert r.status_code == 201, r.text
        client = r.json()
    challenge = b64(hashlib.sha256(verifier.encode()).digest())
    page = await http.get(
        f"{base}/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": client["client_id"],
            "redirect_uri": redirect_uri,
            "state": "st",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "resource": resource,
        },
    )
    if page.status_code == 302:
        location = page.headers["location"]
    else:
        assert page.status_code == 200, page.text
        location = await approve_on_page(http, engine, page, remember)
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == ["st"] and query["iss"] == [base], location
    token = await http.post(
        f"{base}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": query["code"][0],
            "redirect_uri": redirect_uri,
            "client_id": client["client_id"],
            "code_verifier": verifier,
            "resource": resource,
        },
    )
    assert token.status_code == 200, token.text
    return client, token.json()
