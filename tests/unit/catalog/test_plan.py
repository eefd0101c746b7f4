"""Catalog entries -> install plans (commands, env, secrets, runtimes)."""

from __future__ import annotations

from typing import Any

import pytest

from switchboard.catalog.catalog import Catalog, load_bundled
from switchboard.catalog.model import CatalogEntry
from switchboard.catalog.plan import plan_install
from switchboard.core.errors import CatalogError, RuntimeMissing, ValidationError
from switchboard.core.spec import Transport


def have(*names: str) -> Any:
    return lambda exe: f"/usr/bin/{exe}" if exe in names else None


def entry(**server: Any) -> CatalogEntry:
    base: dict[str, Any] = {"name": "io.example/demo", "title": "Demo", "version": "1.0.0"}
    base.update(server)
    return CatalogEntry.from_json({"server": base})


def npm(**pkg: Any) -> dict[str, Any]:
    return {"registryType": "npm", "identifier": "@ex/demo", "version": "1.2.3", **pkg}


def test_bundled_catalog_is_well_formed() -> None:
    entries = load_bundled()
    assert len(entries) >= 30
    handles = [e.handle for e in entries]
    assert len(set(handles)) == len(handles)
    for e in entries:
        assert e.description
        assert e.packages
        for p in e.packages:
            assert p.registry_type in ("npm", "pypi", "oci")
            # Pinned: npm/PyPI by version, OCI by the tag in its identifier.
            if p.registry_type == "oci":
                assert ":" in p.identifier.rsplit("/", 1)[-1] and not p.version
            else:
                assert p.version and p.version != "latest"
        plan_ok = all(
            not v.is_required or v.is_secret or v.default
            for p in e.packages
            for v in p.environment_variables
        )
        assert plan_ok or e.handle in ("slack", "qdrant")
    wanted = {
        "@modelcontextprotocol/server-filesystem",
        "@modelcontextprotocol/server-everything",
        "@modelcontextprotocol/server-memory",
        "@modelcontextprotocol/server-sequential-thinking",
        "mcp-server-time",
        "mcp-server-fetch",
        "mcp-server-git",
        "ghcr.io/github/github-mcp-server",
        "@brave/brave-search-mcp-server",
        "@modelcontextprotocol/server-slack",
        "@modelcontextprotocol/server-postgres",
        "@sentry/mcp-server",
        "@playwright/mcp",
    }
    assert wanted <= {p.identifier.split(":")[0] for e in entries for p in e.packages}


def test_npm_package_runs_with_npx_pinned() -> None:
    e = entry(packages=[npm(packageArguments=[{"type": "positional", "value": "stdio"}])])
    plan = plan_install(e, which=have("npx"))
    assert plan.argv == ["npx", "-y", "@ex/demo@1.2.3", "stdio"]
    assert plan.spec.name == "demo"
    assert plan.spec.transport is Transport.STDIO
    assert "npx -y @ex/demo@1.2.3 stdio" in plan.describe()
    assert plan_install(e, which=have("npx"), latest=True).argv[2] == "@ex/demo"


def test_pypi_prefers_uvx_then_pipx() -> None:
    e = entry(packages=[{"registryType": "pypi", "identifier": "mcp-server-time", "version": "1"}])
    assert plan_install(e, which=have("uvx", "pipx")).argv == ["uvx", "mcp-server-time@1"]
    fallback = plan_install(e, which=have("pipx"))
    assert fallback.argv == ["pipx", "run", "--spec", "mcp-server-time==1", "mcp-server-time"]
    assert any("pipx" in n for n in fallback.notes)


@pytest.mark.parametrize(
    ("registry_type", "needs"),
    [("npm", "Node.js"), ("pypi", "uv"), ("oci", "Docker")],
)
def test_missing_runtime_says_what_to_install(registry_type: str, needs: str) -> None:
    e = entry(packages=[{"registryType": registry_type, "identifier": "x", "version": "1"}])
    with pytest.raises(RuntimeMissing) as info:
        plan_install(e, which=have())
    assert needs in info.value.hint
    assert "none was found" in info.value.message


