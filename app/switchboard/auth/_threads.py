"""A blocking call in a daemon thread, awaited with a timeout (for keyring calls)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from switchboard.core.errors import SecretError

_T = TypeVar("_T")


async def call_with_timeout(timeout: float, fn: Callable[..., _T], *args: Any) -> _T:
    """``fn(*args)`` in a daemon thread, awaited at most ``timeout`` s (SecretError then).

    For keyring calls: a locked Secret Service that cannot show its unlock prompt would
    otherwise block engine start-up, and SIGTERM, for ever.

    Not ``asyncio.to_thread``: a call stuck in D-Bus would then also block interpreter
    exit, which waits for the default executor's threads."""
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[_T] = loop.create_future()

    def settle(ok: bool, value: Any) -> None:
        if fut.done():
            return
        if ok:
            fut.set_result(value)
        else:
            fut.set_exception(value)

    def work() -> None:
        try:
            outcome: tuple[bool, Any] = (True, fn(*args))
        except BaseException as exc:  # handed to the awaiting task
            outcome = (False, exc)
        # A call that answered after the timeout may find the loop closed: nobody waits.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, *outcome)

    threading.Thread(target=work, name="switchboard-keyring", daemon=True).start()
    try:
        return await asyncio.wait_for(fut, timeout)
    except TimeoutError:
        raise SecretError(
            f"the keyring did not answer within {timeout:g} s (is it locked?)",
            hint="Unlock your keyring and restart Switchboard.",
        ) from None
