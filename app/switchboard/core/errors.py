"""One exception hierarchy for Switchboard.

::

    SwitchboardError                 base; ``str(err)`` is a sentence for a person
    ├── ConfigError                  the config file is unreadable, corrupt or invalid
    │   └── ValidationError          a value (server name, port, ...) is not acceptable
    ├── StoreError                   persisting state failed (disk full, permissions)
    ├── ServerNotFound               no server with that name
    ├── ServerExists                 a server with that name exists already
    ├── GroupNotFound                no group with that name
    ├── GroupExists                  a group with that name exists already
    ├── GroupChanged                 a group changed since the caller read it
    ├── IllegalTransition            a state change that the state machine forbids
    ├── SpawnError                   a server process could not be started
    │   └── CommandNotFound          its command is not on the PATH searched
    ├── ServerNotRunning             a request needed a running server
    ├── ListenerError                the loopback listener could not bind
    ├── EngineNotRunning             the CLI found no running engine
    ├── EngineAlreadyRunning         another engine holds this home's lock
    ├── UntrustedChannel             the engine's socket is not provably this user's
    ├── ControlAPIError              the control API answered with an error
    ├── AuthError                    authorization / token problems
    ├── SecretError                  the keyring is missing or refused
    │   └── NoKeyringError
    ├── CatalogError                 a catalog entry cannot be installed as asked
    │   ├── RegistryError            the MCP registry could not be reached or read
    │   └── RuntimeMissing           npx / uvx / docker needed by a package is absent
    └── ClientConfigError            an MCP client's config file cannot be read or edited

Every error says what happened and what to do about it; ``hint`` holds the
"what to do" part on its own so front ends can show it separately.
"""

from __future__ import annotations


class SwitchboardError(Exception):
    """Base class. ``message`` says what happened, ``hint`` what to do."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        self.message = message
        self.hint = hint
        super().__init__(f"{message} {hint}".strip() if hint else message)


class ConfigError(SwitchboardError):
    """The configuration could not be read or is not valid."""


class ValidationError(ConfigError):
    """A value given by a person or a file is not acceptable.

    ``path`` locates the value in the document when it came from one, e.g.
    ``("servers", 2, "request_timeout")``; the config store turns it into a line number.
    """

    def __init__(self, message: str, *, hint: str = "", path: tuple[str | int, ...] = ()) -> None:
        super().__init__(message, hint=hint)
        self.path = path


class StoreError(SwitchboardError):
    """Persisting state failed (disk full, permission denied, ...)."""


class ServerNotFound(SwitchboardError):
    """No server of that name is configured."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"No server named {name!r}.", hint="Run 'switchboard list' to see configured servers."
        )
        self.name = name


class ServerExists(SwitchboardError):
    """A server of that name is configured already."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"A server named {name!r} exists already.",
            hint="Pick another name or remove the existing one first.",
        )
        self.name = name


class GroupNotFound(SwitchboardError):
    """No group of that name is configured."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"No group named {name!r}.",
            hint="Run 'switchboard group list' to see configured groups.",
        )
        self.name = name


class GroupExists(SwitchboardError):
    """A group of that name is configured already."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"A group named {name!r} exists already.",
            hint="Pick another name, or delete the existing group first.",
        )
        self.name = name


class GroupChanged(SwitchboardError):
    """A read-change-write of a group found it changed meanwhile; nothing was saved."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"Group {name!r} was changed meanwhile (in the app or by another command); "
            "nothing was saved.",
            hint="Run the command again.",
        )
        self.name = name


class IllegalTransition(SwitchboardError):
    """A state change the server state machine does not allow."""


class SpawnError(SwitchboardError):
    """A server process could not be started."""


class CommandNotFound(SpawnError):
    """The server's command is not on the PATH that was searched."""

    def __init__(self, command: str, path: str) -> None:
        hint = "Install it, or give its absolute path in the server's command."
        if command in ("npx", "node", "npm"):
            hint = "Install Node.js (it provides npx), e.g. 'apt install nodejs npm'."
        elif command in ("uvx", "uv"):
            hint = "Install uv (it provides uvx), e.g. 'pip install uv'."
        super().__init__(f"Command {command!r} was not found on PATH={path}", hint=hint)
        self.command = command
        self.path = path


class ServerNotRunning(SwitchboardError):
    """The operation needs a running server."""


class ListenerError(SwitchboardError):
    """The loopback listener could not start."""


class EngineNotRunning(SwitchboardError):
    """No running Switchboard engine could be reached."""


class EngineAlreadyRunning(SwitchboardError):
    """Another engine runs on this home (it holds the home's lock)."""


class UntrustedChannel(SwitchboardError):
    """The engine's private socket (directory or peer) is not provably this user's:
    nothing secret is sent through it."""


class ControlAPIError(SwitchboardError):
    """The running engine's control API refused a request (``status``: its HTTP status)."""

    def __init__(self, message: str, *, hint: str = "", status: int = 0) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class AuthError(SwitchboardError):
    """Authorization or token handling failed."""


class SecretError(SwitchboardError):
    """The secret store failed."""


class NoKeyringError(SecretError):
    """No usable OS keyring is available."""


class CatalogError(SwitchboardError):
    """A catalog entry cannot be turned into a server as asked."""


class RegistryError(CatalogError):
    """The MCP registry could not be reached or answered something unreadable."""


class RuntimeMissing(CatalogError):
    """A package needs a runtime (npx, uvx, docker) that is not installed."""


class ClientConfigError(SwitchboardError):
    """An MCP client's config file could not be read or safely edited."""
