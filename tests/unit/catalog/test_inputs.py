"""server.json input templates (``value`` with ``{variables}``) and a package's own
``registryBaseUrl``, as the install plan uses them."""

from __future__ import annotations

from typing import Any

import pytest

from switchboard.catalog.model import CatalogEntry
from switchboard.catalog.plan import plan_install
from switchboard.core.errors import CatalogError, ValidationError


def have(*names: str) -> Any:
    return lambda exe: f"/usr/bin/{exe}" if exe in names else None


def entry(**package: Any) -> CatalogEntry:
    base = {"registryType": "pypi", "identifier": "mcp-server-time", "version": "1.0.0"}
    base.update(package)
    return CatalogEntry.from_json(
        {"name": "io.example/time", "description": "Time.", "packages": [base]}
    )


TZ = {
    "type": "named",
    "name": "--local-timezone",
    "value": "{tz}",
    "variables": {"tz": {"description": "IANA zone", "isRequired": True}},
}


def test_variables_are_filled_from_the_persons_input() -> None:
    plan = plan_install(
        entry(packageArguments=[TZ]), args={"tz": ["Europe/Berlin"]}, which=have("uvx")
    )
    assert plan.argv == ["uvx", "mcp-server-time@1.0.0", "--local-timezone", "Europe/Berlin"]
    assert "{tz}" not in plan.command_line


def test_missing_required_variable_says_how_to_give_it() -> None:
    with pytest.raises(ValidationError, match="needs tz") as info:
        plan_install(entry(packageArguments=[TZ]), which=have("uvx"))
    assert "--arg tz=" in info.value.hint


def test_variable_default_choices_and_unknown_braces() -> None:
    arg = {
        "type": "positional",
        "value": "--mode={mode}:{unknown}",
        "variables": {"mode": {"default": "fast", "choices": ["fast", "safe"]}},
    }
    plan = plan_install(entry(packageArguments=[arg]), which=have("uvx"))
    assert plan.argv[-1] == "--mode=fast:{unknown}"
    with pytest.raises(ValidationError, match="not a valid value for mode"):
        plan_install(entry(packageArguments=[arg]), args={"mode": ["x"]}, which=have("uvx"))


def test_optional_variable_without_value_leaves_the_argument_out() -> None:
    arg = {"type": "named", "name": "--root", "value": "{root}", "variables": {"root": {}}}
    plan = plan_install(entry(packageArguments=[arg]), which=have("uvx"))
    assert plan.argv == ["uvx", "mcp-server-time@1.0.0"]


def test_env_value_template() -> None:
    env = {"name": "LOG", "value": "level={lvl}", "variables": {"lvl": {"default": "info"}}}
    plan = plan_install(
        entry(environmentVariables=[env]), args={"lvl": ["debug"]}, which=have("uvx")
    )
    assert plan.spec.env == {"LOG": "level=debug"}


def test_secret_variable_in_docker_env_argument_is_passed_by_name() -> None:
    """The registry's GitHub entry: `-e GITHUB_PERSONAL_ACCESS_TOKEN={token}`."""
    e = CatalogEntry.from_json(
        {
            "name": "io.github.github/github-mcp-server",
            "description": "GitHub.",
            "packages": [
                {
                    "registryType": "oci",
                    "identifier": "ghcr.io/github/github-mcp-server:1.12.2",
                    "transport": {"type": "stdio"},
                    "runtimeArguments": [
                        {
                            "type": "named",
                            "name": "-e",
                            "value": "GITHUB_PERSONAL_ACCESS_TOKEN={token}",
                            "isRequired": True,
                            "variables": {"token": {"isRequired": True, "isSecret": True}},
                        }
                    ],
                }
            ],
        }
    )
    plan = plan_install(e, name="gh", which=have("docker"))
    assert plan.argv == [
        "docker", "run", "-i", "--rm", "-e", "GITHUB_PERSONAL_ACCESS_TOKEN",
        "ghcr.io/github/github-mcp-server:1.12.2",
    ]  # fmt: skip
    assert plan.spec.secrets == {"GITHUB_PERSONAL_ACCESS_TOKEN": "gh.GITHUB_PERSONAL_ACCESS_TOKEN"}
    with pytest.raises(ValidationError, match="is a secret"):
        plan_install(e, name="gh", args={"token": ["ghp_x"]}, which=have("docker"))
    with pytest.raises(ValidationError, match="secret"):
        plan_install(
            entry(packageArguments=[{**TZ, "variables": {"tz": {"isSecret": True}}}]),
            which=have("uvx"),
        )


@pytest.mark.parametrize(
    ("package", "runtime", "argv"),
    [
        (
            {"registryType": "npm", "identifier": "@ex/demo", "registryBaseUrl": "https://npm.example.com/"},
            "npx",
            ["npx", "-y", "--registry", "https://npm.example.com", "@ex/demo@1.0.0"],
        ),
        (
            {"registryBaseUrl": "https://test.pypi.org"},
            "uvx",
            ["uvx", "--index-url", "https://test.pypi.org/simple", "mcp-server-time@1.0.0"],
        ),
        (
            {"registryBaseUrl": "https://pypi.example.com/simple"},
            "pipx",
            [
                "pipx", "run", "--index-url", "https://pypi.example.com/simple",
                "--spec", "mcp-server-time==1.0.0", "mcp-server-time",
            ],
        ),
        ({"registryBaseUrl": "https://pypi.org"}, "uvx", ["uvx", "mcp-server-time@1.0.0"]),
        (
            {"registryType": "npm", "identifier": "@ex/demo", "registryBaseUrl": "https://registry.npmjs.org"},
            "npx",
            ["npx", "-y", "@ex/demo@1.0.0"],
        ),
    ],
)  # fmt: skip
def test_registry_base_url_is_honoured(
    package: dict[str, Any], runtime: str, argv: list[str]
) -> None:
    plan = plan_install(entry(**package), which=have(runtime))
    assert plan.argv == argv
    if len(argv) > 3 and ("--registry" in argv or "--index-url" in argv):
        assert any("Downloads from" in n for n in plan.notes)


def test_registry_base_url_must_be_http() -> None:
    with pytest.raises(CatalogError, match="not an http"):
        plan_install(entry(registryBaseUrl="file:///etc"), which=have("uvx"))
