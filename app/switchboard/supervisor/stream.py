"""The JSON-RPC byte stream of one running stdio server process.

One ``StdioStream`` per process incarnation: a restart gives a new stream; the old
one ends (``receive`` raises EndOfStream, iteration stops). Lines are delivered
either to a sink callback (lowest latency: the gateway sets one) or, without a
sink, queued for ``async for``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from switchboard.core.errors import ServerNotRunning

Sink = Callable[[bytes | None], None]
"""Called with each stdout line (without newline); ``None`` once, when the stream ends."""


class EndOfStream(Exception):
    """The process's stdout closed."""


class StdioStream:
    """Write JSON-RPC lines to a server's stdin; read its stdout lines."""

    def __init__(self, name: str, generation: int, writer: asyncio.StreamWriter) -> None:
        self.name = name
        self.generation = generation
        self._writer = writer
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._sink: Sink | None = None
        self.closed = False

    def set_sink(self, sink: Sink | None) -> None:
        """Deliver lines to ``sink`` from now on; queued lines are replayed to it first."""
        self._sink = sink
        if sink is not None:
            while not self._queue.empty():
                sink(self._queue.get_nowait())

    async def send(self, message: bytes) -> None:
        """Write one message (a JSON-RPC object without trailing newline)."""
        if self.closed or self._writer.is_closing():
            raise ServerNotRunning(
                f"Server {self.name!r} is not running.", hint="Start it and try again."
            )
        try:
            self._writer.write(message + b"\n")
            await self._writer.drain()
        except (ConnectionError, RuntimeError) as exc:
            raise ServerNotRunning(
                f"Server {self.name!r} stopped while a message was sent to it.",
                hint="Check its log; it will be restarted if its policy allows.",
            ) from exc

    def write_nowait(self, message: bytes) -> None:
        """Queue one message without waiting for the pipe to drain."""
        if self.closed or self._writer.is_closing():
            raise ServerNotRunning(
                f"Server {self.name!r} is not running.", hint="Start it and try again."
            )
        self._writer.write(message + b"\n")

    async def receive(self) -> bytes:
        item = await self._queue.get()
        if item is None:
            self._queue.put_nowait(None)
            raise EndOfStream(self.name)
        return item

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            try:
                yield await self.receive()
            except EndOfStream:
                return

    # -- fed by the supervisor --------------------------------------------------------
    def _feed(self, line: bytes) -> None:
        if self._sink is not None:
            self._sink(line)
        else:
            self._queue.put_nowait(line)

    def _end(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._sink is not None:
            self._sink(None)
        else:
            self._queue.put_nowait(None)
