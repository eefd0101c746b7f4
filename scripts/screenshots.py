#!/usr/bin/env python3
"""Render screenshots of the desktop app into ./screenshots/ (git-ignored).

    .venv/bin/python scripts/screenshots.py            # starts Xvfb + trayer itself
    .venv/bin/python scripts/screenshots.py --dark     # dark theme as well

Uses a throw-away home with a few demo servers (the test fixtures: a healthy one, one
that keeps crashing, one stopped), a real engine, and a fake consent request. Writes
main-window, main-window-settings, main-window-tools, add-server, tray-menu (whole screen, menu open
under the tray icon), consent, consent-app, consent-choose (the server checklist) and
clients PNGs, plus *-dark variants with --dark.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
sys.path.insert(0, str(ROOT / "app"))


def _reexec_under_xvfb() -> int:
    """Run this script again inside Xvfb with a tray host."""
    inner = (
        "trayer --edge top --align right --widthtype pixel --width 120 --heighttype pixel "
        "--height 28 --transparent false --tint 0xdddddd --SetDockType true & TP=$!; "
        'sleep 1; "$0" "$@"; rc=$?; kill $TP; exit $rc'
    )
    cmd = [
        "xvfb-run",
        "-a",
        "-s",
        "-screen 0 1280x800x24 -nolisten tcp",
        "sh",
        "-c",
        inner,
        sys.executable,
        __file__,
        *sys.argv[1:],
    ]
    env = dict(os.environ, SCREENSHOTS_INNER="1", QT_QPA_PLATFORM="xcb")
    return subprocess.call(cmd, env=env)


async def _demo_grants(engine: object) -> None:
    """Two grants of one app (two VS Code windows), one remembered, for the clients page."""
    from switchboard.auth.store import GrantRecord

    auth = getattr(engine, "auth", None)
    if auth is None:
        return
    base = engine.base_url  # type: ignore[attr-defined]
    now = time.time()

    def add() -> None:
        for i, (port, path) in enumerate(((33418, "mcp"), (40999, "sse"))):
            cid = f"vscode-{i + 1}a7c"
            auth.store.save_client(cid, {"client_id": cid, "client_name": "VS Code"})
            auth.store.add_grant(
                GrantRecord(
                    id=f"g{i}",
                    client_id=cid,
                    server="github",
                    resource=f"{base}/servers/github/{path}",
                    scope="mcp",
                    subject="local-user",
                    created_at=now - 86400 * (9 - i * 7),
                    redirect_uri=f"http://127.0.0.1:{port}/",
                    last_used_at=now - 3600 * (1 + i * 20),
                )
            )
        auth.store.remember_consent("vscode-1a7c", "github", "mcp")

    await asyncio.to_thread(add)


async def _wait(cond: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.05)


async def shoot(out: Path, dark: bool) -> None:
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    from switchboard.application import build_desktop
    from switchboard.composition import build_engine
    from switchboard.core.paths import AppPaths
    from switchboard.core.spec import AuthMode, ServerSpec
    from switchboard.core.state import ServerState

    home = Path(tempfile.mkdtemp(prefix="sb-shots-"))
    paths = AppPaths.default(home)
    from switchboard.clients.known_clients import HostEnv
    from switchboard.clients.manager import ClientManager

    # A made-up home: show clients without touching the real configs.
    fake = home / "fakehome"
    (fake / ".cursor").mkdir(parents=True)
    (fake / ".config" / "Code" / "User").mkdir(parents=True)
    engine = build_engine(
        paths,
        port=0,
        path_resolver=lambda: os.environ["PATH"],
        stop_grace=2.0,
        client_manager=ClientManager(paths, host=HostEnv("linux", fake, {})),
    )
    await engine.start()
    py = sys.executable
    echo = str(FIXTURES / "echo_server.py")
    demo = [
        ServerSpec(name="time", command=py, args=("-u", echo), description="Clock and zones"),
        ServerSpec(name="filesystem", command=py, args=("-u", echo)),
        ServerSpec(
            name="github",
            command="npx",
            args=("-y", "@modelcontextprotocol/server-github"),
            secrets={"GITHUB_PERSONAL_ACCESS_TOKEN": "github.token"},
        ),
        ServerSpec(name="broken", command=py, args=("-u", str(FIXTURES / "crash_loop.py"))),
        ServerSpec(name="notes", command=py, args=("-u", echo), auth=AuthMode.OFF),
    ]
    for spec in demo:
        await engine.add_server(spec)
    for name in ("time", "filesystem", "notes", "broken"):
        with contextlib.suppress(Exception):
            await engine.start_server(name)
    await engine.stop_server("notes")
    await _wait(lambda: engine.status("broken").state is ServerState.FAILED, 30)

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    if dark:  # as if chosen in Settings; the desktop applies it when built
        await engine.update_settings(dataclasses.replace(engine.config.settings, theme="dark"))
    suffix = "-dark" if dark else ""
    quit_ = asyncio.Event()
    desktop = build_desktop(engine, paths=paths, on_quit=quit_.set)
    win = desktop.window
    win.resize(1040, 700)
    win.move(40, 60)
    desktop.show()
    win.show_and_raise()
    win.select("time")
    await asyncio.sleep(0.6)

    def grab(widget: object, name: str) -> None:
        pix = widget.grab()  # type: ignore[attr-defined]
        pix.save(str(out / f"{name}{suffix}.png"))
        print("wrote", out / f"{name}{suffix}.png")

    grab(win, "main-window")
    win.select("broken")
    await asyncio.sleep(0.3)
    grab(win, "main-window-failed")
    win.select("github")
    win.detail.tabs.setCurrentIndex(1)
    await asyncio.sleep(0.3)
    grab(win, "main-window-settings")
    win.select("time")
    panel = win.detail.inspector
    win.detail.tabs.setCurrentWidget(panel)
    await _wait(lambda: panel.select("tool", "echo"))
    text = panel.form.editors[("text",)]
    text.setText("Hello from the Tools tab")  # type: ignore[attr-defined]
    text.textEdited.emit(text.text())  # type: ignore[attr-defined]
    panel.submit()
    await _wait(lambda: panel.result.outcome is not None)
    await asyncio.sleep(0.3)
    grab(win, "main-window-tools")
    win.detail.tabs.setCurrentIndex(0)

    dialog = win.open_add_dialog()
    catalog = getattr(dialog, "catalog", None)
    if catalog is not None:
        await _wait(lambda: catalog.list.count() > 0)
        await asyncio.sleep(0.3)
        grab(dialog, "add-server-catalog")
    dialog.sources.setCurrentIndex(dialog.custom_index)
    dialog.form.name.setText("everything")
    dialog.form.command.setText("npx")
    dialog.form.args.setText("-y @modelcontextprotocol/server-everything stdio")
    await asyncio.sleep(0.3)
    grab(dialog, "add-server")
    dialog.form.name.setText("Everything!")
    await asyncio.sleep(0.2)
    grab(dialog, "add-server-invalid")
    dialog.reject()

    win.pages.setCurrentIndex(2)
    await asyncio.sleep(0.2)
    grab(win, "settings")
    win.pages.setCurrentIndex(0)

    broker = engine.consent  # type: ignore[attr-defined]
    broker.open(
        client_id="c-4f1a",
        client_name="Cursor",
        redirect_uri="http://127.0.0.1:53817/callback",
        redirect_host="127.0.0.1",
        server="github",
        resource=f"{engine.base_url}/servers/github/mcp",
        scopes=("mcp",),
    )
    await _wait(lambda: bool(desktop.consent.dialogs))
    consent = next(iter(desktop.consent.dialogs.values()))
    await asyncio.sleep(0.4)
    grab(consent, "consent")
    # A client approved before, returning to an app through a private-use scheme.
    again = broker.open(
        client_id="c-9b2e",
        client_name="Cursor",
        redirect_uri="cursor://anysphere.cursor-retrieval/oauth/callback",
        redirect_host="anysphere.cursor-retrieval",
        server="github",
        resource=f"{engine.base_url}/servers/github/mcp",
        scopes=("mcp",),
        previously_approved=True,
    )
    await _wait(lambda: again.id in desktop.consent.dialogs)
    await asyncio.sleep(0.4)
    grab(desktop.consent.dialogs[again.id], "consent-app")
    desktop.consent.dialogs[again.id].reject()
    # A client that named no server (older Goose, Codex without oauth_resource): the
    # person picks the servers; one ticked here, so Approve is enabled.
    pick = broker.open(
        client_id="c-7d31",
        client_name="goose",
        redirect_uri="http://127.0.0.1:51234/oauth_callback",
        redirect_host="127.0.0.1",
        server="",
        resource="",
        scopes=("mcp",),
        choices=("time", "filesystem", "github"),
    )
    await _wait(lambda: pick.id in desktop.consent.dialogs)
    chooser = desktop.consent.dialogs[pick.id]
    chooser.server_boxes["github"].setChecked(True)
    await asyncio.sleep(0.4)
    grab(chooser, "consent-choose")
    chooser.reject()

    from switchboard.core.group import GroupSpec

    group = GroupSpec(name="work", servers=("time", "filesystem", "notes"))
    await engine.add_group(group.with_tool("filesystem", "sleep", enabled=False))
    win.pages.setCurrentWidget(win.groups)
    await asyncio.sleep(1.0)
    grab(win, "groups")

    await desktop.bridge.set_client_connected("cursor", "Cursor", True)
    await _demo_grants(engine)
    win.pages.setCurrentWidget(win.clients)
    win.clients.refresh()
    await asyncio.sleep(0.6)
    grab(win, "clients")
    consent.reject()
    win.pages.setCurrentIndex(0)

    if desktop.tray is not None and desktop.tray.icon.isVisible():
        win.hide()
        await asyncio.sleep(0.5)
        geo = desktop.tray.icon.geometry()
        menu = desktop.tray.menu
        menu.popup(QPoint(geo.left(), geo.bottom() + 2))
        await asyncio.sleep(0.6)
        screen = QGuiApplication.primaryScreen()
        full = screen.grabWindow(0)
        region = full.copy(max(0, geo.right() - 520), 0, 520, menu.height() + geo.height() + 20)
        region.save(str(out / f"tray-menu{suffix}.png"))
        print("wrote", out / f"tray-menu{suffix}.png")
        menu.hide()
    else:
        print("no system tray: tray-menu screenshot skipped (run without DISPLAY to get one)")

    await desktop.aclose()
    shutil.rmtree(home, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dark", action="store_true", help="also render the dark theme")
    parser.add_argument("--out", default=str(ROOT / "screenshots"))
    args = parser.parse_args()
    if not os.environ.get("SCREENSHOTS_INNER") and shutil.which("xvfb-run"):
        return _reexec_under_xvfb()
    os.environ.setdefault("SWITCHBOARD_NO_LOGIN_SHELL", "1")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    import qasync
    from PySide6.QtWidgets import QApplication

    from switchboard.ui.icons import app_icon
    from switchboard.ui.style import apply_style

    app = QApplication(sys.argv[:1])
    app.setApplicationName("Switchboard")
    app.setQuitOnLastWindowClosed(False)
    apply_style(app)
    app.setWindowIcon(app_icon())
    qasync.run(shoot(out, dark=False))
    if args.dark:
        qasync.run(shoot(out, dark=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
