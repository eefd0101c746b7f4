"""Where Switchboard keeps its files.

Platform directories by default (platformdirs); ``SWITCHBOARD_HOME`` or the CLI's
``--home`` put everything under one folder instead, for tests and second instances.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import platformdirs

APP_NAME = "switchboard"
HOME_ENV = "SWITCHBOARD_HOME"


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
    def auth_db(self) -> Path:
        return self.data_dir / "auth.sqlite3"

    def server_log(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def ensure(self) -> None:
        """Create the directories, private to the user."""
        for d in (self.config_dir, self.data_dir, self.log_dir, self.cache_dir):
            d.mkdir(parents=True, exist_ok=True, mode=0o700)
