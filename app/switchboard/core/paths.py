"""Where Switchboard keeps its files.

Platform directories by default (platformdirs); ``SWITCHBOARD_HOME`` or the CLI's
``--home`` put everything under one folder instead, for tests and second instances.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import tempfile
from pathlib import Path

import platformdirs

APP_NAME = "switchboard"
HOME_ENV = "SWITCHBOARD_HOME"
# sun_path holds 108 bytes on Linux, 104 on macOS; keep a margin for the NUL.
MAX_SOCKET_PATH = 100


@dataclasses.dataclass(frozen=True, slots=True)
class AppPaths:
    """The directories one Switchboard instance owns."""

    config_dir: Path
    data_dir: Path
    log_dir: Path
    cache_dir: Path

    @classmethod
    def default(cls, home: str | os.PathLike[str] | None = None) -> AppPaths:
        home = home or os.environ.get(HOME_ENV) or None
        if home:
            root = Path(home).expanduser().resolve()
            return cls(root / "config", root / "data", root / "logs", root / "cache")
        return cls(
            Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
            Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
            Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
            Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
        )

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def admin_token_file(self) -> Path:
        """Owner-only credential for the control API."""
        return self.config_dir / "admin-token"

    @property
    def endpoint_file(self) -> Path:
        """Written by a running engine: its URL and PID, so the CLI can find it."""
        return self.data_dir / "engine.json"

    @property
    def lock_file(self) -> Path:
        """Held (``flock``) by the one engine that runs on this home; holds its PID."""
        return self.data_dir / "engine.lock"

    @property
    def run_dir(self) -> Path:
        """The private (0700, owned by the user) directory of the engine's Unix socket.

        ``<data_dir>/run`` when the socket path fits ``sun_path``; otherwise (a long
        ``--home``) ``<tmp>/switchboard-<uid>/<hash of data_dir>``."""
        local = self.data_dir / "run"
        if len(os.fsencode(local / "engine.sock")) <= MAX_SOCKET_PATH:
            return local
        digest = hashlib.sha256(os.fsencode(self.data_dir)).hexdigest()[:16]
        uid = os.geteuid() if hasattr(os, "geteuid") else 0
        return Path(tempfile.gettempdir()) / f"switchboard-{uid}" / digest

    @property
    def control_socket(self) -> Path:
        """The engine's Unix socket: the only way the CLI, ``connect`` and the token
        code reach the control API and the first-party token path."""
        return self.run_dir / "engine.sock"

    @property
    def auth_db(self) -> Path:
        return self.data_dir / "auth.sqlite3"

    @property
    def activity_db(self) -> Path:
        """Every gateway request (issue 15.2; bounded by the settings)."""
        return self.data_dir / "activity.sqlite3"

    def server_log(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def ensure(self) -> None:
        """Create the directories, private to the user."""
        for d in (self.config_dir, self.data_dir, self.log_dir, self.cache_dir):
            d.mkdir(parents=True, exist_ok=True, mode=0o700)
