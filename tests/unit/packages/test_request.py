"""Reading npx / uvx / uv tool run / pipx run command lines as package requests."""

from __future__ import annotations

import pytest

from switchboard.packages.request import PackageRequest, parse_command


def npm(
    name: str, version: str = "", program: str = "", *args: str, index: str = ""
) -> PackageRequest:
    return PackageRequest("npm", name, version, program, args, index)


def pypi(name: str, version: str = "", program: str = "", *args: str, **kw: str) -> PackageRequest:
    return PackageRequest("pypi", name, version, program or name.split("[")[0], args, **kw)


@pytest.mark.parametrize(
    ("command", "args", "expected"),
    [
        (
            "npx",
            ["-y", "@modelcontextprotocol/server-everything", "stdio"],
            npm("@modelcontextprotocol/server-everything", "", "", "stdio"),
        ),
        (
            "npx",
            ["--yes", "@modelcontextprotocol/server-filesystem@2026.8.31", "/a", "/b"],
            npm("@modelcontextprotocol/server-filesystem", "2026.8.31", "", "/a", "/b"),
        ),
        ("/usr/local/bin/npx", ["tavily-mcp@0.2.22"], npm("tavily-mcp", "0.2.22")),
        (
            "npx",
            ["-y", "-p", "@playwright/mcp@0.0.83", "mcp-server-playwright", "--headless"],
            npm("@playwright/mcp", "0.0.83", "mcp-server-playwright", "--headless"),
        ),
        (
            "npx",
            ["--package=firecrawl-mcp", "firecrawl-mcp"],
            npm("firecrawl-mcp", "", "firecrawl-mcp"),
        ),
        (
            "npx",
            ["-y", "--registry", "https://r.example/", "x@^1.2"],
            npm("x", "^1.2", index="https://r.example/"),
        ),
        ("npx", ["-y", "--", "pkg@latest", "--flag"], npm("pkg", "latest", "", "--flag")),
        ("uvx", ["mcp-server-time"], pypi("mcp-server-time")),
        (
            "uvx",
            ["mcp-server-time@2026.10.19", "--local-timezone", "UTC"],
            pypi("mcp-server-time", "2026.10.19", "", "--local-timezone", "UTC"),
        ),
        (
            "uvx",
            ["--from", "mcp-server-git==2026.10.19", "mcp-server-git", "--repository", "."],
            pypi("mcp-server-git", "2026.10.19", "mcp-server-git", "--repository", "."),
        ),
        (
            "uvx",
            [
                "--python",
                "3.12",
                "--index-url",
                "https://i.example/simple",
                "markitdown-mcp@0.0.1a8",
            ],
            pypi("markitdown-mcp", "0.0.1a8", python="3.12", index="https://i.example/simple"),
        ),
        ("uvx", ["mcp-server-fetch@latest"], pypi("mcp-server-fetch")),
        ("uv", ["tool", "run", "mcp-server-time"], pypi("mcp-server-time")),
        (
            "pipx",
            ["run", "--spec", "mcp-server-time==1.0", "mcp-server-time"],
            pypi("mcp-server-time", "1.0", "mcp-server-time"),
        ),
        ("pipx", ["run", "mcp-server-time", "--x"], pypi("mcp-server-time", "", "", "--x")),
    ],
)
def test_understood_forms(command: str, args: list[str], expected: PackageRequest) -> None:
    assert parse_command(command, args) == expected


@pytest.mark.parametrize(
    ("command", "args"),
    [
        ("npx", ["-c", "echo hi"]),  # a shell command, not a package
        ("npx", ["github:owner/repo"]),
        ("npx", ["./local-dir"]),
        ("npx", ["-y"]),  # no package
        ("npx", ["-p", "a", "-p", "b", "cmd"]),  # several packages
        ("npx", ["--workspace", "x", "pkg"]),  # unknown flag
        ("npx", ["pkg@npm:other@1"]),  # alias
        ("uvx", ["--with", "extra", "mcp-server-time"]),
        ("uvx", ["git+https://github.com/x/y"]),
        ("uvx", ["mcp-server-time>=1"]),  # a range: leave to uv
        ("pipx", ["install", "x"]),
        ("pipx", ["run", "--pip-args=--pre", "x"]),
        ("node", ["server.js"]),
        ("python", ["-m", "mcp_server_time"]),
        ("uv", ["run", "server.py"]),
    ],
)
def test_other_commands_run_as_written(command: str, args: list[str]) -> None:
    assert parse_command(command, args) is None


@pytest.mark.parametrize(
    ("request_", "pinned"),
    [
        (npm("x", "1.2.3"), True),
        (npm("x", "1.2.3-beta.1"), True),
        (npm("x", "^1.2.3"), False),
        (npm("x", "latest"), False),
        (npm("x"), False),
        (pypi("x", "2026.10.19"), True),
        (pypi("x", "0.0.1a8"), True),
        (pypi("x"), False),
    ],
)
def test_pinned(request_: PackageRequest, pinned: bool) -> None:
    assert request_.pinned is pinned


def test_base_names_drop_scope_and_extras() -> None:
    assert npm("@scope/thing").base_name == "thing"
    assert pypi("mcp-atlassian[all]").base_name == "mcp-atlassian"
