"""GUI test set-up: offscreen Qt, and one qasync loop shared by async tests and qtbot.

pytest-asyncio 1.5 asks the ``pytest_asyncio_loop_factories`` hook for the loop to run
each async test in; returning a qasync ``QEventLoop`` makes engine coroutines and Qt
signals run on the same loop, as in the app.

Async tests here open the engine *inside* the test (``async with running(paths) as
(engine, bridge)``) rather than through the async ``engine`` fixture: pytest-qt calls
``processEvents()`` between the test and its fixtures' teardown, while the loop is not
running, and qasync would then step the engine's tasks (uvicorn's timer) with no
running loop. Closing the engine within the test leaves no asyncio work pending.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
import qasync
from PySide6.QtWidgets import QApplication

from switchboard.auth.consent import ConsentBroker
from switchboard.core.paths import AppPaths
from switchboard.engine import Engine
from switchboard.ui.engine_bridge import EngineBridge
from switchboard.ui.style import apply_style
from tests.conftest import make_test_engine


def _qapp() -> QApplication:
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication(["switchboard-tests"])
        apply_style(app)
    # As in the app: closing a dialog must not quit (and stop the qasync loop).
    app.setQuitOnLastWindowClosed(False)
    return app


# The offscreen platform says so when asked to raise a window or pass size hints on;
# harmless here, and the app itself runs on a real platform.
OFFSCREEN_NOISE = (
    r"This plugin does not support propagateSizeHints\(\)",
    r"This plugin does not support raise\(\)",
    r"This plugin does not support grabbing the keyboard",
)


@pytest.fixture(autouse=True)
def gc_in_the_gui_thread() -> Iterator[None]:
    """As the app does (ui/gui_thread_gc.py): no cyclic GC in worker threads during a test;
    collect here, in the GUI thread, when it ends."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.collect()
        if enabled:
            gc.enable()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.path).startswith(here):
            item.add_marker(pytest.mark.qt_log_ignore(*OFFSCREEN_NOISE))


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> Mapping[str, Any]:
    return {"qasync": lambda: qasync.QEventLoop(_qapp())}


@pytest.fixture(scope="session")
def qapp_cls() -> type[QApplication]:
    return QApplication


@pytest.fixture(scope="session")
def qapp(qapp_args: list[str]) -> QApplication:
    return _qapp()


async def until(cond: Callable[[], object], timeout: float = 15.0, what: str = "") -> None:
    """Poll ``cond`` on the running loop (never a nested Qt loop) until it is true."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or cond}")
        await asyncio.sleep(0.02)


def consent_broker(engine: Engine) -> ConsentBroker:
    """The engine's consent broker (the auth service's)."""
    return engine.consent


def make_engine(paths: AppPaths, secrets: Any = None, **seams: Any) -> Engine:
    """A test engine that never reads or writes the real user's MCP client configs."""
    from switchboard.clients.known_clients import HostEnv
    from switchboard.clients.manager import ClientManager

    manager = ClientManager(
        paths, host=HostEnv("linux", paths.data_dir / "fakehome", {}), connect_command=("/sb",)
    )
    return make_test_engine(paths, secrets, client_manager=manager, **seams)


@contextlib.asynccontextmanager
async def running(
    paths: AppPaths, *, with_broker: bool = False, secret_store: Any = None, **seams: Any
) -> AsyncIterator[tuple[Engine, EngineBridge]]:
    """A started engine (temporary home, port 0) and a bridge; both closed on exit.
    (``with_broker``: kept for the callers; every engine has its consent broker.)"""
    engine = make_engine(paths, **seams)
    await engine.start()
    bridge = EngineBridge(engine, log_flush_ms=10, secret_store=secret_store)
    try:
        yield engine, bridge
    finally:
        await bridge.drain()
        bridge.close()
        await engine.aclose()