def test_first_package_with_an_installed_runtime_wins() -> None:
    e = entry(
        packages=[
            {"registryType": "pypi", "identifier": "demo-py", "version": "1"},
            npm(),
        ]
    )
    assert plan_install(e, which=have("npx")).package.registry_type == "npm"
    assert plan_install(e, which=have("npx", "uvx")).package.registry_type == "pypi"
    assert plan_install(e, which=have("npx", "uvx"), registry_type="npm").runtime == "npx"
    with pytest.raises(CatalogError, match="no oci package"):
        plan_install(e, which=have("docker"), registry_type="oci")


def test_oci_forwards_env_by_name_only() -> None:
    e = entry(
        packages=[
            {
                "registryType": "oci",
                "identifier": "ghcr.io/github/github-mcp-server",
                "version": "0.9.0",
                "environmentVariables": [
                    {"name": "GITHUB_PERSONAL_ACCESS_TOKEN", "isRequired": True, "isSecret": True},
                    {"name": "GITHUB_TOOLSETS", "default": "all"},
                ],
            }
        ]
    )
    plan = plan_install(e, name="gh", env={"GITHUB_TOOLSETS": "repos"}, which=have("podman"))
    assert plan.argv == [
        "podman", "run", "-i", "--rm",
        "-e", "GITHUB_TOOLSETS", "-e", "GITHUB_PERSONAL_ACCESS_TOKEN",
        "ghcr.io/github/github-mcp-server:0.9.0",
    ]  # fmt: skip
    assert plan.spec.env == {"GITHUB_TOOLSETS": "repos"}
    assert plan.spec.secrets == {"GITHUB_PERSONAL_ACCESS_TOKEN": "gh.GITHUB_PERSONAL_ACCESS_TOKEN"}
    assert "ghp_" not in plan.describe()


def test_environment_variables() -> None:
    e = entry(
        packages=[
            npm(
                environmentVariables=[
                    {"name": "TOKEN", "isRequired": True, "isSecret": True, "description": "API"},
                    {"name": "OPTIONAL_KEY", "isSecret": True},
                    {"name": "REGION", "isRequired": True, "default": "eu"},
                    {"name": "MODE", "choices": ["fast", "safe"]},
                    {"name": "TEAM", "isRequired": True},
                ]
            )
        ]
    )
    with pytest.raises(ValidationError, match="needs TEAM") as info:
        plan_install(e, which=have("npx"))
    assert "--env TEAM=VALUE" in info.value.hint
    plan = plan_install(e, env={"TEAM": "t1"}, which=have("npx"))
    assert plan.spec.env == {"REGION": "eu", "TEAM": "t1"}
    assert plan.spec.secrets == {"TOKEN": "demo.TOKEN"}
    assert [(n.env, n.required) for n in plan.secrets] == [("TOKEN", True)]
    plan = plan_install(
        e,
        env={"TEAM": "t1", "MODE": "safe"},
        secrets={"OPTIONAL_KEY": "shared.key"},
        which=have("npx"),
    )
    assert plan.spec.env["MODE"] == "safe"
    assert plan.spec.secrets == {"TOKEN": "demo.TOKEN", "OPTIONAL_KEY": "shared.key"}
    with pytest.raises(ValidationError, match="fast, safe"):
        plan_install(e, env={"TEAM": "t", "MODE": "slow"}, which=have("npx"))
    with pytest.raises(ValidationError, match="is a secret"):
        plan_install(e, env={"TEAM": "t", "TOKEN": "plaintext"}, which=have("npx"))


def test_named_positional_repeated_and_flag_arguments() -> None:
    e = entry(
        packages=[
            npm(
                packageArguments=[
                    {"type": "named", "name": "--browser", "choices": ["chrome", "firefox"]},
                    {"type": "named", "name": "--headless", "format": "boolean"},
                    {"type": "named", "name": "--port", "isRequired": True, "default": "3000"},
                    {
                        "type": "positional",
                        "valueHint": "dir",
                        "isRequired": True,
                        "isRepeated": True,
                    },
                ]
            )
        ]
    )
    with pytest.raises(ValidationError, match="--arg dir=VALUE"):
        plan_install(e, which=have("npx"))
    plan = plan_install(
        e,
        args={"dir": ["/a", "/b"], "headless": ["true"], "browser": ["firefox"]},
        which=have("npx"),
    )
    assert plan.argv[3:] == ["--browser", "firefox", "--headless", "--port", "3000", "/a", "/b"]
    plain = plan_install(e, args={"dir": ["/a"]}, which=have("npx"))
    assert plain.argv[3:] == ["--port", "3000", "/a"]
    with pytest.raises(ValidationError, match="chrome, firefox"):
        plan_install(e, args={"dir": ["/a"], "--browser": ["lynx"]}, which=have("npx"))


