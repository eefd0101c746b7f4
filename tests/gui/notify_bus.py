"""D-Bus helpers for the notification tests: a private bus, and the fake
``org.freedesktop.Notifications`` service (fake_notifications.py) running on it.

A private bus (its own ``dbus-daemon``, no service directories) makes the tests the
same on every machine: the test session's bus may activate a real notification daemon
(dunst, notification-daemon) for anyone calling ``Notify``, which would answer for the
"no service" cases and hold the name the fake wants.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from switchboard.auth.consent import ConsentRequest
from tests.gui.conftest import until

FAKE = Path(__file__).with_name("fake_notifications.py")
HAVE_DBUS_DAEMON = shutil.which("dbus-daemon") is not None

_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir=/tmp</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


@contextlib.asynccontextmanager
async def private_bus(tmp_path: Path) -> AsyncIterator[str]:
    """A session-type bus of its own (no activatable services); yields its address."""
    conf = tmp_path / "bus.conf"
    conf.write_text(_CONFIG)
    proc = await asyncio.create_subprocess_exec(
        "dbus-daemon",
        f"--config-file={conf}",
        "--nofork",
        "--print-address=1",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    try:
        address = (await asyncio.wait_for(proc.stdout.readline(), 15)).decode().strip()
        assert address, "dbus-daemon printed no address"
        yield address
    finally:
        proc.terminate()
        await proc.wait()


class FakeService:
    """The fake service process: its recorded Notify calls, and ActionInvoked on demand."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.calls: list[dict[str, Any]] = []
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        async for line in self.proc.stdout:
            self.calls.append(json.loads(line))

    async def invoke(self, nid: int, key: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"invoke {nid} {key}\n".encode())
        await self.proc.stdin.drain()

    async def call(self, summary: str) -> dict[str, Any]:
        await until(
            lambda: any(c["summary"] == summary for c in self.calls),
            what=f"a Notify call {summary!r}",
        )
        return next(c for c in self.calls if c["summary"] == summary)


@contextlib.asynccontextmanager
async def fake_service(address: str, caps: str | None = None) -> AsyncIterator[FakeService]:
    """The fake service on the bus at ``address``, until the block ends; ``caps``: what
    its GetCapabilities answers (comma-separated; default with body-markup)."""
    extra = {} if caps is None else {"FAKE_NOTIFY_CAPS": caps}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(FAKE),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "DBUS_SESSION_BUS_ADDRESS": address, **extra},
    )
    assert proc.stdout is not None and proc.stdin is not None
    ready = json.loads(await asyncio.wait_for(proc.stdout.readline(), 15))
    assert ready["ready"], f"the notification name is taken on this bus: {ready}"
    service = FakeService(proc)
    try:
        yield service
    finally:
        proc.stdin.close()
        proc.terminate()
        await proc.wait()
        service._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await service._reader


def consent_request() -> ConsentRequest:
    """A pending consent request as the broker would hand it to a notifier."""
    return ConsentRequest(
        id="r1",
        client_id="c",
        client_name="Cursor",
        redirect_uri="http://127.0.0.1:1/cb",
        redirect_host="127.0.0.1",
        server="echo",
        resource="r",
        scopes=("mcp",),
        created_at=0.0,
    )
