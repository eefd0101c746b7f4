"""Old name of :mod:`switchboard.gateway.stdio_bridge`, kept only so that the CLI's
``connect`` (``gateway/cli.py``, moved to ``cli/serve.py`` by another branch) imports
unchanged; once it imports ``switchboard.gateway.stdio_bridge``, this goes."""

from switchboard.gateway.stdio_bridge import (
    TokenProvider,
    env_token,
    run_bridge,
    token_provider_for,
)

__all__ = ["TokenProvider", "env_token", "run_bridge", "token_provider_for"]