def test_http_package_needs_its_url_placeholders() -> None:
    e = entry(
        packages=[npm(transport={"type": "streamable-http", "url": "http://127.0.0.1:{port}/mcp"})]
    )
    with pytest.raises(ValidationError, match="placeholders"):
        plan_install(e, which=have("npx"))
    plan = plan_install(e, args={"port": ["3101"]}, which=have("npx"))
    assert plan.spec.transport is Transport.STREAMABLE_HTTP
    assert plan.spec.url == "http://127.0.0.1:3101/mcp"


def test_remote_only_entries_become_remote_servers() -> None:
    plan = plan_install(
        entry(remotes=[{"type": "streamable-http", "url": "https://x.example/mcp"}])
    )
    assert plan.spec.remote and plan.spec.url == "https://x.example/mcp"
    assert plan.spec.transport is Transport.STREAMABLE_HTTP and not plan.spec.command
    assert "signin" in plan.describe()
    keyed = plan_install(
        entry(
            remotes=[
                {"type": "sse", "url": "https://{tenant}.example/sse"},
                {
                    "type": "sse",
                    "url": "https://k.example/sse",
                    "headers": [
                        {"name": "X-API-Key", "isSecret": True, "isRequired": True},
                    ],
                },
            ]
        ),
        name="demo",
    )
    assert keyed.spec.transport is Transport.SSE and keyed.spec.url == "https://k.example/sse"
    assert dict(keyed.spec.headers) == {"X-API-Key": "demo.x-api-key"}
    assert [(n.env, n.secret) for n in keyed.secrets] == [("X-API-Key", "demo.x-api-key")]
    with pytest.raises(CatalogError, match="none Switchboard can use"):
        plan_install(entry(remotes=[{"type": "websocket", "url": "wss://x/mcp"}]))


def test_unknown_packages_are_explained() -> None:
    with pytest.raises(CatalogError, match="nuget"):
        plan_install(entry(packages=[{"registryType": "nuget", "identifier": "X", "version": "1"}]))
    gone = CatalogEntry.from_json(
        {
            "server": {"name": "a/b", "packages": [npm()]},
            "_meta": {"io.modelcontextprotocol.registry/official": {"status": "deleted"}},
        }
    )
    with pytest.raises(CatalogError, match="withdrawn"):
        plan_install(gone, which=have("npx"))


def test_malformed_entries_name_themselves() -> None:
    with pytest.raises(CatalogError, match="'io.example/demo'"):
        entry(packages=[{"registryType": "npm"}])
    with pytest.raises(CatalogError, match="no name"):
        CatalogEntry.from_json({"server": {"description": "x"}})


def test_catalog_lookup_and_search() -> None:
    catalog = Catalog()
    assert catalog.get("filesystem").name == "io.github.modelcontextprotocol/filesystem"
    assert catalog.get("mcp-server-time").handle == "time"
    assert catalog.get("io.github.github/github-mcp-server").handle == "github"
    with pytest.raises(CatalogError, match="catalog search"):
        catalog.get("no-such-server")
    assert catalog.search("git")[0].handle in ("git", "github", "github-legacy")
    assert "time" in [e.handle for e in catalog.search("time zone")]
    assert catalog.search("zzzz-nothing") == []


def test_bundled_filesystem_plan() -> None:
    plan = plan_install(
        Catalog().get("filesystem"), args={"directory": ["/srv/a", "/srv/b"]}, which=have("npx")
    )
    assert plan.command_line == (
        "npx -y @modelcontextprotocol/server-filesystem@2026.8.31 /srv/a /srv/b"
    )
