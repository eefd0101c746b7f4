"""``switchboard grants list`` and ``consent list`` output: an aligned table that tells
two grants of the same app apart (client id, redirect, server, resource, granted, last
used), ``--json`` with every field. The control API is a fake here (formatting only;
tests/integration/test_auth_server.py runs the verbs against a real engine)."""

from __future__ import annotations

import argparse
import datetime
import json
from typing import Any

import pytest

from switchboard.cli.auth import _consent_with, _grants_with

T1 = datetime.datetime(2026, 11, 2, 9, 30).timestamp()
T2 = datetime.datetime(2026, 11, 28, 18, 5).timestamp()


class FakeControl:
    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers

    def request(self, method: str, path: str, body: Any = None) -> Any:
        return self.answers[f"{method} {path}"]


def _grant(gid: str, cid: str, redirect: str, last: float | None, **over: Any) -> dict[str, Any]:
    return {
        "id": gid,
        "client_id": cid,
        "client_name": "Visual Studio Code",
        "server": "github",
        "resource": "http://127.0.0.1:8765/servers/github/mcp",
        "scope": "mcp",
        "subject": "local-user",
        "created_at": T1,
        "revoked_at": None,
        "revoke_reason": None,
        "redirect_uri": redirect,
        "last_used_at": last,
        "remembered": False,
        **over,
    }


LISTING = {
    "grants": [
        _grant("a1b2", "vscode-1", "http://127.0.0.1:33418/", T2, remembered=True),
        _grant(
            "c3d4e5",
            "vscode-22",
            "vscode://vscode.github-authentication/did-authenticate",
            None,
            server="notes",
            resource="http://127.0.0.1:8765/servers/notes/sse",
        ),
    ],
    "consents": [
        {"client_id": "vscode-1", "client_name": "Visual Studio Code", "server": "github",
         "scope": "mcp", "created_at": T1},
    ],
}  # fmt: skip


def test_grants_list_is_an_aligned_table(capsys: pytest.CaptureFixture[str]) -> None:
    args = argparse.Namespace(grants_cmd="list", json=False)
    assert _grants_with(FakeControl({"GET /grants": LISTING}), args) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:3] == [
        "GRANT   CLIENT              CLIENT ID  REDIRECT         SERVER  RESOURCE"
        "             GRANTED           LAST USED         REMEMBERED",
        "a1b2    Visual Studio Code  vscode-1   127.0.0.1:33418  github  /servers/github/mcp"
        "  2026-11-02 09:30  2026-11-28 18:05  yes",
        "c3d4e5  Visual Studio Code  vscode-22  vscode://        notes   /servers/notes/sse"
        "   2026-11-02 09:30  never             no",
    ]
    assert out[3:] == [
        "",
        "Remembered consents (a new authorization still asks you):",
        "  CLIENT              CLIENT ID  SERVER  SCOPE",
        "  Visual Studio Code  vscode-1   github  mcp",
    ]


def test_grants_list_json_has_every_field(capsys: pytest.CaptureFixture[str]) -> None:
    args = argparse.Namespace(grants_cmd="list", json=True)
    assert _grants_with(FakeControl({"GET /grants": LISTING}), args) == 0
    assert json.loads(capsys.readouterr().out) == LISTING


def test_consent_list_shows_the_exact_redirect_and_warns(
    capsys: pytest.CaptureFixture[str],
) -> None:
    pending = {
        "id": "abc",
        "client_id": "c",
        "client_name": "Cursor",
        "redirect_uri": "cursor://anysphere.cursor-retrieval/oauth/callback",
        "redirect_host": "anysphere.cursor-retrieval",
        "server": "github",
        "resource": "r",
        "scopes": ["mcp"],
        "created_at": T1,
        "previously_approved": True,
    }
    args = argparse.Namespace(consent_cmd="list")
    assert _consent_with(FakeControl({"GET /consent": {"pending": [pending]}}), args) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "abc  Cursor -> github  scopes: mcp  (approved before)"
    assert out[1] == (
        "    returns to cursor://anysphere.cursor-retrieval/oauth/callback "
        "(the app registered for cursor://)"
    )
    assert out[2].startswith("    warning: Approving opens the app registered for cursor://")
