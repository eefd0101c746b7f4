from __future__ import annotations

import dataclasses
import re

import pytest

from switchboard.core.errors import ValidationError
from switchboard.core.spec import (
    AuthMode,
    Isolation,
    RestartPolicy,
    ServerSpec,
    Settings,
    StartMode,
    Transport,
    suggest_name,
    validate_name,
)


@pytest.mark.parametrize("name", ["a", "github", "time-server", "x.y_z", "a1", "9lives"])
def test_valid_names(name: str) -> None:
    assert validate_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "A", "has space", "-lead", "trail-", "a/b", "..", "é", "a" * 65, "x%2f"]
)
def test_invalid_names_are_refused_with_a_hint(name: str) -> None:
    with pytest.raises(ValidationError) as info:
        validate_name(name)
    assert "lowercase" in info.value.hint


def test_suggest_name_makes_valid_names() -> None:
    assert suggest_name("@modelcontextprotocol/server-everything") == "server-everything"
    assert suggest_name("My Cool Server!") == "my-cool-server"
    assert validate_name(suggest_name("///"))


def test_round_trip_through_dict() -> None:
    spec = ServerSpec(
        name="t",
        command="npx",
        args=("-y", "pkg"),
        env={"A": "1"},
        secrets={"TOKEN": "gh-token"},
        cwd="/tmp",
        restart=RestartPolicy(max_restarts=2),
        request_timeout=30,
        auth=AuthMode.OFF,
        start=StartMode.ALWAYS,
    )
    assert ServerSpec.from_dict(spec.to_dict()) == spec


def test_defaults_are_omitted_from_dict() -> None:
    d = ServerSpec(name="t", command="x").to_dict()
    assert "restart" not in d and "request_timeout" not in d and "env" not in d


def test_spec_is_frozen() -> None:
    spec = ServerSpec(name="t", command="x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.name = "u"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"name": "t"}, "no command"),
        ({"name": "t", "command": "x", "bogus": 1}, "Unknown server setting"),
        ({"name": "t", "command": "x", "transport": "carrier-pigeon"}, "carrier-pigeon"),
        ({"name": "t", "command": "x", "args": "not-a-list"}, "'args' must be a list"),
        ({"name": "t", "command": "x", "env": {"1BAD": "v"}}, "environment variable"),
        ({"name": "t", "command": "x", "env": {"A": 1}}, "'env' must be a table of strings"),
        ({"name": "t", "command": "x", "secrets": {"A": "bad name"}}, "Invalid secret name"),
        ({"name": "t", "command": "x", "request_timeout": 0}, "timeout"),
        ({"name": "t", "transport": "sse"}, "has no URL"),
        ({"name": "t", "transport": "sse", "url": "ftp://x"}, "invalid URL"),
        ({"name": "t", "command": "x", "auth": "external"}, "external issuer"),
        ({"name": "t", "command": "x", "restart": {"multiplier": 0.5}}, "out of range"),
        ({"name": "t", "command": "x", "restart": {"nope": 1}}, "nope"),
        ({"command": "x"}, "no name"),
        ({"name": "t", "command": "x", "isolation": "per-process"}, "isolation"),
        ({"name": "t", "command": "x", "isolation": ["auto"]}, "isolation"),
    ],
)
def test_bad_specs_give_clear_errors(data: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValidationError) as info:
        ServerSpec.from_dict(data)
    assert fragment in str(info.value)


def test_http_transport_without_command_is_fine() -> None:
    spec = ServerSpec(
        name="h", transport=Transport.STREAMABLE_HTTP, url="http://127.0.0.1:3001/mcp"
    )
    assert spec.command == ""


def test_settings_refuse_non_loopback_host_and_bad_port() -> None:
    with pytest.raises(ValidationError, match="loopback"):
        Settings(host="0.0.0.0")
    with pytest.raises(ValidationError, match="port"):
        Settings(port=70000)
    with pytest.raises(ValidationError, match="Unknown setting"):
        Settings.from_dict({"colour": "red"})
    assert Settings.from_dict(Settings(port=9000).to_dict()).port == 9000


def test_isolation_round_trips_and_auto_is_left_out() -> None:
    assert "isolation" not in ServerSpec(name="t", command="x").to_dict()
    spec = ServerSpec(name="t", command="x", isolation=Isolation.SHARED)
    assert spec.to_dict()["isolation"] == "shared"
    assert ServerSpec.from_dict(spec.to_dict()) == spec


# -- start modes (issue 16.2) -----------------------------------------------------------


@pytest.mark.parametrize(("legacy", "mode"), [(True, StartMode.ALWAYS), (False, StartMode.MANUAL)])
def test_legacy_autostart_loads_as_a_start_mode(legacy: bool, mode: StartMode) -> None:
    """Files written before start modes say autostart = true|false: they load unchanged."""
    spec = ServerSpec.from_dict({"name": "t", "command": "x", "autostart": legacy})
    assert spec.start is mode
    assert spec.autostart is legacy
    assert spec.to_dict()["start"] == mode.value and "autostart" not in spec.to_dict()


def test_start_mode_and_sleep_after_round_trip() -> None:
    spec = ServerSpec(name="t", command="x", start=StartMode.ON_DEMAND, sleep_after=0.05)
    data = spec.to_dict()
    assert data["start"] == "on-demand" and data["sleep_after"] == 0.05
    assert ServerSpec.from_dict(data) == spec
    assert "sleep_after" not in ServerSpec(name="t", command="x").to_dict()  # the default
    assert ServerSpec.from_dict({"name": "t", "command": "x", "sleep_after": 5}).sleep_after == 5.0


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"start": "sometimes"}, "'start' must be one of 'always', 'on-demand', 'manual'"),
        ({"start": "always", "autostart": True}, "both 'autostart' and 'start'"),
        ({"autostart": "true"}, "'autostart' must be true or false"),
        ({"sleep_after": 0}, "sleep_after 0"),
        ({"sleep_after": -1}, "out of range"),
        ({"sleep_after": 1e9}, "out of range"),
        ({"sleep_after": "15"}, "'sleep_after' must be a number"),
        ({"sleep_after": True}, "'sleep_after' must be a number"),
    ],
)
def test_bad_start_settings_are_named(data: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(fragment)):
        ServerSpec.from_dict({"name": "t", "command": "x", **data})


def test_on_demand_needs_a_stdio_server() -> None:
    with pytest.raises(ValidationError, match="only stdio servers are started on a call"):
        ServerSpec(
            name="t",
            transport=Transport.STREAMABLE_HTTP,
            url="http://127.0.0.1:9/mcp",
            start=StartMode.ON_DEMAND,
        )
