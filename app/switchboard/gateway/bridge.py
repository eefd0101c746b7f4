"""Old name of :mod:`switchboard.gateway.stdio_bridge`, kept only for ``gateway/cli.py``
(branch r-cli moves that file; its import then names ``stdio_bridge`` and this goes)."""

from switchboard.gateway.stdio_bridge import (
    TokenProvider,
    env_token,
    run_bridge,
    token_provider_for,
)

__all__ = ["TokenProvider", "env_token", "run_bridge", "token_provider_for"]
