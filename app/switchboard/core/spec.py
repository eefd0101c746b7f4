"""Frozen value types that describe servers and settings.

These are what the config file holds (see ``store.config``); everything that runs
reads them and never mutates them: a change is a new value (``dataclasses.replace``).
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

from switchboard.core.errors import ValidationError
from switchboard.core.loopback import BIND_HOSTS, is_loopback_host
from switchboard.core.otlp import check_otlp_endpoint
from switchboard.core.schema import check_fields, check_table

_NAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$")
_ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SECRET_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_HEADER_RE = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$")  # RFC 9110 §5.1 token
_RESERVED_HEADERS = frozenset(
    {"host", "content-length", "content-type", "accept", "mcp-session-id", "mcp-protocol-version"}
)

DEFAULT_PORT = 8765
DEFAULT_REQUEST_TIMEOUT = 600.0
DEFAULT_SLEEP_AFTER = 15.0
"""Idle minutes after which an on-demand server is put to sleep."""
MAX_SLEEP_AFTER = 7 * 24 * 60.0


def _refuse_unknown(
    cls: type, data: Mapping[str, Any], path: tuple[str | int, ...], what: str
) -> None:
    """Unknown keys are an error naming them and the known ones, never ignored."""
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - known
    if unknown:
        raise ValidationError(
            f"Unknown {what}(s): {', '.join(sorted(unknown))}.",
            hint=f"Known settings: {', '.join(sorted(known))}.",
            path=(*path, sorted(unknown)[0]),
        )


class Transport(enum.Enum):
    """How Switchboard talks to a server."""

    STDIO = "stdio"
    """We spawn it; JSON-RPC on its stdin/stdout."""
    STREAMABLE_HTTP = "streamable-http"
    """It listens on its own local Streamable HTTP URL; we pass requests through."""
    SSE = "sse"
    """It listens on its own local legacy HTTP+SSE URL; we pass requests through."""


class AuthMode(enum.Enum):
    """Who may call a server through the gateway."""

    SWITCHBOARD = "switchboard"
    """Tokens from Switchboard's own authorization server (default)."""
    EXTERNAL = "external"
    """Tokens from an external OIDC issuer (validated with its HTTP JWKS)."""
    OFF = "off"
    """No token: any loopback request with an acceptable Origin. Flagged in the UI."""


class Isolation(enum.Enum):
    """How client sessions share one stdio server process (``gateway/mux.py``).

    A stdio server's requests to the client (sampling, elicitation, roots) do not say
    which client request caused them (MCP 2025-11-25 ``client/sampling``: they happen
    "during" a request, but nothing on the stdio wire names it unless the server
    echoes the caller's ``_meta.progressToken``). Routing one by a guess would show one
    person's prompt to another, so attribution is exact or the request is refused.
    """

    AUTO = "auto"
    """Default. Requests run concurrently until the server first asks a client
    something during a request without naming the caller; from then on one *causing* request
    (``tools/call``, ``prompts/get``, ``resources/read``, ...) runs at a time and the
    others wait in line (FIFO), so the caller of every later server request is known.
    Servers that never ask (most) keep full concurrency; those that do stay correct
    at the price of throughput, which only they pay."""
    SERIAL = "serial"
    """One causing request at a time from the start (the very first server request is
    attributed exactly too); for servers known to sample or elicit."""
    SHARED = "shared"
    """Never queue: full concurrency; a server request whose caller cannot be proven
    (its progress token, or the only causing request in flight) is refused."""


class StartMode(enum.Enum):
    """When a server's process runs (issue 16.2).

    Files written before start modes existed have ``autostart = true | false`` instead:
    it loads as ``always`` | ``manual`` (:meth:`ServerSpec.from_dict`), and the file is
    written back with ``start``. Starting an always/manual server by hand makes it
    ``always`` and stopping it makes it ``manual`` (what ``autostart`` remembered: what
    ran comes back at the next launch); an on-demand server keeps its mode.
    """

    ALWAYS = "always"
    """Started at launch (and kept running, restarted after crashes)."""
    ON_DEMAND = "on-demand"
    """Asleep (no process) until a client calls it; the call waits for it to start.
    After ``sleep_after`` idle minutes it is stopped and sleeps again."""
    MANUAL = "manual"
    """Runs only when the person starts it."""


