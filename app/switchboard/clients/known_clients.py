"""The MCP clients Switchboard can configure: where each keeps its config, per OS,
and what one server entry looks like in it.

Two forms of entry exist. The *URL form* points the client at the gateway's
Streamable HTTP URL (``http://127.0.0.1:<port>/servers/<name>/mcp``); the client must
then sign in by itself with MCP authorization (OAuth 2.1 discovery, dynamic client
registration RFC 7591, PKCE), because every gateway request needs a token. The
*stdio form* runs ``switchboard connect <name>``, a stdio bridge that brings its own
token. Each client gets the URL form only when its released version documents MCP
OAuth with dynamic registration against an HTTP server; ``form_reason`` on every
entry below says why, with a source.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from switchboard.clients.formats import Format


@dataclasses.dataclass(frozen=True, slots=True)
class HostEnv:
    """The bits of the machine client paths depend on (injected in tests)."""

    system: str
    """"linux", "darwin" or "windows"."""
    home: Path
    env: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @classmethod
    def current(cls) -> HostEnv:
        system = {"win32": "windows", "darwin": "darwin"}.get(sys.platform, "linux")
        return cls(system, Path.home(), dict(os.environ))

    def appdata(self) -> Path:
        """%APPDATA% (Windows roaming profile)."""
        value = self.env.get("APPDATA")
        return Path(value) if value else self.home / "AppData" / "Roaming"

    def which(self, command: str) -> str | None:
        """``command`` on this host's PATH (none when the PATH is not known)."""
        import shutil

        path = self.env.get("PATH")
        return shutil.which(command, path=path) if path else None

    def xdg_config(self) -> Path:
        value = self.env.get("XDG_CONFIG_HOME")
        return Path(value) if value and Path(value).is_absolute() else self.home / ".config"

    def app_support(self) -> Path:
        """Where desktop apps keep per-user settings on this OS."""
        if self.system == "darwin":
            return self.home / "Library" / "Application Support"
        if self.system == "windows":
            return self.appdata()
        return self.xdg_config()


@dataclasses.dataclass(frozen=True, slots=True)
class Target:
    """One Switchboard server as a client should reach it."""

    name: str
    url: str
    connect: tuple[str, ...]
    """argv of the stdio bridge: (..., "connect", name)."""


EntryBuilder = Callable[[Target], dict[str, Any]]


@dataclasses.dataclass(frozen=True, slots=True)
class ClientKind:
    """One MCP client application and the shape of its config."""

    id: str
    title: str
    fmt: Format
    config_path: Callable[[HostEnv], Path]
    detect_paths: Callable[[HostEnv], tuple[Path, ...]]
    container: tuple[str, ...]
    entry: EntryBuilder
    stdio_only: bool = False
    keyed_list: bool = False
    """Entries are a list of mappings with a ``name`` key (Continue)."""
    new_file: str = ""
    """Text of a fresh config file, when the client needs more than the container."""
    commands: tuple[str, ...] = ()
    """Executables whose presence on PATH also means the client is installed."""
    form_reason: str = ""
    """Why this client gets the URL or the stdio form, with a source."""
    shape: Callable[[Any], tuple[tuple[str, ...], EntryBuilder]] | None = None
    """Container and entry builder chosen from the existing file's data (OpenCode
    V1/V2); None: always ``container`` and ``entry``."""
    after_connect: str = ""
    """What the person still has to do once the entry is written (``{names}`` is the
    servers' names), e.g. Codex's own sign-in command."""

    @property
    def form(self) -> str:
        return "stdio" if self.stdio_only else "url"

    def resolve(self, data: Any) -> tuple[tuple[str, ...], EntryBuilder]:
        """(container path, entry builder) for a file holding ``data``."""
        return self.shape(data) if self.shape is not None else (self.container, self.entry)


# -- entry shapes ------------------------------------------------------------------------
def _url_entry(t: Target) -> dict[str, Any]:
    return {"url": t.url}


def _typed_http(t: Target) -> dict[str, Any]:
    return {"type": "http", "url": t.url}


def _stdio(t: Target) -> dict[str, Any]:
    return {"command": t.connect[0], "args": list(t.connect[1:])}


def _zed(t: Target) -> dict[str, Any]:
    return {"source": "custom", "command": t.connect[0], "args": list(t.connect[1:]), "env": {}}


