"""The one loopback HTTP listener: uvicorn serving an ASGI app inside our event loop.

The same uvicorn server also serves the app on the engine's private Unix socket when
given one (see :mod:`switchboard.control.channel`): the CLI's only way in."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp

from switchboard.core.errors import ListenerError
from switchboard.core.loopback import url_host
from switchboard.httplimits import LimitedHttpToolsProtocol

log = logging.getLogger("switchboard.listener")


class Listener:
    """Binds ``host:port`` itself (so a taken port is a clear error, not uvicorn's
    ``sys.exit``) and runs ``uvicorn.Server.serve()`` as a task. Signals stay with the app.
    ``private_socket``: also serve on this Unix socket (created in a private directory)."""

    def __init__(
        self,
        app: ASGIApp,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        private_socket: Path | None = None,
    ) -> None:
        self._app = app
        self.host = host
        self.requested_port = port
        self.port = port
        self.private_socket = private_socket
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{url_host(self.host)}:{self.port}"

    async def start(self) -> None:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto is TCP;
        # with proto 0, Nagle + delayed ACK add ~40 ms to every response.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.requested_port))
        except OSError as exc:
            sock.close()
            if exc.errno == errno.EADDRINUSE:
                raise ListenerError(
                    f"Port {self.requested_port} on {self.host} is already in use.",
                    hint="Another Switchboard or another program holds it. Stop that, or pick "
                    "another port ('switchboard serve --port N' or the port setting); "
                    "clients' configs point at the port, so prefer keeping it fixed.",
                ) from exc
            raise ListenerError(
                f"Cannot listen on {self.host}:{self.requested_port}: {exc.strerror}.",
                hint="Pick another port.",
            ) from exc
        sock.listen(1024)
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        sockets = [sock]
        if self.private_socket is not None:
            from switchboard.control.channel import bind_private_socket

            try:
                sockets.append(bind_private_socket(self.private_socket))
            except OSError as exc:
                sock.close()
                raise ListenerError(
                    f"Cannot listen on {self.private_socket}: {exc.strerror}.",
                    hint="Check that the directory is yours and writable.",
                ) from exc
            except BaseException:
                sock.close()
                raise
        config = uvicorn.Config(
            self._app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=3,
            ws="none",
            http=LimitedHttpToolsProtocol,  # request head capped while it arrives -> 431
            # Nothing sits in front of us: never trust X-Forwarded-* from a local caller
            # (and skip that middleware on every request).
            proxy_headers=False,
            server_header=False,
        )
        server = uvicorn.Server(config)
        server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
        self._server = server
        self._task = asyncio.get_running_loop().create_task(
            server.serve(sockets=sockets), name="switchboard-listener"
        )
        while not server.started:
            if self._task.done():
                exc2 = self._task.exception()
                raise ListenerError(
                    f"The listener on {self.base_url} failed to start: {exc2}.",
                    hint="See the log.",
                )
            await asyncio.sleep(0.005)
        if self.private_socket is not None:
            log.info("listening on %s and %s", self.base_url, self.private_socket)
        else:
            log.info("listening on %s", self.base_url)

    async def aclose(self) -> None:
        server, task = self._server, self._task
        self._server = self._task = None
        if server is None or task is None:
            return
        server.should_exit = True
        try:
            await asyncio.wait_for(task, 5)
        except (TimeoutError, asyncio.CancelledError):
            server.force_exit = True
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        if self.private_socket is not None:
            with contextlib.suppress(OSError):
                self.private_socket.unlink()
