"""The audit log writer: one JSON object a line, stable fields, rotation, mode 0600."""

from __future__ import annotations

import json
import re
import stat
import threading
from pathlib import Path

from switchboard.audit import AuditLog, audit_config_change
from switchboard.core.group import GroupSpec
from switchboard.core.spec import ServerSpec, Settings, StartMode
from switchboard.store.config import Config

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def test_one_event_a_line_with_stable_fields(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "logs" / "audit.jsonl", clock=lambda: 1_800_000_000.25)
    log.emit("sign_in", actor="c1", target="time", outcome="success", redirect_host="h:1")
    log.emit("consent", actor="person", outcome="denied", remembered=False, reason=None)
    log.flush()
    got = lines(log.path)
    assert got == [
        {
            "ts": "2027-01-15T08:00:00.250000Z",
            "event": "sign_in",
            "actor": "c1",
            "target": "time",
            "outcome": "success",
            "redirect_host": "h:1",
        },
        {
            "ts": "2027-01-15T08:00:00.250000Z",
            "event": "consent",
            "actor": "person",
            "outcome": "denied",
            "remembered": False,
        },
    ]
    assert stat.S_IMODE(log.path.stat().st_mode) == 0o600
    log.close()


def test_rotation_keeps_n_files(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl", max_bytes=400, backups=2, sync=True)
    for i in range(40):
        log.emit("server_added", actor="person", target=f"s{i}", outcome="success")
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["audit.jsonl", "audit.jsonl.1", "audit.jsonl.2"]
    for p in tmp_path.iterdir():
        assert p.stat().st_size <= 400
        assert stat.S_IMODE(p.stat().st_mode) == 0o600
    # The newest lines are in audit.jsonl, older ones in .1; nothing half-written.
    last = lines(tmp_path / "audit.jsonl")
    assert last[-1]["target"] == "s39"
    previous = lines(tmp_path / "audit.jsonl.1")
    assert int(str(previous[-1]["target"])[1:]) + 1 == int(str(last[0]["target"])[1:])


def test_emit_from_threads_is_safe_and_ordered_per_thread(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")

    def work(t: int) -> None:
        for i in range(200):
            log.emit("token_rejected", target=f"t{t}", outcome="failure", n=i)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    log.close()
    got = lines(log.path)
    assert len(got) == 800
    for t in range(4):
        assert [e["n"] for e in got if e["target"] == f"t{t}"] == list(range(200))
    assert all(TS.match(str(e["ts"])) for e in got)


def test_unwritable_dir_is_logged_not_raised(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    log = AuditLog(blocker / "audit.jsonl", sync=True)
    log.emit("server_added", target="x")
    assert log.failed


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, object]]] = []

    def emit(self, event: str, **fields: object) -> None:
        self.events.append((event, {k: v for k, v in fields.items() if v is not None}))


def test_config_diff_names_fields_never_values() -> None:
    a = ServerSpec(name="a", command="x", env={"TOKEN": "v1"})
    b = ServerSpec(name="b", command="y")
    old = Config(servers=(a, b), groups=(GroupSpec(name="g", servers=("a",)),))
    new = Config(
        settings=Settings(access_token_ttl=600),
        servers=(ServerSpec(name="a", command="x", env={"TOKEN": "v2"}, start=StartMode.ALWAYS),),
        groups=(GroupSpec(name="h", servers=("a",)),),
    )
    rec = Recorder()
    audit_config_change(rec, old, new)
    assert sorted(rec.events, key=lambda e: e[0]) == [
        ("group_added", {"actor": "person", "target": "h", "outcome": "success"}),
        ("group_removed", {"actor": "person", "target": "g", "outcome": "success"}),
        (
            "server_changed",
            {"actor": "person", "target": "a", "outcome": "success", "fields": ["env"]},
        ),
        ("server_removed", {"actor": "person", "target": "b", "outcome": "success"}),
        (
            "settings_changed",
            {
                "actor": "person",
                "target": "settings",
                "outcome": "success",
                "fields": ["access_token_ttl"],
            },
        ),
    ]
    # start flipped between always and manual (a start or stop) is no edit; on-demand is.
    rec = Recorder()
    audit_config_change(
        rec,
        Config(servers=(a,)),
        Config(
            servers=(
                ServerSpec(name="a", command="x", env={"TOKEN": "v1"}, start=StartMode.ALWAYS),
            )
        ),
    )
    assert rec.events == []


def test_start_mode_on_demand_is_an_edit() -> None:
    a = ServerSpec(name="a", command="x")
    rec = Recorder()
    audit_config_change(
        rec,
        Config(servers=(a,)),
        Config(servers=(ServerSpec(name="a", command="x", start=StartMode.ON_DEMAND),)),
    )
    assert rec.events == [
        (
            "server_changed",
            {"actor": "person", "target": "a", "outcome": "success", "fields": ["start"]},
        )
    ]