def _gemini(t: Target) -> dict[str, Any]:
    return {"httpUrl": t.url}


def _continue(t: Target) -> dict[str, Any]:
    return {"name": t.name, "type": "streamable-http", "url": t.url}


def _goose(t: Target) -> dict[str, Any]:
    return {
        "enabled": True,
        "name": t.name,
        "type": "streamable_http",
        "uri": t.url,
        "envs": {},
        "env_keys": [],
        "headers": {},
        "description": f"Switchboard: {t.name}",
        "timeout": 300,
        "bundled": None,
        "available_tools": [],
    }


def _cline(t: Target) -> dict[str, Any]:
    return {"type": "streamableHttp", "url": t.url, "disabled": False}


def _codex(t: Target) -> dict[str, Any]:
    # `codex mcp login NAME` only sends the RFC 8707 `resource` parameter when the
    # entry has `oauth_resource` (openai/codex codex-rs/core/src/config/types.rs,
    # McpServerConfig.oauth_resource; types_tests.rs: accepted for streamable HTTP,
    # "oauth_resource is not supported for stdio"). Without it the person has to pick
    # the server in the consent dialog; with it the request names this one.
    return {"url": t.url, "oauth_resource": t.url}


def _opencode_v1(t: Target) -> dict[str, Any]:
    return {"type": "remote", "url": t.url, "enabled": True}


def _opencode_v2(t: Target) -> dict[str, Any]:
    # V2 has no `enabled` (a `disabled` flag instead) and nests servers in
    # `mcp.servers` (anomalyco/opencode packages/opencode/src/config/v2-compat.ts).
    return {"type": "remote", "url": t.url}


def _opencode_shape(data: Any) -> tuple[tuple[str, ...], EntryBuilder]:
    """V2 when the file already nests servers in ``mcp.servers``, else V1.

    Mirrors ``normalizeMcp`` in anomalyco/opencode
    packages/opencode/src/config/v2-compat.ts: ``mcp.servers`` is the V2 envelope
    unless it is itself a server (a scalar ``type`` or ``enabled``). A file without
    the envelope gets the flat V1 shape, which V2 still reads (it lowers flat
    entries) and V1 releases need.
    """
    mcp = data.get("mcp") if isinstance(data, dict) else None
    servers = mcp.get("servers") if isinstance(mcp, dict) else None
    if isinstance(servers, dict) and not any(
        k in servers and not isinstance(servers[k], dict | list) for k in ("type", "enabled")
    ):
        return ("mcp", "servers"), _opencode_v2
    return ("mcp",), _opencode_v1


# -- paths -----------------------------------------------------------------------------
def _vscode_user(h: HostEnv, product: str) -> Path:
    return h.app_support() / product / "User"


def _opencode_path(h: HostEnv) -> Path:
    base = h.xdg_config() if h.system != "windows" else h.home / ".config"
    jsonc = base / "opencode" / "opencode.jsonc"
    return jsonc if jsonc.exists() else base / "opencode" / "opencode.json"


def _goose_dir(h: HostEnv) -> Path:
    if h.system == "windows":
        return h.appdata() / "Block" / "goose" / "config"
    return h.xdg_config() / "goose"


def _zed_dir(h: HostEnv) -> Path:
    return h.appdata() / "Zed" if h.system == "windows" else h.xdg_config() / "zed"


def _codex_dir(h: HostEnv) -> Path:
    value = h.env.get("CODEX_HOME")
    return Path(value) if value else h.home / ".codex"


def _cline_data(h: HostEnv) -> Path:
    """Cline's data directory: $CLINE_DATA_DIR, else $CLINE_DIR/data, else
    ~/.cline/data (cline/cline src/shared/storage/storage-context.ts,
    createStorageContext: "All platforms (VSCode, CLI, JetBrains) use the same
    file-backed implementation")."""
    data = h.env.get("CLINE_DATA_DIR", "").strip()
    if data:
        return Path(data)
    root = h.env.get("CLINE_DIR", "").strip()
    return (Path(root) if root else h.home / ".cline") / "data"


def _cline_legacy(h: HostEnv) -> Path:
    """Where the VS Code extension kept its settings before ~/.cline/data."""
    return _vscode_user(h, "Code") / "globalStorage" / "saoudrizwan.claude-dev"


