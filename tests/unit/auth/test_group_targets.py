"""Target keys of groups (``group:NAME``) and how people read them: the consent broker's
choice rules, ``consent list | approve --group`` and ``grants list`` (fake control API:
formatting and request bodies only; tests/integration/test_auth_groups*.py run them for
real)."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from switchboard.auth.consent import ChoiceRequired, ConsentBroker
from switchboard.auth.targetkeys import is_group, key_of, key_url, label, labels, split_key
from switchboard.cli.auth import _consent_with, grant_rows
from switchboard.core.spec import validate_name


class FakeControl:
    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.sent: list[tuple[str, str, Any]] = []

    def request(self, method: str, path: str, body: Any = None) -> Any:
        self.sent.append((method, path, body))
        return self.answers.get(f"{method} {path}", {"ok": True})


def test_keys_round_trip_and_never_collide_with_server_names() -> None:
    assert key_of("groups", "work") == "group:work" and key_of("servers", "work") == "work"
    assert split_key("group:work") == ("groups", "work") and split_key("work") == (
        "servers",
        "work",
    )
    assert is_group("group:work") and not is_group("work")
    assert key_url("http://127.0.0.1:1/", "group:work") == "http://127.0.0.1:1/groups/work/mcp"
    assert key_url("http://127.0.0.1:1", "work", "sse") == "http://127.0.0.1:1/servers/work/sse"
    # No server may be called like a group key: the colon is not a name character.
    with pytest.raises(Exception, match="name"):
        validate_name("group:work")


def test_labels_name_the_group_and_its_servers() -> None:
    members = {"group:work": ("time", "github"), "group:empty": ()}
    assert label("time", members) == "time"
    assert label("group:work", members) == "group work (servers: time, github)"
    assert label("group:empty", members) == "group empty (servers: none yet)"
    assert label("group:other") == "group other"
    assert labels(["time", "group:work"], members) == ("time, group work (servers: time, github)")


async def test_broker_choice_rules_with_groups() -> None:
    broker = ConsentBroker()
    common: dict[str, Any] = {
        "client_id": "c",
        "client_name": "Codex",
        "redirect_uri": "http://127.0.0.1:1/cb",
        "redirect_host": "127.0.0.1:1",
        "resource": "",
        "scopes": ("mcp",),
    }
    group_request = broker.open(
        **common, server="group:work", groups={"group:work": ("time", "github")}
    )
    assert group_request.target == "group work (servers: time, github)"
    with pytest.raises(
        ChoiceRequired, match="for the group 'work' only; approve it without --group"
    ):
        broker.decide(group_request.id, True, servers=("time",))
    assert broker.decide(group_request.id, True, servers=("group:work",))

    choose = broker.open(
        **common,
        server="",
        choices=("time", "group:work"),
        groups={"group:work": ("time", "github")},
    )
    assert choose.choose and choose.target == ""
    with pytest.raises(ChoiceRequired) as caught:
        broker.decide(choose.id, True)
    assert "--group NAME" in str(caught.value)
    assert "Choices: time, group work (servers: time, github)." in str(caught.value)
    with pytest.raises(ChoiceRequired, match="Not a server this request can be approved for"):
        broker.decide(choose.id, True, servers=("group:home",))
    assert broker.decide(choose.id, True, servers=("group:work",))
    assert broker.chosen(choose.id) == ("group:work",)


def test_consent_list_and_approve_with_groups(capsys: pytest.CaptureFixture[str]) -> None:
    base: dict[str, Any] = {
        "client_id": "c",
        "client_name": "Codex",
        "redirect_uri": "http://127.0.0.1:1/cb",
        "redirect_host": "127.0.0.1:1",
        "resource": "r",
        "scopes": ["mcp"],
        "created_at": 0.0,
    }
    pending = [
        {**base, "id": "a1", "server": "group:work", "groups": {"group:work": ["time", "gh"]}},
        {
            **base,
            "id": "b2",
            "server": "",
            "choices": ["time", "group:work"],
            "groups": {"group:work": ["time", "gh"]},
        },
    ]
    control = FakeControl({"GET /consent": {"pending": pending}})
    assert _consent_with(control, argparse.Namespace(consent_cmd="list")) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "a1  Codex -> group work (servers: time, gh)  scopes: mcp"
    assert out[2] == "b2  Codex -> (choose servers)  scopes: mcp"
    assert out[4] == (
        "    it did not say which server it wants; approve with --server NAME or --group "
        "NAME (repeat for more) from: time, group work (servers: time, gh)"
    )
    args = argparse.Namespace(
        consent_cmd="approve", id="b2", remember=False, server=["time"], group=["work"]
    )
    assert _consent_with(control, args) == 0
    assert control.sent[-1] == (
        "POST",
        "/consent/b2/approve",
        {"remember": False, "servers": ["time", "group:work"]},
    )
    assert capsys.readouterr().out == "Approved b2 for time, group work.\n"


def test_grant_rows_name_groups() -> None:
    grant = {
        "id": "g1",
        "client_id": "c",
        "client_name": "Codex",
        "redirect_uri": "http://127.0.0.1:1/cb",
        "server": "echo group:work",
        "resource": "http://127.0.0.1:1/servers/echo/mcp http://127.0.0.1:1/groups/work/mcp",
        "created_at": None,
        "last_used_at": None,
        "remembered": False,
    }
    [row] = grant_rows([grant])
    assert row[4] == "echo, group work"
    assert row[5] == "/servers/echo/mcp, /groups/work/mcp"
