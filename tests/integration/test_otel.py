"""OpenTelemetry export (issue 15.4): off by default and then nothing of the SDK is
loaded; with ``settings.otlp_endpoint`` set on a running engine, each gateway request
record becomes a span (a group request: a group span and its member call's span) and
metrics, received by a real OTLP/HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import subprocess
import sys
import textwrap
import time
from typing import NamedTuple

import pytest

from switchboard.core.errors import ValidationError
from switchboard.core.paths import AppPaths
from switchboard.core.spec import Settings
from switchboard.engine import Engine
from switchboard.store.config import Config, ConfigStore
from switchboard.telemetry import Telemetry
from tests.helpers.otlp import attrs, otlp_receiver

pytestmark = pytest.mark.timeout(90)


class Record(NamedTuple):
    """The fields of a gateway request record (core/telemetry.py RequestRecord; the
    activity branch's ActivityRecord has these and more)."""

    ts: float
    duration: float
    server: str
    via: str | None
    client_id: str | None
    subject: str | None
    session: str
    method: str
    target: str | None
    outcome: str
    code: int | None


def record(**kw: object) -> Record:
    base = dict(
        ts=time.time(),
        duration=0.012,
        server="time",
        via=None,
        client_id="client-1",
        subject="local-user",
        session="s-1",
        method="tools/call",
        target="get_current_time",
        outcome="ok",
        code=None,
    )
    base.update(kw)
    return Record(**base)  # type: ignore[arg-type]


async def set_endpoint(engine: Engine, url: str) -> None:
    await engine.update_settings(dataclasses.replace(engine.config.settings, otlp_endpoint=url))


async def test_spans_and_metrics_reach_an_otlp_receiver(engine: Engine) -> None:
    telemetry = engine.telemetry
    assert telemetry is not None
    with otlp_receiver() as receiver:
        await set_endpoint(engine, receiver.url)
        plain = record()
        failed = record(method="prompts/get", target="greet", outcome="error", code=-32602)
        grouped = record(via="work", server="time", session="s-2")
        for r in (plain, failed, grouped):
            telemetry.record(r)
        assert telemetry.exporter is not None
        telemetry.flush()
        spans = receiver.wait_spans(4)
        by_name = {s.name: s for s in spans}
        assert sorted(by_name) == [
            "groups/work tools/call get_current_time",
            "prompts/get greet",
            "time tools/call get_current_time",
            "tools/call get_current_time",
        ]
        span = by_name["tools/call get_current_time"]
        assert attrs(span) == {
            "mcp.method.name": "tools/call",
            "mcp.session.id": "s-1",
            "switchboard.server": "time",
            "switchboard.outcome": "ok",
            "gen_ai.tool.name": "get_current_time",
            "switchboard.client_id": "client-1",
        }
        assert span.start_time_unix_nano == int(plain.ts * 1e9)
        assert span.end_time_unix_nano - span.start_time_unix_nano == int(0.012 * 1e9)
        assert span.kind == 2  # SPAN_KIND_SERVER
        assert span.status.code == 0  # unset: fine
        bad = by_name["prompts/get greet"]
        assert attrs(bad)["rpc.jsonrpc.error_code"] == -32602
        assert attrs(bad)["gen_ai.prompt.name"] == "greet"
        assert bad.status.code == 2  # STATUS_CODE_ERROR
        # A group request: the member call's span is the child of the group's span.
        group = by_name["groups/work tools/call get_current_time"]
        member = by_name["time tools/call get_current_time"]
        assert member.parent_span_id == group.span_id and member.trace_id == group.trace_id
        assert attrs(member)["switchboard.group"] == "work"
        assert member.kind == 3  # SPAN_KIND_CLIENT
        resource = {
            kv.key: kv.value.string_value
            for kv in receiver.traces[0].resource_spans[0].resource.attributes
        }
        assert resource["service.name"] == "switchboard"
        assert receiver.metric_names() >= {
            "switchboard.gateway.requests",
            "switchboard.gateway.request.duration",
        }
        await asyncio.to_thread(telemetry.close)  # what engine.aclose does
        # Cleared: export stops at the next request.
        await set_endpoint(engine, "")
        telemetry.record(record())
        assert telemetry.exporter is None


def test_endpoint_is_validated() -> None:
    for bad in (
        "ftp://127.0.0.1:4318",
        "127.0.0.1:4318",
        "http://",
        "http://u:p@127.0.0.1:4318",
        "http://127.0.0.1:4318?x=1",
        "http://127.0.0.1:99999",
        " http://127.0.0.1:4318",
    ):
        with pytest.raises(ValidationError) as err:
            Settings(otlp_endpoint=bad)
        assert err.value.hint and "4318" in err.value.hint
    assert Settings(otlp_endpoint="https://collector.local:4318/").otlp_endpoint


def test_endpoint_round_trips_through_the_config_file(paths: AppPaths) -> None:
    paths.ensure()
    store = ConfigStore(paths.config_file)
    store.save(Config(settings=Settings(otlp_endpoint="http://127.0.0.1:4318")))
    assert store.load().settings.otlp_endpoint == "http://127.0.0.1:4318"


def test_missing_sdk_is_said_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "switchboard.telemetry.otel", None)
    telemetry = Telemetry(lambda: "http://127.0.0.1:4318")
    telemetry.record(record())
    assert telemetry.exporter is None
    assert telemetry.error is not None and "pip install 'switchboard[otel]'" in telemetry.error


def test_off_imports_nothing_of_the_sdk(paths: AppPaths) -> None:
    """A real engine, started and fed requests with the setting empty: neither the SDK
    nor the exporter nor our OTel module gets imported (a fresh interpreter: the test
    process itself has them loaded)."""
    script = textwrap.dedent(
        f"""
        import asyncio, json, os, sys, time
        sys.path.insert(0, {str(__import__("pathlib").Path(__file__).parents[2])!r})
        from tests.conftest import make_test_engine
        from tests.integration.test_otel import record
        from switchboard.core.paths import AppPaths

        async def main():
            engine = make_test_engine(AppPaths.default({str(paths.config_dir.parent)!r}))
            await engine.start()
            try:
                for _ in range(100):
                    engine.telemetry.record(record())
            finally:
                await engine.aclose()
            names = [m for m in sys.modules if m.startswith(("opentelemetry.sdk",
                "opentelemetry.exporter", "switchboard.telemetry.otel"))]
            print(json.dumps(names))

        asyncio.run(main())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