def _cline_path(h: HostEnv) -> Path:
    """The file the installed Cline reads: ``<data>/settings/cline_mcp_settings.json``
    (src/core/storage/disk.ts: GlobalFileNames.mcpSettings in the "settings"
    directory of the global storage), unless only the legacy VS Code file exists
    (an older extension that has not moved to ~/.cline yet)."""
    name = "cline_mcp_settings.json"
    current = _cline_data(h) / "settings" / name
    legacy = _cline_legacy(h) / "settings" / name
    if current.exists() or _cline_data(h).exists() or not legacy.exists():
        return current
    return legacy


_DCR = "its released version does MCP OAuth with dynamic client registration against HTTP servers"

KINDS: tuple[ClientKind, ...] = (
    ClientKind(
        "cursor",
        "Cursor",
        Format.JSON,
        lambda h: h.home / ".cursor" / "mcp.json",
        lambda h: (h.home / ".cursor",),
        ("mcpServers",),
        _url_entry,
        commands=("cursor",),
        form_reason=f"URL: {_DCR} (https://cursor.com/docs/context/mcp, Authentication).",
    ),
    ClientKind(
        "vscode",
        "VS Code",
        Format.JSON,
        lambda h: _vscode_user(h, "Code") / "mcp.json",
        lambda h: (_vscode_user(h, "Code"),),
        ("servers",),
        _typed_http,
        commands=("code",),
        form_reason=f"URL: {_DCR} since 1.101 "
        "(https://code.visualstudio.com/docs/copilot/customization/mcp-servers).",
    ),
    ClientKind(
        "vscode-insiders",
        "VS Code Insiders",
        Format.JSON,
        lambda h: _vscode_user(h, "Code - Insiders") / "mcp.json",
        lambda h: (_vscode_user(h, "Code - Insiders"),),
        ("servers",),
        _typed_http,
        commands=("code-insiders",),
        form_reason="URL: same MCP client as VS Code "
        "(https://code.visualstudio.com/docs/copilot/customization/mcp-servers).",
    ),
    ClientKind(
        "claude-code",
        "Claude Code",
        Format.JSON,
        lambda h: h.home / ".claude.json",
        lambda h: (h.home / ".claude.json", h.home / ".claude"),
        ("mcpServers",),
        _typed_http,
        commands=("claude",),
        form_reason=f"URL: {_DCR}; sign in with /mcp "
        "(https://docs.anthropic.com/en/docs/claude-code/mcp).",
    ),
    ClientKind(
        "windsurf",
        "Windsurf",
        Format.JSON,
        lambda h: h.home / ".codeium" / "windsurf" / "mcp_config.json",
        lambda h: (h.home / ".codeium" / "windsurf",),
        ("mcpServers",),
        _stdio,
        stdio_only=True,
        commands=("windsurf",),
        form_reason="stdio: closed source, and its docs say only that it 'supports OAuth "
        "for each transport type' (https://docs.windsurf.com/windsurf/cascade/mcp): not "
        "whether it registers dynamically, with which redirect URI, or whether it sends "
        "the RFC 8707 resource every sign-in here must name, so no replay can show it "
        "signs in.",
    ),
    ClientKind(
        "claude-desktop",
        "Claude Desktop",
        Format.JSON,
        lambda h: h.app_support() / "Claude" / "claude_desktop_config.json",
        lambda h: (h.app_support() / "Claude",),
        ("mcpServers",),
        _stdio,
        stdio_only=True,
        form_reason="stdio: remote servers are only added under Settings > Connectors; "
        "it will not connect to remote servers configured in claude_desktop_config.json "
        "(https://support.claude.com/en/articles/11503834).",
    ),
    ClientKind(
        "gemini",
        "Gemini CLI",
        Format.JSON,
        lambda h: h.home / ".gemini" / "settings.json",
        lambda h: (h.home / ".gemini",),
        ("mcpServers",),
        _gemini,
        commands=("gemini",),
        form_reason="URL: discovers OAuth on a 401 and registers dynamically; httpUrl is "
        "Streamable HTTP (https://geminicli.com/docs/tools/mcp-server).",
    ),
    ClientKind(
        "codex",
        "Codex",
        Format.TOML,
        lambda h: _codex_dir(h) / "config.toml",
        lambda h: (_codex_dir(h),),
        ("mcp_servers",),
        _codex,
        commands=("codex",),
        form_reason="URL: `codex mcp login NAME` runs MCP OAuth with dynamic registration "
        "(openai/codex codex-rs/rmcp-client); the entry carries oauth_resource so the "
        "login asks for this server (codex-rs/core/src/config/types.rs).",
        after_connect="Codex signs in only when asked: run `codex mcp login NAME` "
        "once for each entry ({names}).",
    ),
    ClientKind(
        "zed",
        "Zed",
        Format.JSON,
        lambda h: _zed_dir(h) / "settings.json",
        lambda h: (_zed_dir(h),),
        ("context_servers",),
        _zed,
        stdio_only=True,
        commands=("zed", "zeditor"),
        form_reason="stdio: custom context servers are commands in every Zed release "
        "(https://zed.dev/docs/ai/mcp); remote `url` servers are recent and do not "
        "document dynamic client registration.",
    ),
    ClientKind(
        "continue",
        "Continue",
        Format.YAML,
        lambda h: h.home / ".continue" / "config.yaml",
        lambda h: (h.home / ".continue",),
        ("mcpServers",),
        _continue,
        keyed_list=True,
        new_file="name: Local Assistant\nversion: 1.0.0\nschema: v1\n",
        form_reason="URL: streamable-http servers sign in through the MCP SDK's auth() "
        "with dynamic registration (continuedev/continue core/context/mcp/MCPOauth.ts).",
    ),
    ClientKind(
        "goose",
        "Goose",
        Format.YAML,
        lambda h: _goose_dir(h) / "config.yaml",
        lambda h: (_goose_dir(h),),
        ("extensions",),
        _goose,
        commands=("goose",),
        form_reason="URL: streamable_http extensions sign in with rmcp's OAuthState, "
        "registering as client 'goose' (block/goose crates/goose/src/oauth/mod.rs).",
    ),
    ClientKind(
        "lmstudio",
        "LM Studio",
        Format.JSON,
        lambda h: h.home / ".lmstudio" / "mcp.json",
        lambda h: (h.home / ".lmstudio",),
        ("mcpServers",),
        _stdio,
        stdio_only=True,
        commands=("lms",),
        form_reason="stdio: 0.3.x documents remote servers only with a static "
        "Authorization header and does no MCP OAuth, so the gateway's 401 ends it "
        "(https://lmstudio.ai/docs/app/mcp).",
    ),
    ClientKind(
        "cline",
        "Cline",
        Format.JSON,
        _cline_path,
        lambda h: (h.home / ".cline", _cline_data(h), _cline_legacy(h)),
        ("mcpServers",),
        _cline,
        commands=("cline",),
        form_reason="URL: remote servers sign in through McpOAuthManager with the MCP "
        "SDK's OAuth client provider (cline/cline src/services/mcp/McpOAuthManager.ts).",
    ),
    ClientKind(
        "kiro",
        "Kiro",
        Format.JSON,
        lambda h: h.home / ".kiro" / "settings" / "mcp.json",
        lambda h: (h.home / ".kiro",),
        ("mcpServers",),
        _stdio,
        stdio_only=True,
        commands=("kiro",),
        form_reason="stdio: closed source; its docs describe dynamic registration and a "
        "loopback callback but not the RFC 8707 resource "
        "(https://kiro.dev/docs/mcp/configuration), and its only public MCP OAuth code "
        "(aws/amazon-q-developer-cli crates/chat-cli/src/mcp_client/oauth_util.rs, "
        "rmcp 0.8) asks for OIDC scopes only (refused: invalid_scope) and names no server "
        "(tests/clients/test_replay_kiro.py).",
    ),
    ClientKind(
        "opencode",
        "OpenCode",
        Format.JSON,
        _opencode_path,
        lambda h: (_opencode_path(h).parent,),
        ("mcp",),
        _opencode_v1,
        new_file='{\n  "$schema": "https://opencode.ai/config.json"\n}\n',
        commands=("opencode",),
        shape=_opencode_shape,
        form_reason="URL: remote servers use OAuth by default and try dynamic client "
        "registration without a clientId (anomalyco/opencode "
        "packages/opencode/src/config/mcp.ts, McpOAuthConfig).",
    ),
)

BY_ID: dict[str, ClientKind] = {k.id: k for k in KINDS}
