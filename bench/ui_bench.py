"""Desktop-app benchmarks (issue 5). Prints numbers and ratios against baselines
measured in the same run; never a timed test.

    .venv/bin/python bench/ui_bench.py                 # all three
    .venv/bin/python bench/ui_bench.py startup --runs 7
    .venv/bin/python bench/ui_bench.py rss
    .venv/bin/python bench/ui_bench.py lag --servers 50 --rate 20 --seconds 10

startup  cold start (fresh process) to the tray icon being shown, on a private Xvfb
         with trayer. Baseline: a bare PySide6 process showing a QSystemTrayIcon.
rss      the app process's RSS after 5 s idle with 5 servers configured (and with the
         5 running: children not counted). Baseline: the bare PySide6 tray process.
lag      asyncio event-loop lag (p50/p99/max of a 10 ms sleep's lateness) in the full
         desktop (window open on one server's live log, tray icon) while N servers
         each write R log lines/s. Baseline: the same desktop, servers stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "app"))
ECHO = ROOT / "tests" / "fixtures" / "echo_server.py"

SPAMMER = """
import sys, time
rate = float(sys.argv[1]); i = 0; t0 = time.monotonic()
while True:
    i += 1
    level = "WARNING" if i % 50 == 0 else "INFO"
    sys.stderr.write(f"{level} tick {i}: handled request in 3 ms (a typical log line)\\n")
    sys.stderr.flush()
    delay = t0 + i / rate - time.monotonic()
    if delay > 0:
        time.sleep(delay)
