"""The MCP clients Switchboard can configure: where each keeps its config, per OS,
and what one server entry looks like in it.

Every entry points at the gateway's Streamable HTTP URL
(``http://127.0.0.1:<port>/servers/<name>/mcp``), except for clients that only launch
stdio servers, whose entry runs ``switchboard connect <name>`` (a stdio bridge to
the same URL).
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


# -- entry shapes ------------------------------------------------------------------------
def _url_entry(t: Target) -> dict[str, Any]:
    return {"url": t.url}


def _typed_http(t: Target) -> dict[str, Any]:
    return {"type": "http", "url": t.url}


def _stdio(t: Target) -> dict[str, Any]:
    return {"command": t.connect[0], "args": list(t.connect[1:])}


def _zed(t: Target) -> dict[str, Any]:
    return {"source": "custom", "command": t.connect[0], "args": list(t.connect[1:]), "env": {}}


def _windsurf(t: Target) -> dict[str, Any]:
    return {"serverUrl": t.url}


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


def _opencode(t: Target) -> dict[str, Any]:
    return {"type": "remote", "url": t.url, "enabled": True}


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


def _cline_dir(h: HostEnv) -> Path:
    return _vscode_user(h, "Code") / "globalStorage" / "saoudrizwan.claude-dev"


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
    ),
    ClientKind(
        "windsurf",
        "Windsurf",
        Format.JSON,
        lambda h: h.home / ".codeium" / "windsurf" / "mcp_config.json",
        lambda h: (h.home / ".codeium" / "windsurf",),
        ("mcpServers",),
        _windsurf,
        commands=("windsurf",),
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
    ),
    ClientKind(
        "codex",
        "Codex",
        Format.TOML,
        lambda h: _codex_dir(h) / "config.toml",
        lambda h: (_codex_dir(h),),
        ("mcp_servers",),
        _url_entry,
        commands=("codex",),
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
    ),
    ClientKind(
        "lmstudio",
        "LM Studio",
        Format.JSON,
        lambda h: h.home / ".lmstudio" / "mcp.json",
        lambda h: (h.home / ".lmstudio",),
        ("mcpServers",),
        _url_entry,
        commands=("lms",),
    ),
    ClientKind(
        "cline",
        "Cline",
        Format.JSON,
        lambda h: _cline_dir(h) / "settings" / "cline_mcp_settings.json",
        lambda h: (_cline_dir(h),),
        ("mcpServers",),
        _cline,
    ),
    ClientKind(
        "kiro",
        "Kiro",
        Format.JSON,
        lambda h: h.home / ".kiro" / "settings" / "mcp.json",
        lambda h: (h.home / ".kiro",),
        ("mcpServers",),
        _url_entry,
        commands=("kiro",),
    ),
    ClientKind(
        "opencode",
        "OpenCode",
        Format.JSON,
        _opencode_path,
        lambda h: (_opencode_path(h).parent,),
        ("mcp",),
        _opencode,
        new_file='{\n  "$schema": "https://opencode.ai/config.json"\n}\n',
        commands=("opencode",),
    ),
)

BY_ID: dict[str, ClientKind] = {k.id: k for k in KINDS}
