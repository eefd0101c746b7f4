"""Persisted state: the config file (TOML) here; OAuth state lives in SQLite (auth/)."""

from switchboard.store.atomic import atomic_write
from switchboard.store.config import SCHEMA_VERSION, Config, ConfigStore

__all__ = ["SCHEMA_VERSION", "Config", "ConfigStore", "atomic_write"]