"""


# -- X display -------------------------------------------------------------------------------
@contextlib.contextmanager
def tray_display() -> Iterator[str]:
    """A private Xvfb display with trayer docked (needs xvfb and trayer)."""
    if not (shutil.which("Xvfb") and shutil.which("trayer")):
        raise SystemExit("needs Xvfb and trayer: apt install xvfb trayer")
    read_fd, write_fd = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    with os.fdopen(read_fd) as f:
        display = ":" + f.readline().strip()
    trayer = subprocess.Popen(
        [
            "trayer",
            "--edge",
            "top",
            "--align",
            "right",
            "--widthtype",
            "pixel",
            "--width",
            "120",
            "--heighttype",
            "pixel",
            "--height",
            "28",
            "--SetDockType",
            "true",
        ],
        env=dict(os.environ, DISPLAY=display),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    try:
        yield display
    finally:
        for proc in (trayer, xvfb):
            proc.terminate()
            proc.wait()


def _env(display: str) -> dict[str, str]:
    env = dict(os.environ, DISPLAY=display, QT_QPA_PLATFORM="xcb")
    env["SWITCHBOARD_NO_LOGIN_SHELL"] = "1"
    env.pop("WAYLAND_DISPLAY", None)
    return env


def _home(servers: int, running: bool = False) -> Path:
    from switchboard.core.paths import AppPaths
    from switchboard.core.spec import ServerSpec, Settings, StartMode
    from switchboard.store.config import Config, ConfigStore

    home = Path(tempfile.mkdtemp(prefix="sb-bench-"))
    paths = AppPaths.default(home)
    paths.ensure()
    specs = tuple(
        ServerSpec(
            name=f"s{i}",
            command=sys.executable,
            args=("-u", str(ECHO)),
            start=StartMode.ALWAYS if running else StartMode.MANUAL,
        )
        for i in range(servers)
    )
    ConfigStore(paths.config_file).save(Config(settings=Settings(port=0), servers=specs))
    return home


# -- child processes ---------------------------------------------------------------------------
def child(kind: str, home: str, idle: float) -> int:
    """Runs in a fresh process: show the tray icon, print READY (and RSS), quit."""
    if kind == "baseline":
        from PySide6.QtGui import QIcon, QPixmap
        from PySide6.QtWidgets import QApplication, QSystemTrayIcon

        app = QApplication(sys.argv[:1])
        pixmap = QPixmap(22, 22)
        pixmap.fill()
        icon = QSystemTrayIcon(QIcon(pixmap))
        icon.show()

        def poll() -> None:
            if icon.isVisible() and not icon.geometry().isEmpty():
                print("READY", flush=True)
                timer.stop()
                QTimerCls.singleShot(int(idle * 1000), report_and_quit)

        def report_and_quit() -> None:
            report()
            app.quit()

        from PySide6.QtCore import QTimer as QTimerCls

        timer = QTimerCls()
        timer.timeout.connect(poll)
        timer.start(5)
        app.exec()
        return 0

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QSystemTrayIcon

    from switchboard.application import Desktop, run_gui
    from switchboard.core.paths import AppPaths

    timers: list[QTimer] = []

    def on_tray(icon: QSystemTrayIcon) -> None:
        timer = QTimer()

        def poll() -> None:
            if icon.isVisible() and not icon.geometry().isEmpty():
                print("READY", flush=True)
                timer.stop()

        timer.timeout.connect(poll)
        timer.start(5)
        timers.append(timer)

    async def settle(desktop: Desktop) -> None:
        print("FULL", flush=True)  # engine started, tray menu and window wired
        await asyncio.sleep(idle)
        report()
        desktop.quit()

    tasks = []
    run_gui(
        AppPaths.default(home),
        on_tray=on_tray,
        on_ready=lambda d: tasks.append(asyncio.ensure_future(settle(d))),
    )
    return 0


def report() -> None:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            print("RSS_KB", line.split()[1], flush=True)


def run_child(kind: str, display: str, home: Path, idle: float) -> tuple[float, int, float]:
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", kind, "--home", str(home), "--idle", str(idle)],
        env=_env(display),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    ready = rss = full = 0.0
    for line in proc.stdout:
        if line.startswith("READY") and not ready:
            ready = time.perf_counter() - t0
        elif line.startswith("FULL"):
            full = time.perf_counter() - t0
        elif line.startswith("RSS_KB"):
            rss = int(line.split()[1])
    proc.wait(60)
    if not ready:
        raise SystemExit(f"{kind} never showed its tray icon (exit {proc.returncode})")
    return ready, int(rss), full


# -- benchmarks -----------------------------------------------------------------------------------
def bench_startup(runs: int) -> None:
    with tray_display() as display:
        run_child("baseline", display, _home(0), 0)  # warm the page cache for both
        run_child("app", display, _home(5), 0)
        base, app, full = [], [], []
        for _ in range(runs):
            base.append(run_child("baseline", display, _home(0), 0)[0])
            shown, _, ready = run_child("app", display, _home(5), 0)
            app.append(shown)
            full.append(ready)
    b, a, f = statistics.median(base), statistics.median(app), statistics.median(full)
    print(f"\ncold start to tray icon shown (median of {runs}, fresh process each):")
    print(f"  bare PySide6 tray icon        : {b * 1e3:7.0f} ms")
    print(f"  Switchboard tray icon shown   : {a * 1e3:7.0f} ms   ratio {a / b:.2f}x")
    print(f"  Switchboard engine+UI ready   : {f * 1e3:7.0f} ms   ratio {f / b:.2f}x")


def bench_rss(idle: float) -> None:
    with tray_display() as display:
        base = run_child("baseline", display, _home(0), idle)[1]
        stopped = run_child("app", display, _home(5), idle)[1]
        running = run_child("app", display, _home(5, running=True), idle)[1]
    print(f"\nidle RSS of the app process after {idle:.0f} s (children not counted):")
    print(f"  bare PySide6 tray icon           : {base / 1024:6.1f} MiB")
    print(
        f"  Switchboard, 5 servers configured: {stopped / 1024:6.1f} MiB"
        f"   ratio {stopped / base:.2f}x"
    )
    print(
        f"  Switchboard, 5 servers running   : {running / 1024:6.1f} MiB"
        f"   ratio {running / base:.2f}x"
    )


async def _lag(servers: int, rate: float, seconds: float, stream: bool) -> tuple[list[float], int]:
    from switchboard.application import build_desktop
    from switchboard.composition import build_engine
    from switchboard.core.paths import AppPaths
    from switchboard.core.spec import ServerSpec
    from switchboard.core.state import ServerState

    home = Path(tempfile.mkdtemp(prefix="sb-lag-"))
    spam = home / "spam.py"
    home.mkdir(exist_ok=True)
    spam.write_text(SPAMMER)
    engine = build_engine(AppPaths.default(home), port=0, path_resolver=lambda: os.environ["PATH"])
    await engine.start()
    for i in range(servers):
        await engine.add_server(
            ServerSpec(name=f"s{i:02d}", command=sys.executable, args=("-u", str(spam), str(rate)))
        )
    quit_ = asyncio.Event()
    desktop = build_desktop(engine, on_quit=quit_.set)
    desktop.show()
    desktop.window.show_and_raise()
    desktop.window.select("s00")
    lines = 0

    def count(batch: list[object]) -> None:
        nonlocal lines
        lines += len(batch)

    desktop.bridge.logLines.connect(count)
    if stream:
        await engine.start_all()
        while not all(s.state is ServerState.RUNNING for s in engine.statuses()):
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)  # let start-up settle
    lines = 0
    lags: list[float] = []
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while loop.time() < end:
        t = loop.time()
        await asyncio.sleep(0.01)
        lags.append(loop.time() - t - 0.01)
    received = lines
    await desktop.aclose()
    shutil.rmtree(home, ignore_errors=True)
    return lags, received


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def bench_lag(servers: int, rate: float, seconds: float) -> None:
    import qasync
    from PySide6.QtWidgets import QApplication

    from switchboard.ui.style import apply_style

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("SWITCHBOARD_NO_LOGIN_SHELL", "1")
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    apply_style(app)
    app.setQuitOnLastWindowClosed(False)
    base, _ = qasync.run(_lag(servers, rate, seconds, stream=False))
    lags, received = qasync.run(_lag(servers, rate, seconds, stream=True))
    print(f"\nevent-loop lag, full desktop open on a live log ({seconds:.0f} s each):")
    for label, values in (
        ("servers stopped (baseline)", base),
        (f"{servers} servers streaming", lags),
    ):
        print(
            f"  {label:27}: p50 {_pct(values, 0.5) * 1e3:6.2f} ms  p99 "
            f"{_pct(values, 0.99) * 1e3:6.2f} ms  max {max(values) * 1e3:6.2f} ms"
        )
    print(
        f"  log lines delivered to the UI: {received} ({received / seconds:.0f}/s, "
        f"offered {servers * rate:.0f}/s)"
    )
    print(f"  p99 ratio streaming/baseline: {_pct(lags, 0.99) / max(_pct(base, 0.99), 1e-6):.2f}x")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("what", nargs="?", default="all", choices=["all", "startup", "rss", "lag"])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--idle", type=float, default=5.0)
    p.add_argument("--servers", type=int, default=50)
    p.add_argument("--rate", type=float, default=20.0, help="log lines/s per server")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--child", choices=["app", "baseline"], help=argparse.SUPPRESS)
    p.add_argument("--home", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        return child(args.child, args.home, args.idle)
    if args.what in ("all", "startup"):
        bench_startup(args.runs)
    if args.what in ("all", "rss"):
        bench_rss(args.idle)
    if args.what in ("all", "lag"):
        bench_lag(args.servers, args.rate, args.seconds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
