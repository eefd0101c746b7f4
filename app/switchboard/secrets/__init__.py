"""Keyring-backed secrets; values are injected into a server's environment at spawn only."""

from switchboard.secrets.store import SERVICE, SecretStore, keyring_resolver

__all__ = ["SERVICE", "SecretStore", "keyring_resolver"]