@dataclasses.dataclass(frozen=True, slots=True)
class _Legacy:
    """Keys older versions wrote (type-checked like the others, then translated)."""

    autostart: bool = False


def validate_name(name: str) -> str:
    """Check that ``name`` is usable as one URL path segment and a file name."""
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise ValidationError(
            f"Invalid server name {name!r}.",
            hint="Use 1-64 lowercase letters, digits, '.', '_' or '-', "
            "starting and ending with a letter or digit (e.g. 'github' or 'time-server').",
        )
    return name


def suggest_name(raw: str) -> str:
    """Turn an arbitrary label (package name, title) into a valid server name."""
    base = raw.rsplit("/", 1)[-1].lower()
    base = re.sub(r"[^a-z0-9._-]+", "-", base).strip("-._")[:64].strip("-._")
    return base or "server"


@dataclasses.dataclass(frozen=True, slots=True)
class RestartPolicy:
    """When and how fast a crashed server is started again.

    Delays grow ``initial_delay * multiplier**n`` up to ``max_delay`` with +/- ``jitter``
    (a fraction). A run longer than ``stable_after`` seconds resets the count. More than
    ``max_restarts`` crashes without a stable run in between end in FAILED.
    """

    enabled: bool = True
    initial_delay: float = 0.5
    max_delay: float = 30.0
    multiplier: float = 2.0
    jitter: float = 0.2
    stable_after: float = 30.0
    max_restarts: int = 5

    def __post_init__(self) -> None:
        if self.initial_delay < 0 or self.max_delay < self.initial_delay:
            raise ValidationError(
                "Restart delays must satisfy 0 <= initial_delay <= max_delay.",
                hint="Fix the server's restart settings.",
            )
        if self.multiplier < 1 or not 0 <= self.jitter < 1 or self.max_restarts < 0:
            raise ValidationError(
                "Restart policy out of range "
                "(multiplier >= 1, 0 <= jitter < 1, max_restarts >= 0).",
                hint="Fix the server's restart settings.",
            )


