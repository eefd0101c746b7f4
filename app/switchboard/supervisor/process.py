"""One managed server: its process, its state machine, its restarts and its log."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import shlex
import signal
import time
import uuid
from collections.abc import Callable
from typing import Any

from switchboard.core.errors import ServerNotRunning, SpawnError, SwitchboardError
from switchboard.core.events import EventBus, LogLine, StateChanged, Stream
from switchboard.core.launch import Launch
from switchboard.core.spec import ServerSpec, Transport
from switchboard.core.state import ServerState
from switchboard.supervisor import tree
from switchboard.supervisor.backoff import Backoff
from switchboard.supervisor.clock import Clock, MonotonicClock
from switchboard.supervisor.containment import ProcessTree, wait_exit
from switchboard.supervisor.environment import build_env, resolve_command
from switchboard.supervisor.lines import LineReader, response_id, size_text, truncated
from switchboard.supervisor.logs import Redactor, ServerLog
from switchboard.supervisor.memory import Target
from switchboard.supervisor.spawning import (
    CommandResolver,
    SecretResolver,
    Spawner,
    no_secrets,
    spawn_process,
)
from switchboard.supervisor.stream import StdioStream

log = logging.getLogger("switchboard.supervisor")

STREAM_LIMIT = 64 * 1024 * 1024
"""Longest JSON-RPC line accepted from a server (big resources are single lines)."""

LOG_LINE_LIMIT = 8 * 1024
"""Longest log line kept (memory and file); the rest is cut with a marker."""

ID_HEAD = 1024
"""Bytes kept of an oversized stdout line to find the JSON-RPC id it answers."""

READY_WINDOW = 1.0
"""Seconds a process must stay up to count as started when it gives no earlier sign
(a stdio server's answer to the readiness ping comes first)."""

EOF_GRACE = 0.5
"""After stdout closes, how long a process has to exit on its own before it is stopped."""

SLEEP_DETAIL = "asleep — wakes on the next call"


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
    last_exit: str = ""
    """Why the previous process ended (kept while the restarted one runs)."""
    resolved_command: str = ""
    """What actually runs when it differs from the command as written (the package's
    own program instead of npx/uvx), shell-quoted; "" otherwise."""
    resolution_notice: str = ""
    """Why the command runs as written although it is a package runner ("" if not)."""
    rss_bytes: int | None = None
    """Resident memory of the process tree (all its processes), None without a process."""

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
        ready_window: float = READY_WINDOW,
        stdout_limit: int = STREAM_LIMIT,
        scope: str | None = None,
        resolver: CommandResolver | None = None,
    ) -> None:
        self.spec = spec
        self._resolver = resolver
        self.resolved_command: tuple[str, ...] = ()
        """The argv last spawned in place of the spec's command (empty: as written)."""
        self.resolution_notice = ""
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
        self._ready_window = ready_window
        self.stdout_limit = stdout_limit
        """Longest stdout line (one JSON-RPC message) accepted; see :meth:`_oversized`."""
        self.scope = f"{scope or uuid.uuid4().hex}:{uuid.uuid4().hex[:12]}"
        """``SWITCHBOARD_SCOPE`` of this server's processes (``engine:server``; tree.py)."""
        self._scope_entry = f"{tree.SCOPE_VAR}={self.scope}\0".encode()
        self._probe: bytes | None = None
        self._ping_at_start = True
        """False once the server exited without answering the start-up ping: servers
        built on older SDKs quit on anything but ``initialize`` first (rmcp < 1.x)."""
        self._ready_event: asyncio.Event | None = None
        self._exit_reason: str | None = None
        self._tree: ProcessTree | None = None
        self.last_exit = ""
        self._halt_to: ServerState | None = None
        self.rss_bytes: int | None = None
        """Resident memory of the whole process tree, sampled by the supervisor."""

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc and self._proc.returncode is None else None

    def memory_target(self) -> Target | None:
        """What :func:`switchboard.supervisor.memory.sample` needs, while a process runs."""
        proc, found = self._proc, self._tree
        if proc is None or proc.returncode is not None or found is None or found.proc is not proc:
            return None
        return Target(proc.pid, found.leader_start, self._scope_entry)

    def status(self) -> ServerStatus:
        return ServerStatus(
            name=self.name,
            state=self.state,
            pid=self.pid,
            started_at=self.started_at,
            restarts=self.restarts,
            detail=self.detail,
            last_stderr=self.log.last_text(10),
            last_exit=self.last_exit,
            resolved_command=shlex.join(self.resolved_command) if self.resolved_command else "",
            resolution_notice=self.resolution_notice,
            rss_bytes=self.rss_bytes,
        )

    # -- public lifecycle -----------------------------------------------------------
    async def start(self) -> None:
        """Start (or restart from FAILED). Returns once the first spawn settled."""
        if self.state is ServerState.STOPPING:
            await self.wait_for({ServerState.STOPPED, ServerState.SLEEPING})
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
        if self.state is ServerState.SLEEPING:
            self._set_state(ServerState.STOPPED, "stopped")
            return
        if await self._halt(ServerState.STOPPED, "stopped") is ServerState.SLEEPING:
            self._set_state(ServerState.STOPPED, "stopped")  # it was falling asleep meanwhile

    async def sleep(self) -> None:
        """Put an on-demand server to sleep (issue 16.2): its stream is closed first, so
        no new request reaches the dying process (the gateway wakes it again instead),
        then the tree is stopped as by :meth:`stop`, ending in SLEEPING."""
        if self.state is ServerState.STOPPED:
            self._set_state(ServerState.SLEEPING, SLEEP_DETAIL)
            return
        if self.state is not ServerState.RUNNING:
            return  # starting, crashing or stopping: not idle
        self._close_stream()
        await self._halt(ServerState.SLEEPING, SLEEP_DETAIL)

    @property
    def wakeable(self) -> bool:
        """Asleep, or on its way to sleep: a call starts it (:meth:`wake`)."""
        return self.state is ServerState.SLEEPING or (
            self.state is ServerState.STOPPING and self._halt_to is ServerState.SLEEPING
        )

    async def wake(self) -> None:
        """Start a sleeping server (waits for a sleep under way to finish first)."""
        if self.state is ServerState.STOPPING and self._halt_to is ServerState.SLEEPING:
            await self.wait_for({ServerState.SLEEPING, ServerState.STOPPED})
        if self.state is ServerState.SLEEPING:
            await self.start()

    async def _halt(self, final: ServerState, detail: str) -> ServerState:
        """Stop the process tree and end in ``final``; returns the state it ended in
        (another halt under way may end elsewhere)."""
        if self.state in (ServerState.STOPPED, ServerState.SLEEPING):
            return self.state
        if self.state is ServerState.STOPPING:
            await self.wait_for({ServerState.STOPPED, ServerState.SLEEPING})
            return self.state
        self._stopping = True
        self._halt_to = final
        self._set_state(
            ServerState.STOPPING,
            "stopping" if final is ServerState.STOPPED else "idle: going to sleep",
        )
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
        self.rss_bytes = None
        self._halt_to = None
        self._set_state(final, detail)
        return final

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
            self._exit_reason = None
            watch = asyncio.ensure_future(self._watch(proc))
            try:
                ready = await self._until_ready(proc, watch)
                if ready:
                    detail = f"pid {proc.pid}"
                    if self.last_exit:
                        detail += f" (restarted after: {self.last_exit})"
                    self._set_state(ServerState.RUNNING, detail)
                code = await asyncio.shield(watch)
            finally:
                if not watch.done():
                    watch.cancel()
            self.started_at = None
            if self._stopping:
                return
            await self._clean_up_after(proc)
            ran = self._clock.now() - started
            backoff.record_exit(ran)
            why = self._exit_reason or _describe_exit(code)
            if not ready:
                why = f"exited during start-up ({why})"
            self.last_exit = why
            self._system(f"process exited: {why} after {ran:.1f}s")
            if not ready and self._probe is not None:
                self._ping_at_start = False
                self._system(
                    "it had not answered the start-up ping; it is started without one "
                    "from now on (some servers accept nothing before initialize)"
                )
            tail = self.log.last_text(5, Stream.STDERR)
            if backoff.exhausted:
                detail = f"{why}; gave up after {backoff.failures} crash(es)."
                if tail:
                    detail += f" Last output:\n{tail}"
                self._set_state(ServerState.FAILED, detail)
                return
            delay = backoff.delay()
            self.restarts += 1
            detail = f"{why}; restarting in {delay:.1f}s"
            if not ready and tail:
                detail += f". Last output:\n{tail}"
            self._set_state(ServerState.BACKOFF, detail)
            await self._clock.sleep(delay)

    async def _until_ready(
        self, proc: asyncio.subprocess.Process, watch: asyncio.Future[int]
    ) -> bool:
        """Wait for a sign that the process started: a stdio server's answer to a
        ``ping`` (MCP 2025-11-25, basic/utilities/ping: allowed before initialize; any
        answer, even an error, shows it reads and writes JSON-RPC), or
        ``ready_window`` seconds up. False when it exited first."""
        event = self._ready_event = asyncio.Event()
        stream = self.stream
        self._probe = None
        if stream is not None and self._ping_at_start:
            probe = f"switchboard-ready-{self._generation}"
            self._probe = f'"{probe}"'.encode()
            with contextlib.suppress(ServerNotRunning, ConnectionError, RuntimeError):
                stream.write_nowait(f'{{"jsonrpc":"2.0","id":"{probe}","method":"ping"}}'.encode())
        waiter = asyncio.ensure_future(event.wait())
        either: list[asyncio.Future[Any]] = [watch, waiter]
        try:
            await asyncio.wait(
                either, timeout=self._ready_window, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            waiter.cancel()
        return not watch.done() and proc.returncode is None

    async def _resolve(self, spec: ServerSpec) -> Launch:
        """What to spawn: the package's own program when the resolver knows the
        command (issue 16.1), else the command as written."""
        written = Launch((spec.command, *spec.args))
        if self._resolver is None:
            return written
        try:
            found = await self._resolver(
                spec.command,
                spec.args,
                path=self._path,
                env=build_env(self._path, spec.env, {}),
                note=self._system,
            )
        except (SwitchboardError, OSError) as exc:
            self.resolved_command = ()
            self.resolution_notice = (
                f"Could not run the package directly ({exc}); running the command as written."
            )
            self._system(self.resolution_notice)
            return written
        self.resolution_notice = ""
        self.resolved_command = found.argv if found else ()
        return found or written

    async def _spawn(self) -> asyncio.subprocess.Process:
        spec = self.spec
        launch = await self._resolve(spec)
        argv = launch.argv
        command = resolve_command(argv[0], self._path)
        secret_values = await self._secrets(spec.secrets)
        self._redact = Redactor(secret_values.values())
        env = build_env(self._path, spec.env, secret_values)
        if launch.path:
            env["PATH"] = os.pathsep.join([*launch.path, env.get("PATH", "")])
        env[tree.SCOPE_VAR] = self.scope
        cwd = os.path.expanduser(spec.cwd) if spec.cwd else None
        if cwd is not None and not os.path.isdir(cwd):
            raise SpawnError(
                f"Working directory {cwd} of server {spec.name!r} does not exist.",
                hint="Create it or change the server's cwd.",
            )
        stdio = spec.transport is Transport.STDIO
        try:
            proc = await self._spawner([command, *argv[1:]], env, cwd, stdio)
        except OSError as exc:
            raise SpawnError(
                f"Could not start {command}: {exc.strerror or exc}.",
                hint="Check that it is an executable program.",
            ) from exc
        self._proc = proc
        self._generation += 1
        self._tree = ProcessTree(
            proc, self._scope_entry, tree.start_time(proc.pid), self._stop_grace, self._system
        )
        if self._on_pgid is not None:
            self._on_pgid(proc.pid, True)
        started = f"started pid {proc.pid}: {shlex.join([command, *argv[1:]])}"
        if self.resolved_command:
            started += f" (for: {shlex.join([spec.command, *spec.args])})"
        self._system(started)
        if stdio:
            assert proc.stdin is not None
            self.stream = StdioStream(spec.name, self._generation, proc.stdin)
        return proc

    async def _watch(self, proc: asyncio.subprocess.Process) -> int:
        assert proc.stderr is not None
        assert proc.stdout is not None
        readers = [asyncio.ensure_future(self._read_log(proc.stderr))]
        stream = self.stream
        if stream is not None:
            readers.append(asyncio.ensure_future(self._read_stdout(proc.stdout, stream)))
        else:
            readers.append(asyncio.ensure_future(self._read_log(proc.stdout)))
        exited = asyncio.ensure_future(wait_exit(proc))
        try:
            if stream is not None:
                await asyncio.wait({exited, readers[1]}, return_when=asyncio.FIRST_COMPLETED)
                if not exited.done():
                    await self._stdout_closed(proc, exited)
            code = await exited
            # Let the readers drain what the process wrote before it died.
            await asyncio.wait(readers, timeout=1.0)
        finally:
            exited.cancel()
            for r in readers:
                r.cancel()
            if self._on_pgid is not None:
                self._on_pgid(proc.pid, False)
            self._close_stream()
        return code

    async def _stdout_closed(
        self, proc: asyncio.subprocess.Process, exited: asyncio.Future[int]
    ) -> None:
        """stdout is the JSON-RPC stream (MCP stdio transport): at EOF nothing more can
        be answered. Waiting calls were failed when the stream ended; a process that
        does not exit on its own is stopped and restarted per its policy (issue 12.7)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(exited), EOF_GRACE)
            return
        if self._stopping:
            return
        self._exit_reason = "closed its stdout while still running"
        self._system(f"pid {proc.pid} closed its stdout but kept running; stopping it")
        await self._terminate(proc)

    async def _read_stdout(self, reader: asyncio.StreamReader, stream: StdioStream) -> None:
        lines = LineReader(reader, self.stdout_limit, keep=ID_HEAD)
        while (item := await lines.next()) is not None:
            line, dropped = item
            if dropped:
                self._oversized(stream, line, dropped)
                continue
            if line.endswith(b"\r"):
                line = line[:-1]
            if not line:
                continue
            probe = self._probe
            if probe is not None and probe in line[:200]:
                self._probe = None
                if self._ready_event is not None:
                    self._ready_event.set()
                continue
            stream._feed(line)
        # End of stream: fail whatever waits on it now, not when the process exits.
        if self.stream is stream:
            self._close_stream()

    def _oversized(self, stream: StdioStream, head: bytes, dropped: int) -> None:
        """A stdout line over ``stdout_limit`` was skipped (issue 12.8). If its head shows
        it is a response, answer the request it was for with an error at once; the mux
        puts the client's id back as for any response."""
        limit = size_text(self.stdout_limit)
        size = len(head) + dropped
        msg_id = response_id(head)
        if msg_id is None:
            self._system(
                f"dropped a stdout line larger than the {limit} limit ({size:,} bytes): "
                f"no JSON-RPC id of a response in its first {len(head):,} bytes, so the "
                "request it answers (if any) waits for its timeout"
            )
            return
        message = (
            f"Server {self.name!r} sent a response larger than the {limit} limit "
            f"({size:,} bytes); it was dropped. Ask for less data (e.g. a smaller page "
            "or range) or fix the server."
        )
        self._system(message)
        error = {"code": -32603, "message": message, "data": {"server": self.name, "size": size}}
        stream._feed(json.dumps({"jsonrpc": "2.0", "id": msg_id, "error": error}).encode())

    async def _read_log(self, reader: asyncio.StreamReader) -> None:
        lines = LineReader(reader, LOG_LINE_LIMIT, keep=LOG_LINE_LIMIT)
        while (item := await lines.next()) is not None:
            raw, dropped = item
            text = self._redact(raw.decode("utf-8", "replace").rstrip("\r"))
            if dropped:
                text = truncated(text, dropped)
            self._log(Stream.STDERR, text)

    # -- stopping the whole tree ---------------------------------------------------------
    def _tree_of(self, proc: asyncio.subprocess.Process) -> ProcessTree:
        found = self._tree
        if found is None or found.proc is not proc:
            found = ProcessTree(proc, self._scope_entry, None, self._stop_grace, self._system)
        return found

    async def _terminate(self, proc: asyncio.subprocess.Process) -> None:
        """SIGTERM the group and every escaped descendant, SIGKILL after the grace."""
        await self._tree_of(proc).terminate()

    async def _clean_up_after(self, proc: asyncio.subprocess.Process) -> None:
        """The leader exited on its own: stop what it left behind before a restart."""
        await self._tree_of(proc).clean_up()

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
