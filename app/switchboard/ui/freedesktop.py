"""``org.freedesktop.Notifications`` over D-Bus (the Desktop Notifications Specification
1.2): the service seam of :mod:`switchboard.ui.notify` and its jeepney implementation.

The D-Bus calls are asynchronous (never block the loop), made with ``jeepney`` on the
running asyncio loop: PySide6's QtDBus marshals Python ints as ``int32`` only, while the
spec's ``Notify`` takes ``replaces_id`` as ``uint32`` and ``urgency`` as a byte, and
GDBus-based services (GNOME Shell, dunst) refuse a call whose signature differs.

Bodies are escaped for the spec's markup when the service renders it (``body-markup``
in ``GetCapabilities``, or no answer); ``ActionInvoked``/``NotificationClosed`` count
only from the unique bus name that answered ``Notify`` (the bus stamps the sender).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from switchboard.ui.notify import Notification

log = logging.getLogger("switchboard.ui")

APP_NAME = "Switchboard"
DESKTOP_ENTRY = "dev.switchboard.switchboard"
BUS_NAME = "org.freedesktop.Notifications"
OBJECT_PATH = "/org/freedesktop/Notifications"
INTERFACE = "org.freedesktop.Notifications"
CALL_TIMEOUT = 10.0
"""Seconds to wait for ``Notify``'s answer before using the fallback."""


def markup_escape(text: str) -> str:
    """``text`` as literal text in the notification spec's body markup (a subset of
    XML: ``&``, ``<``, ``>`` are special)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@functools.cache
def notification_icon() -> str:
    """The app icon as a file path (the spec's ``app_icon`` takes a path or a name):
    128 px (sharp in a bubble at 2x), else the largest PNG, else the SVG. Looked up once."""
    from switchboard.ui.icons import icons_dir

    root = icons_dir()
    preferred = root / "hicolor" / "128x128" / "apps" / "switchboard.png"
    if preferred.is_file():
        return str(preferred)
    pngs = sorted(
        (root / "hicolor").glob("*/apps/switchboard.png"),
        key=lambda p: int(p.parent.parent.name.split("x")[0] or 0),
    )
    if pngs:
        return str(pngs[-1])
    svg = root / "switchboard.svg"
    return str(svg) if svg.exists() else "dialog-information"


class NotificationService(Protocol):
    """The seam to ``org.freedesktop.Notifications`` (a fake in tests of the fallbacks)."""

    async def notify(self, notification: Notification, replaces_id: int) -> int:
        """Show it; return the service's id. Raises ``OSError``/``ConnectionError`` or
        :class:`ServiceError` when there is no service."""
        ...

    async def aclose(self) -> None: ...


class ServiceError(Exception):
    """The bus answered with an error (no notification service, bad call)."""


class FreedesktopService:
    """``org.freedesktop.Notifications`` on the session bus, through jeepney's asyncio
    router on the running loop. Calls ``on_action(id, action_key)`` for ActionInvoked
    and ``on_closed(id)`` for NotificationClosed."""

    def __init__(
        self,
        *,
        on_action: Callable[[int, str], None],
        on_closed: Callable[[int], None] = lambda _id: None,
        bus: str = "SESSION",
        icon: str | None = None,
    ) -> None:
        self._on_action = on_action
        self._on_closed = on_closed
        self._bus = bus
        self._icon = icon
        self._stack: contextlib.AsyncExitStack | None = None
        self._router: Any = None
        self._listener: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._sender: str | None = None
        """Unique bus name of the service that answered ``Notify``."""
        self._markup: bool | None = None

    async def _connect(self) -> Any:
        async with self._lock:
            if self._router is not None:
                return self._router
            from jeepney import MatchRule
            from jeepney.bus_messages import message_bus
            from jeepney.io.asyncio import open_dbus_router

            stack = contextlib.AsyncExitStack()
            try:
                router = await stack.enter_async_context(open_dbus_router(bus=self._bus))
                rule = MatchRule(type="signal", interface=INTERFACE, path=OBJECT_PATH)
                queue: asyncio.Queue[Any] = stack.enter_context(
                    router.filter(rule, queue=asyncio.Queue())
                )
                await router.send_and_get_reply(message_bus.AddMatch(rule))
            except BaseException:
                await stack.aclose()
                raise
            self._stack, self._router = stack, router
            self._listener = asyncio.ensure_future(self._listen(queue))
            return router

    async def _listen(self, queue: asyncio.Queue[Any]) -> None:
        from jeepney import HeaderFields

        while True:
            msg = await queue.get()
            member = msg.header.fields.get(HeaderFields.member)
            sender = msg.header.fields.get(HeaderFields.sender)
            if self._sender is None or sender != self._sender:
                log.warning("ignored %s from %s: not the notification service", member, sender)
                continue
            try:
                if member == "ActionInvoked":
                    nid, key = msg.body
                    self._on_action(int(nid), str(key))
                elif member == "NotificationClosed":
                    self._on_closed(int(msg.body[0]))
            except Exception:  # a bad handler must not end the listener
                log.exception("notification signal %s", member)

    async def notify(self, notification: Notification, replaces_id: int) -> int:
        from jeepney import DBusAddress, HeaderFields, MessageType, new_method_call

        router = await self._connect()
        address = DBusAddress(OBJECT_PATH, bus_name=BUS_NAME, interface=INTERFACE)
        if self._markup is None:
            self._markup = await self._body_markup(router, address)
        body = markup_escape(notification.body) if self._markup else notification.body
        hints = {
            "urgency": ("y", int(notification.urgency)),
            "desktop-entry": ("s", DESKTOP_ENTRY),
        }
        msg = new_method_call(
            address,
            "Notify",
            "susssasa{sv}i",
            (
                APP_NAME,
                replaces_id,
                self._icon if self._icon is not None else notification_icon(),
                notification.title,
                body,
                notification.actions,
                hints,
                -1,
            ),
        )
        try:
            reply = await asyncio.wait_for(router.send_and_get_reply(msg), CALL_TIMEOUT)
        except Exception as exc:  # the bus went away, or a service that never answers
            await self.aclose()  # reconnect on the next notification
            raise ServiceError(f"no answer from {BUS_NAME}: {exc!r}") from exc
        if reply.header.message_type is MessageType.error:
            name = reply.header.fields.get(HeaderFields.error_name)
            raise ServiceError(f"{name}: {reply.body[0] if reply.body else ''}")
        self._sender = reply.header.fields.get(HeaderFields.sender)
        return int(reply.body[0])

    async def _body_markup(self, router: Any, address: Any) -> bool:
        """Whether the service renders body markup (``GetCapabilities``); a service that
        does not answer is assumed to (escaped text is safe either way)."""
        from jeepney import MessageType, new_method_call

        try:
            reply = await asyncio.wait_for(
                router.send_and_get_reply(new_method_call(address, "GetCapabilities")),
                CALL_TIMEOUT,
            )
        except Exception:
            return True
        if reply.header.message_type is MessageType.error or not reply.body:
            return True
        return "body-markup" in reply.body[0]

    async def aclose(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        self._sender = self._markup = None
        if self._stack is not None:
            stack, self._stack, self._router = self._stack, None, None
            with contextlib.suppress(Exception):
                await stack.aclose()