@dataclasses.dataclass(frozen=True, slots=True)
class ServerSpec:
    """Everything needed to run one MCP server and expose it through the gateway."""

    kind: ClassVar[str] = "servers"
    """The gateway path segment (``/servers/<name>/mcp``); a GroupSpec's is ``groups``."""

    name: str
    command: str = ""
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = dataclasses.field(default_factory=dict)
    secrets: Mapping[str, str] = dataclasses.field(default_factory=dict)
    """Environment variable -> name of a secret in the keyring (values never stored here)."""
    cwd: str | None = None
    transport: Transport = Transport.STDIO
    url: str | None = None
    """For HTTP transports: the server's own local URL."""
    restart: RestartPolicy = dataclasses.field(default_factory=RestartPolicy)
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    auth: AuthMode = AuthMode.SWITCHBOARD
    external_issuer: str | None = None
    description: str = ""
    start: StartMode = StartMode.MANUAL
    """When the process runs: see :class:`StartMode`."""
    sleep_after: float = DEFAULT_SLEEP_AFTER
    """Idle minutes before an on-demand server sleeps (no request in flight or made)."""
    isolation: Isolation = Isolation.AUTO
    """How client sessions share the stdio process (see :class:`Isolation`)."""
    remote: bool = False
    """A remote server (``remote/``): ``url`` is its https MCP endpoint (Streamable HTTP
    or legacy SSE per ``transport``), Switchboard is its one upstream client (its own
    OAuth sign-in or ``headers``) and clients reach it through the mux like a stdio
    server. Without it an HTTP server is a local one we pass requests through to."""
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    """Remote servers: HTTP header -> name of a keyring secret holding its value (API keys)."""
    oauth_client_id: str | None = None
    """Remote servers: a client id the person registered with the provider by hand
    (its secret, if any, is a keyring secret; see ``remote/vault.py``)."""
    record_arguments: bool = False
    """Keep the arguments and results of its requests in the activity log (secrets
    redacted); off by default: they can hold personal data."""

    @property
    def autostart(self) -> bool:
        """Started by the engine at launch (``start = "always"``)."""
        return self.start is StartMode.ALWAYS

    def __post_init__(self) -> None:
        validate_name(self.name)
        object.__setattr__(self, "args", tuple(self.args))
        object.__setattr__(self, "env", dict(self.env))
        object.__setattr__(self, "secrets", dict(self.secrets))
        object.__setattr__(self, "headers", dict(self.headers))
        if self.remote:
            self._check_remote()
        elif self.headers or self.oauth_client_id:
            raise ValidationError(
                f"Server {self.name!r} has headers or an OAuth client id but is not remote.",
                hint="Only remote servers (remote = true) send headers upstream.",
            )
        if self.transport is Transport.STDIO and not self.command:
            raise ValidationError(
                f"Server {self.name!r} has no command.",
                hint="A stdio server needs a command to run, e.g. 'npx'.",
            )
        if self.transport is not Transport.STDIO:
            if not self.url:
                raise ValidationError(
                    f"Server {self.name!r} uses {self.transport.value} but has no URL.",
                    hint="Give the local URL the server listens on, e.g. http://127.0.0.1:3001/mcp.",
                )
            parts = urlsplit(self.url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValidationError(
                    f"Server {self.name!r} has an invalid URL {self.url!r}.",
                    hint="Use an http(s) URL such as http://127.0.0.1:3001/mcp.",
                )
        for key in list(self.env) + list(self.secrets):
            if not _ENV_RE.fullmatch(key):
                raise ValidationError(
                    f"Invalid environment variable name {key!r} in server {self.name!r}.",
                    hint="Use letters, digits and '_' and do not start with a digit.",
                )
        for ref in self.secrets.values():
            if not _SECRET_RE.fullmatch(ref):
                raise ValidationError(
                    f"Invalid secret name {ref!r} in server {self.name!r}.",
                    hint="Secret names use letters, digits, '.', '_' or '-'.",
                )
        if not 0 < self.request_timeout <= 86400:
            raise ValidationError(
                f"Request timeout {self.request_timeout} of server {self.name!r} is out of range.",
                hint="Use a number of seconds between 1 and 86400.",
            )
        if self.auth is AuthMode.EXTERNAL and not self.external_issuer:
            raise ValidationError(
                f"Server {self.name!r} uses an external issuer but names none.",
                hint="Set external_issuer to the issuer URL of your identity provider.",
            )
        if isinstance(self.sleep_after, bool) or not 0 < self.sleep_after <= MAX_SLEEP_AFTER:
            raise ValidationError(
                f"sleep_after {self.sleep_after!r} of server {self.name!r} is out of range.",
                hint=f"Use a number of idle minutes above 0 and at most {MAX_SLEEP_AFTER:g} "
                "(a week), e.g. 15.",
            )
        if self.start is StartMode.ON_DEMAND and self.transport is not Transport.STDIO:
            raise ValidationError(
                f"Server {self.name!r} cannot start on demand: it uses "
                f"{self.transport.value}, and only stdio servers are started on a call.",
                hint='Use start = "always" or "manual" for HTTP servers.',
            )

    @property
    def muxed(self) -> bool:
        """Served through the gateway's mux (a stdio process or a remote session), not
        passed through to a local HTTP server."""
        return self.transport is Transport.STDIO or self.remote

    def _check_remote(self) -> None:
        """A remote server: an https URL (http only on a loopback address: MCP
        2025-11-25 basic/authorization "Communication Security"), no command."""
        if self.transport is Transport.STDIO:
            raise ValidationError(
                f"Remote server {self.name!r} needs an HTTP transport.",
                hint='Use transport = "streamable-http" (or "sse" for legacy servers).',
            )
        if self.command:
            raise ValidationError(
                f"Remote server {self.name!r} has a command; remote servers run elsewhere.",
                hint="Remove the command, or make it a local server (remote = false).",
            )
        parts = urlsplit(self.url or "")
        host = parts.hostname or ""
        if parts.scheme != "https" and not (parts.scheme == "http" and is_loopback_host(host)):
            raise ValidationError(
                f"Remote server {self.name!r} has URL {self.url!r}; remote servers need https.",
                hint="Use the provider's https:// URL (plain http only for 127.0.0.1/localhost).",
            )
        if parts.username or parts.password or parts.fragment:
            raise ValidationError(
                f"Remote server {self.name!r}: the URL must not hold credentials or a fragment.",
                hint="Put API keys in headers backed by keyring secrets instead.",
            )
        for header, ref in self.headers.items():
            if not _HEADER_RE.fullmatch(header) or header.lower() in _RESERVED_HEADERS:
                raise ValidationError(
                    f"Invalid header name {header!r} in server {self.name!r}.",
                    hint="Use an HTTP header name such as 'Authorization' or 'X-API-Key'.",
                )
            if not isinstance(ref, str) or not _SECRET_RE.fullmatch(ref):
                raise ValidationError(
                    f"Invalid secret name {ref!r} for header {header!r} of {self.name!r}.",
                    hint="Headers name a keyring secret ('switchboard secret set NAME').",
                )
        if self.oauth_client_id is not None and not (0 < len(self.oauth_client_id) <= 512):
            raise ValidationError(
                f"Invalid OAuth client id for server {self.name!r}.",
                hint="Paste the client id the provider gave you.",
            )

    def to_dict(self) -> dict[str, Any]:
        """A plain, JSON/TOML-friendly form (omits defaults to keep files short)."""
        out: dict[str, Any] = {"name": self.name}
        if self.command:
            out["command"] = self.command
        if self.args:
            out["args"] = list(self.args)
        if self.env:
            out["env"] = dict(self.env)
        if self.secrets:
            out["secrets"] = dict(self.secrets)
        if self.cwd:
            out["cwd"] = self.cwd
        out["transport"] = self.transport.value
        if self.url:
            out["url"] = self.url
        if self.restart != RestartPolicy():
            out["restart"] = dataclasses.asdict(self.restart)
        if self.request_timeout != DEFAULT_REQUEST_TIMEOUT:
            out["request_timeout"] = self.request_timeout
        out["auth"] = self.auth.value
        if self.external_issuer:
            out["external_issuer"] = self.external_issuer
        if self.description:
            out["description"] = self.description
        out["start"] = self.start.value
        if self.sleep_after != DEFAULT_SLEEP_AFTER:
            out["sleep_after"] = self.sleep_after
        if self.isolation is not Isolation.AUTO:
            out["isolation"] = self.isolation.value
        if self.record_arguments:
            out["record_arguments"] = True
        if self.remote:
            out["remote"] = True
        if self.headers:
            out["headers"] = dict(self.headers)
        if self.oauth_client_id:
            out["oauth_client_id"] = self.oauth_client_id
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: tuple[str | int, ...] = ()) -> ServerSpec:
        """Build from :meth:`to_dict` output; unknown keys are an error, not ignored, and
        values of the wrong type are an error naming the key, never coerced.
        ``path`` says where ``data`` sits in a document (for messages and line numbers)."""
        data = _translate_legacy(check_table(data, path, "[servers]"), path)
        _refuse_unknown(cls, data, path, "server setting")
        kwargs: dict[str, Any] = dict(data)
        if "name" not in kwargs:
            raise ValidationError(
                "A server entry has no name.", hint='Add name = "...".', path=path
            )
        check_fields(cls, kwargs, path)
        if "restart" in kwargs:
            check_fields(RestartPolicy, kwargs["restart"], (*path, "restart"))
        try:
            if "transport" in kwargs:
                kwargs["transport"] = Transport(kwargs["transport"])
            if "auth" in kwargs:
                kwargs["auth"] = AuthMode(kwargs["auth"])
            if "restart" in kwargs:
                kwargs["restart"] = RestartPolicy(**kwargs["restart"])
        except (ValueError, TypeError) as exc:
            raise ValidationError(
                f"Server {kwargs.get('name')!r}: {exc}.",
                hint="Fix the value in the config.",
                path=path,
            ) from None
        if "start" in kwargs:
            kwargs["start"] = StartMode(kwargs["start"])  # check_fields checked the value
        if "sleep_after" in kwargs:
            kwargs["sleep_after"] = float(kwargs["sleep_after"])
        if "isolation" in kwargs:
            try:
                kwargs["isolation"] = Isolation(kwargs["isolation"])
            except ValueError:
                raise ValidationError(
                    f"Server {kwargs['name']!r}: unknown isolation {kwargs['isolation']!r}.",
                    hint="Use " + ", ".join(i.value for i in Isolation) + ".",
                ) from None
        if "args" in kwargs:
            if not isinstance(kwargs["args"], list | tuple) or not all(
                isinstance(a, str) for a in kwargs["args"]
            ):
                raise ValidationError(
                    f"Server {kwargs['name']!r}: args must be a list of strings.",
                    hint='Write args = ["-y", "package"].',
                )
            kwargs["args"] = tuple(kwargs["args"])
        for key in ("env", "secrets", "headers"):
            if key in kwargs and (
                not isinstance(kwargs[key], Mapping)
                or not all(isinstance(v, str) for v in kwargs[key].values())
            ):
                raise ValidationError(
                    f"Server {kwargs['name']!r}: {key} must map names to strings.",
                    hint="Quote every value.",
                )
        if "request_timeout" in kwargs:
            kwargs["request_timeout"] = float(kwargs["request_timeout"])  # an int is fine too
        try:
            return cls(**kwargs)
        except ValidationError as exc:
            if exc.path or not path:
                raise
            raise ValidationError(exc.message, hint=exc.hint, path=path) from None
        except TypeError as exc:
            raise ValidationError(
                f"Server {kwargs.get('name')!r}: {exc}.",
                hint="Fix the value in the config.",
                path=path,
            ) from None


