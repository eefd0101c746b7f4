"""A keyring that never answers (locked, no prompt possible) must not hang start-up."""

from __future__ import annotations

import threading
from pathlib import Path

from switchboard.auth.service import AuthService
from switchboard.core.paths import AppPaths


class HangingKeyring:
    """Looks like a usable keyring, but every call blocks (until the test releases it)."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def check(self) -> None:
        return None

    def get(self, name: str) -> str | None:
        self.release.wait()
        return None

    def set(self, name: str, value: str) -> None:
        self.release.wait()


async def test_engine_auth_starts_with_the_file_fallback_when_the_keyring_hangs(
    tmp_path: Path,
) -> None:
    paths = AppPaths.default(tmp_path)
    paths.ensure()
    keyring = HangingKeyring()
    service = AuthService(
        paths,
        issuer=lambda: "http://127.0.0.1:1",
        servers=lambda: (),
        secret_store=keyring,
        keyring_timeout=0.2,
    )
    try:
        await service.start()
        assert service.key_warning is not None
        assert "did not answer" in service.key_warning
        assert (paths.data_dir / "auth-signing-keys.json").exists()
        assert service.keys is not None
        assert service.keys.jwks()["keys"]
    finally:
        keyring.release.set()
        await service.aclose()
