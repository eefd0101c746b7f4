"""KeyProvider: RFC 7638 kid, rotation schedule, retired keys kept while their tokens
live, JWKS publishing every verifying key, persistence and the storage choice."""

from __future__ import annotations

import base64
import hashlib
import json
import stat
from pathlib import Path

import pytest

from switchboard.auth.keys import (
    FileStorage,
    KeyProvider,
    MemoryStorage,
    SecretBackendStorage,
    choose_storage,
)
from switchboard.auth.validator import TokenInvalid, TokenValidator
from switchboard.core.errors import AuthError
from tests.helpers.clocks import ManualClock
from tests.helpers.keyrings import MemorySecretStore, NoKeyring
from tests.unit.auth.tokens import ISSUER, RESOURCE, claims, sign

DAY = 86400.0


def test_kid_is_the_rfc7638_thumbprint() -> None:
    kp = KeyProvider(MemoryStorage())
    kp.load_or_create()
    jwk = kp.jwks()["keys"][0]
    canonical = json.dumps(
        {"e": jwk["e"], "kty": "RSA", "n": jwk["n"]}, separators=(",", ":"), sort_keys=True
    )
    digest = hashlib.sha256(canonical.encode()).digest()
    assert jwk["kid"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert jwk["alg"] == "RS256" and jwk["use"] == "sig"
    assert "d" not in jwk and "p" not in jwk  # never private parts


async def test_rotation_keeps_live_tokens_valid_until_they_expire() -> None:
    clock = ManualClock(1_000_000.0)
    storage = MemoryStorage()
    kp = KeyProvider(storage, rotation_interval=30 * DAY, max_token_lifetime=960, clock=clock)
    kp.load_or_create()
    old_kid, old_key = kp.signing_key()
    token = sign(
        old_key, claims(iat=int(clock.t), nbf=int(clock.t), exp=int(clock.t) + 900), kid=old_kid
    )
    v = TokenValidator(ISSUER, key_provider=kp, expected_typ="at+jwt", clock=clock)
    await v.validate(token, RESOURCE)

    clock.t += 30 * DAY  # the schedule says rotate
    assert kp.next_maintenance_in() == 0
    assert kp.maintain()
    new_kid = kp.signing_key()[0]
    assert new_kid != old_kid
    assert {k["kid"] for k in kp.jwks()["keys"]} == {old_kid, new_kid}  # both published
    v2 = TokenValidator(
        ISSUER, key_provider=kp, expected_typ="at+jwt", clock=lambda: clock.t - 30 * DAY + 10
    )
    await v2.validate(token, RESOURCE)  # a live token of the retired key still validates

    clock.t += 959
    kp.maintain()
    assert {k["kid"] for k in kp.jwks()["keys"]} == {old_kid, new_kid}
    clock.t += 2  # every token the old key signed has expired: drop it
    assert kp.maintain()
    assert [k["kid"] for k in kp.jwks()["keys"]] == [new_kid]
    assert kp.get_public_key(old_kid) is None
    with pytest.raises(TokenInvalid):
        await v2.validate(sign(old_key, claims(jti="n"), kid=old_kid), RESOURCE)


def test_keys_survive_a_restart_including_retired_ones() -> None:
    clock = ManualClock(1_000_000.0)
    storage = MemoryStorage()
    kp = KeyProvider(storage, clock=clock)
    kp.load_or_create()
    first = kp.signing_key()[0]
    kp.rotate()
    second = kp.signing_key()[0]
    again = KeyProvider(storage, clock=clock)
    again.load_or_create()
    assert again.signing_key()[0] == second
    assert {k.kid for k in again.public_keys()} == {first, second}
    retired = [k for k in again.public_keys() if k.retired_at is not None]
    assert [k.kid for k in retired] == [first]


def test_corrupt_key_document_is_a_clear_error() -> None:
    storage = MemoryStorage()
    storage.document = '{"keys": [{"pem": "garbage", "created_at": 1}]}'
    with pytest.raises(AuthError, match="corrupt"):
        KeyProvider(storage).load_or_create()


def test_without_keyring_an_owner_only_file_and_a_warning(tmp_path: Path) -> None:
    storage, warning = choose_storage(NoKeyring(), tmp_path / "keys.json")
    assert isinstance(storage, FileStorage)
    assert warning is not None and "owner-only file" in warning and "keyring" in warning
    kp = KeyProvider(storage)
    kp.load_or_create()
    mode = stat.S_IMODE((tmp_path / "keys.json").stat().st_mode)
    assert mode == 0o600
    again = KeyProvider(FileStorage(tmp_path / "keys.json"))
    again.load_or_create()
    assert again.signing_key()[0] == kp.signing_key()[0]


def test_with_keyring_the_key_goes_there(tmp_path: Path) -> None:
    ring = MemorySecretStore()
    storage, warning = choose_storage(ring, tmp_path / "keys.json")
    assert isinstance(storage, SecretBackendStorage) and warning is None
    KeyProvider(storage).load_or_create()
    # In chunks (see test_keys_chunked.py): the head entry names them, the first holds
    # the start of the PEM.
    assert "switchboard_chunked" in ring.values["auth-signing-keys"]
    assert "BEGIN PRIVATE KEY" in "".join(ring.values.values())
    assert not (tmp_path / "keys.json").exists()