def _translate_legacy(data: Mapping[str, Any], path: tuple[str | int, ...]) -> Mapping[str, Any]:
    """``autostart = true | false`` (files before start modes) -> ``start = "always" |
    "manual"``. Both keys at once is an error: they could disagree."""
    if "autostart" not in data:
        return data
    check_fields(_Legacy, {"autostart": data["autostart"]}, path)
    if "start" in data:
        raise ValidationError(
            "A server has both 'autostart' and 'start'.",
            hint='Keep only start = "always", "on-demand" or "manual".',
            path=(*path, "autostart"),
        )
    out = {k: v for k, v in data.items() if k != "autostart"}
    out["start"] = (StartMode.ALWAYS if data["autostart"] else StartMode.MANUAL).value
    return out


@dataclasses.dataclass(frozen=True, slots=True)
class Settings:
    """Application-wide settings."""

    port: int = DEFAULT_PORT
    host: str = "127.0.0.1"
    start_at_login: bool = False
    theme: str = "system"
    access_token_ttl: int = 900
    key_rotation_days: int = 30
    otlp_endpoint: str = ""
    """OpenTelemetry: the OTLP/HTTP endpoint gateway traces and metrics go to, e.g.
    ``http://127.0.0.1:4318`` ("" = off, the default; ``switchboard/telemetry``)."""
    activity_max_rows: int = 100_000
    """The activity log keeps at most this many requests (the oldest go first)..."""
    activity_max_days: int = 30
    """... and none older than this many days."""

    def __post_init__(self) -> None:
        check_otlp_endpoint(self.otlp_endpoint)
        if not isinstance(self.port, int) or not 0 <= self.port <= 65535:
            raise ValidationError(
                f"Invalid port {self.port!r}.", hint="Use a number between 1024 and 65535."
            )
        if self.host not in BIND_HOSTS:
            raise ValidationError(
                f"Refusing to listen on {self.host!r}: Switchboard binds loopback only.",
                hint="Use 127.0.0.1.",
            )
        if self.theme not in ("system", "light", "dark"):
            raise ValidationError(
                f"Unknown theme {self.theme!r}.", hint="Use system, light or dark."
            )
        if not 60 <= self.access_token_ttl <= 86400:
            raise ValidationError(
                "access_token_ttl must be between 60 and 86400 seconds.", hint="Fix the setting."
            )
        if not 1 <= self.key_rotation_days <= 365:
            raise ValidationError(
                "key_rotation_days must be between 1 and 365.", hint="Fix the setting."
            )
        if not 100 <= self.activity_max_rows <= 10_000_000:
            raise ValidationError(
                "activity_max_rows must be between 100 and 10000000.", hint="Fix the setting."
            )
        if not 1 <= self.activity_max_days <= 3650:
            raise ValidationError(
                "activity_max_days must be between 1 and 3650.", hint="Fix the setting."
            )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: tuple[str | int, ...] = ()) -> Settings:
        """Build from :meth:`to_dict` output; wrong types and unknown keys are errors."""
        data = check_table(data, path, "settings")
        _refuse_unknown(cls, data, path, "setting")
        check_fields(cls, data, path)
        try:
            return cls(**dict(data))
        except ValidationError as exc:
            if exc.path or not path:
                raise
            raise ValidationError(exc.message, hint=exc.hint, path=path) from None
        except TypeError as exc:
            raise ValidationError(
                f"Invalid settings: {exc}.", hint="Fix the config.", path=path
            ) from None
