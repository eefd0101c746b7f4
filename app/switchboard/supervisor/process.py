"""One managed server: its process, its state machine, its restarts and its log."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import dataclasses
import logging
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from switchboard.core.errors import SpawnError, SwitchboardError
from switchboard.core.events import EventBus, LogLine, StateChanged, Stream
from switchboard.core.spec import ServerSpec, Transport
from switchboard.core.state import ServerState
from switchboard.supervisor.backoff import Backoff
from switchboard.supervisor.clock import Clock, MonotonicClock
from switchboard.supervisor.environment import build_env, resolve_command
from switchboard.supervisor.logs import Redactor, ServerLog
from switchboard.supervisor.stream import StdioStream

log = logging.getLogger("switchboard.supervisor")

STREAM_LIMIT = 64 * 1024 * 1024
"""Longest JSON-RPC line accepted from a server (big resources are single lines)."""

SecretResolver = Callable[[Mapping[str, str]], Awaitable[dict[str, str]]]
"""Turns {ENV_VAR: secret name} into {ENV_VAR: value}; raises SecretError."""


async def no_secrets(refs: Mapping[str, str]) -> dict[str, str]:
    if refs:
        raise SpawnError(
            "This server needs secrets but no secret store is configured.",
            hint="Configure the keyring.",
        )
    return {}


class Spawner(Protocol):
    """Starts a process. Production: :func:`spawn_process`; tests may pass fakes."""

    async def __call__(
        self, argv: list[str], env: dict[str, str], cwd: str | None, stdio: bool
    ) -> asyncio.subprocess.Process: ...


def _set_pdeathsig() -> None:  # pragma: no cover - runs in the child
    # Linux: the kernel sends SIGKILL to the child when the engine dies.
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


async def spawn_process(
    argv: list[str], env: dict[str, str], cwd: str | None, stdio: bool
) -> asyncio.subprocess.Process:
    """Spawn without a shell, in a new process group (session), stdin piped for stdio."""
    return await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE if stdio else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=cwd,
        start_new_session=True,
        close_fds=True,
        limit=STREAM_LIMIT,
        preexec_fn=_set_pdeathsig if sys.platform.startswith("linux") else None,
    )


@dataclasses.dataclass(frozen=True, slots=True)
class ServerStatus:
    """A snapshot of a managed server for front ends."""

    name: str
    state: ServerState
    pid: int | None
    started_at: float | None
    """Wall-clock time (epoch seconds) the current process started."""
    restarts: int
    detail: str
    last_stderr: str

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["state"] = self.state.value
        return d


class ManagedServer:
    """Runs one :class:`ServerSpec` according to its restart policy."""

    def __init__(
        self,
        spec: ServerSpec,
        *,
        events: EventBus,
        path: str,
        log_file: Any = None,
        spawner: Spawner = spawn_process,
        clock: Clock | None = None,
        secrets: SecretResolver = no_secrets,
        stop_grace: float = 5.0,
        on_pgid: Callable[[int, bool], None] | None = None,
        rand: Callable[[], float] | None = None,
    ) -> None:
        self.spec = spec
        self._events = events
        self._path = path
        self._spawner = spawner
        self._clock = clock or MonotonicClock()
        self._secrets = secrets
        self._stop_grace = stop_grace
        self._on_pgid = on_pgid
        self._rand = rand
        self.log = ServerLog(log_file)
        self.state = ServerState.STOPPED
        self.detail = ""
        self.restarts = 0
        self.started_at: float | None = None
        self.stream: StdioStream | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._generation = 0
        self._redact = Redactor()
        self._state_waiters: list[tuple[set[ServerState], asyncio.Future[None]]] = []

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc and self._proc.returncode is None else None

    def status(self) -> ServerStatus:
        return ServerStatus(
            name=self.name,
            state=self.state,
            pid=self.pid,
            started_at=self.started_at,
            restarts=self.restarts,
            detail=self.detail,
            last_stderr=self.log.last_text(10),
        )

    # -- public lifecycle -----------------------------------------------------------
    async def start(self) -> None:
        """Start (or restart from FAILED). Returns once the first spawn settled."""
        if self.state is ServerState.STOPPING:
            await self.wait_for({ServerState.STOPPED})
        if self._task is not None and not self._task.done():
            return
        self._stopping = False
        self.restarts = 0
        self._set_state(ServerState.STARTING, "")
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"switchboard-server-{self.name}"
        )
        await self.wait_for({ServerState.RUNNING, ServerState.FAILED, ServerState.BACKOFF})

    async def stop(self) -> None:
        """SIGTERM the process group, SIGKILL after the grace period, end in STOPPED."""
        if self.state is ServerState.STOPPED:
            return
        if self.state is ServerState.STOPPING:
            await self.wait_for({ServerState.STOPPED})
            return
        self._stopping = True
        self._set_state(ServerState.STOPPING, "stopping")
        proc = self._proc
        if proc is not None and proc.returncode is None:
            await self._terminate(proc)
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._task = None
        if self._proc is not None and self._proc.returncode is None:
            await self._terminate(self._proc)
        self._close_stream()
        self.started_at = None
        self._set_state(ServerState.STOPPED, "stopped")

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def wait_for(self, states: set[ServerState]) -> None:
        if self.state in states:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._state_waiters.append((states, fut))
        await fut

    def update_spec(self, spec: ServerSpec) -> None:
        """Takes effect at the next (re)start."""
        self.spec = spec

    # -- the run loop ----------------------------------------------------------------
    async def _run(self) -> None:
        backoff = Backoff(self.spec.restart, *([self._rand] if self._rand else []))
        if not self.spec.command:
            # A local HTTP server that something else runs: "running" means "routed".
            self._set_state(ServerState.RUNNING, f"external server at {self.spec.url}")
            await asyncio.Event().wait()
        while not self._stopping:
            if self.state is not ServerState.STARTING:
                self._set_state(ServerState.STARTING, "")
            try:
                proc = await self._spawn()
            except SwitchboardError as exc:
                self._system(f"failed to start: {exc}")
                self._set_state(ServerState.FAILED, str(exc))
                return
            started = self._clock.now()
            self.started_at = time.time()
            self._set_state(ServerState.RUNNING, f"pid {proc.pid}")
            code = await self._watch(proc)
            self.started_at = None
            if self._stopping:
                return
            ran = self._clock.now() - started
            backoff.record_exit(ran)
            why = _describe_exit(code)
            self._system(f"process exited: {why} after {ran:.1f}s")
            if backoff.exhausted:
                tail = self.log.last_text(5)
                detail = f"{why}; gave up after {backoff.failures} crash(es)."
                if tail:
                    detail += f" Last output:\n{tail}"
                self._set_state(ServerState.FAILED, detail)
                return
            delay = backoff.delay()
            self.restarts += 1
            self._set_state(ServerState.BACKOFF, f"{why}; restarting in {delay:.1f}s")
            await self._clock.sleep(delay)

    async def _spawn(self) -> asyncio.subprocess.Process:
        spec = self.spec
        command = resolve_command(spec.command, self._path)
        secret_values = await self._secrets(spec.secrets)
        self._redact = Redactor(secret_values.values())
        env = build_env(self._path, spec.env, secret_values)
        cwd = os.path.expanduser(spec.cwd) if spec.cwd else None
        if cwd is not None and not os.path.isdir(cwd):
            raise SpawnError(
                f"Working directory {cwd} of server {spec.name!r} does not exist.",
                hint="Create it or change the server's cwd.",
            )
        stdio = spec.transport is Transport.STDIO
        try:
            proc = await self._spawner([command, *spec.args], env, cwd, stdio)
        except OSError as exc:
            raise SpawnError(
                f"Could not start {command}: {exc.strerror or exc}.",
                hint="Check that it is an executable program.",
            ) from exc
        self._proc = proc
        self._generation += 1
        if self._on_pgid is not None:
            self._on_pgid(proc.pid, True)
        self._system(f"started pid {proc.pid}: {command} {' '.join(spec.args)}".rstrip())
        if stdio:
            assert proc.stdin is not None
            self.stream = StdioStream(spec.name, self._generation, proc.stdin)  # type: ignore[arg-type]
        return proc

    async def _watch(self, proc: asyncio.subprocess.Process) -> int:
        readers = []
        assert proc.stderr is not None
        assert proc.stdout is not None
        readers.append(asyncio.ensure_future(self._read_stderr(proc.stderr)))
        if self.stream is not None:
            readers.append(asyncio.ensure_future(self._read_stdout(proc.stdout, self.stream)))
        else:
            readers.append(asyncio.ensure_future(self._read_stderr(proc.stdout)))
        try:
            code = await proc.wait()
            # Let the readers drain what the process wrote before it died.
            await asyncio.wait(readers, timeout=1.0)
        finally:
            for r in readers:
                r.cancel()
            if self._on_pgid is not None:
                self._on_pgid(proc.pid, False)
            self._close_stream()
        return code

    async def _read_stdout(self, reader: asyncio.StreamReader, stream: StdioStream) -> None:
        while True:
            try:
                line = await reader.readline()
            except ValueError:
                # A line over STREAM_LIMIT: drop it, say so, keep going.
                self._system(f"dropped an oversized stdout line (> {STREAM_LIMIT} bytes)")
                with contextlib.suppress(Exception):
                    await reader.read(STREAM_LIMIT)
                continue
            if not line:
                return
            line = line.rstrip(b"\r\n")
            if line:
                stream._feed(line)

    async def _read_stderr(self, reader: asyncio.StreamReader) -> None:
        while True:
            try:
                raw = await reader.readline()
            except ValueError:
                continue
            if not raw:
                return
            text = self._redact(raw.decode("utf-8", "replace").rstrip("\r\n"))
            self._log(Stream.STDERR, text)

    async def _terminate(self, proc: asyncio.subprocess.Process) -> None:
        self._signal_group(proc, signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), self._stop_grace)
        except TimeoutError:
            self._system(f"did not exit {self._stop_grace:g}s after SIGTERM; sending SIGKILL")
            self._signal_group(proc, signal.SIGKILL)
            await proc.wait()
        # The group may hold children (npx -> node) that outlived the leader.
        self._signal_group(proc, signal.SIGKILL)

    @staticmethod
    def _signal_group(proc: asyncio.subprocess.Process, sig: int) -> None:
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            with contextlib.suppress(ProcessLookupError):
                if proc.returncode is None:
                    proc.send_signal(sig)

    def _close_stream(self) -> None:
        if self.stream is not None:
            self.stream._end()
            self.stream = None

    # -- events ------------------------------------------------------------------------
    def _set_state(self, new: ServerState, detail: str) -> None:
        old = self.state
        self.state = old.check(new) if old is not new else new
        self.detail = detail
        if old is not new:
            log.info("server %s: %s -> %s %s", self.name, old.value, new.value, detail)
            self._events.publish(StateChanged(self.name, old, new, detail))
        for entry in list(self._state_waiters):
            states, fut = entry
            if new in states and not fut.done():
                fut.set_result(None)
                self._state_waiters.remove(entry)

    def _log(self, stream: Stream, text: str) -> None:
        line = LogLine(self.name, time.time(), stream, text)
        self.log.append(line)
        self._events.publish(line)

    def _system(self, text: str) -> None:
        self._log(Stream.SYSTEM, text)


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"
