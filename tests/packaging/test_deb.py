"""Packaging: the staging of briefcase.toml for Briefcase, our Linux system template,
its launcher, and the real thing — build the .deb with the documented command,
unpack it into a temporary root and run the packaged app headless."""

from __future__ import annotations

import dataclasses
import datetime
import importlib.util
import json
import os
import queue
import re
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time
import tomllib
import zlib
from pathlib import Path
from types import ModuleType
from xml.etree import ElementTree

import httpx
import pytest

import switchboard
from switchboard.core.paths import AppPaths
from switchboard.store.config import ConfigStore

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "packaging" / "template"
BUILD_DEB = ROOT / "packaging" / "build-deb"
APP_ID = "dev.switchboard.switchboard"


def _load_stage() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "switchboard_packaging_stage", ROOT / "packaging" / "stage.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


stage = _load_stage()
PY_TAG = f"{sys.version_info[0]}.{sys.version_info[1]}"


# -- staging (fast, always) ------------------------------------------------------------------
@pytest.fixture
def staged(tmp_path: Path) -> tuple[Path, dict]:  # type: ignore[type-arg]
    dest = tmp_path / "stage"
    pyproject = stage.stage(ROOT, dest, py_tag="3.11")
    return dest, pyproject


def test_staged_pyproject_carries_briefcase_toml(staged: tuple[Path, dict]) -> None:  # type: ignore[type-arg]
    dest, _ = staged
    written = tomllib.loads((dest / "pyproject.toml").read_text())
    with (ROOT / "briefcase.toml").open("rb") as f:
        expected = tomllib.load(f)
    briefcase = written["tool"]["briefcase"]
    system = briefcase["app"]["switchboard"]["linux"]["system"]
    # The build-time additions ...
    assert system["template"] == str((dest / "packaging" / "template").resolve())
    assert system["debian"]["system_runtime_requires"][0] == "python3.11-minimal"
    # (AppStream wants the release date: the changelog's, for this version.)
    assert briefcase["app"]["switchboard"].pop("release_date") == stage.release_date(
        (ROOT / "packaging" / "CHANGELOG.md").read_text(), switchboard.__version__
    )
    # ... and otherwise exactly briefcase.toml.
    exp_system = expected["app"]["switchboard"]["linux"]["system"]
    exp_system["template"] = system["template"]
    exp_system["debian"]["system_runtime_requires"].insert(0, "python3.11-minimal")
    assert briefcase == expected


def test_staged_project_takes_version_and_dependencies_from_one_place(
    staged: tuple[Path, dict],  # type: ignore[type-arg]
) -> None:
    dest, _ = staged
    written = tomllib.loads((dest / "pyproject.toml").read_text())
    with (ROOT / "pyproject.toml").open("rb") as f:
        real = tomllib.load(f)
    assert written["project"]["version"] == switchboard.__version__
    assert "dynamic" not in written["project"]
    assert written["project"]["dependencies"] == real["project"]["dependencies"]
    assert written["project"]["name"] == real["project"]["name"]
    # Nothing Briefcase would need to build a wheel for.
    assert "version" not in written["tool"]["briefcase"]


def test_stage_lays_out_what_briefcase_reads(staged: tuple[Path, dict]) -> None:  # type: ignore[type-arg]
    dest, pyproject = staged
    briefcase = pyproject["tool"]["briefcase"]
    for src in briefcase["app"]["switchboard"]["sources"]:
        assert (dest / src / "__init__.py").is_file()
    assert not list((dest / "app").rglob("__pycache__"))
    for lic in briefcase["license-files"]:
        assert (dest / lic).is_file()
    assert (dest / "CHANGELOG.md").is_file()
    icon = dest / briefcase["app"]["switchboard"]["icon"]
    for size in stage.ICON_SIZES:
        png = icon.with_name(f"{icon.name}-{size}.png")
        assert _png_size(png.read_bytes()) == (size, size)
    assert (dest / briefcase["app"]["switchboard"]["linux"]["system"]["template"]).is_dir()
    # The app finds its resources inside the installed package.
    if (ROOT / "resources" / "icons").is_dir():
        assert (dest / "app" / "switchboard" / "resources" / "icons").is_dir()


def test_restaging_replaces_sources_and_keeps_the_build_cache(tmp_path: Path) -> None:
    dest = tmp_path / "stage"
    stage.stage(ROOT, dest, py_tag="3.11")
    (dest / "build" / "kept").mkdir(parents=True)
    stray = dest / "app" / "switchboard" / "deleted_module.py"
    stray.write_text("")
    stage.stage(ROOT, dest, py_tag="3.11")
    assert (dest / "build" / "kept").is_dir()
    assert not stray.exists()


def test_fingerprint_follows_config_not_app_code(tmp_path: Path) -> None:
    dest = tmp_path / "stage"
    stage.stage(ROOT, dest, py_tag="3.11")
    first = stage.fingerprint(dest)
    (dest / "app" / "switchboard" / "cli.py").write_text("# edited\n")
    assert stage.fingerprint(dest) == first  # code-only change: cached bundle is reused
    pyproject = dest / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('version = "', 'version = "9'))
    assert stage.fingerprint(dest) != first  # new version or requirements: rebuild
    stage.stage(ROOT, dest, py_tag="3.11")
    assert stage.fingerprint(dest) == first
    boot = next((dest / "packaging" / "template").rglob("boot.py"))
    boot.write_text(boot.read_text() + "\n")
    assert stage.fingerprint(dest) != first  # template change: rebuild


def test_release_date_comes_from_the_changelog() -> None:
    log = "# Changelog\n\n## 0.2.0 (2027-03-04)\n\n- x\n\n## 0.1.0 - 2026-11-27\n- y\n"
    assert stage.release_date(log, "0.2.0") == "2027-03-04"
    assert stage.release_date(log, "0.1.0") == "2026-11-27"
    # Not released yet (no dated heading): today.
    today = datetime.date(2030, 1, 2)
    assert stage.release_date(log, "0.3.0", today=today) == "2030-01-02"
    assert stage.release_date("## 0.1.0.1 (2026-01-01)", "0.1.0", today=today) == "2030-01-02"


def test_read_version_matches_the_package() -> None:
    assert stage.read_version(ROOT) == switchboard.__version__


def test_read_version_refuses_a_computed_version(tmp_path: Path) -> None:
    init = tmp_path / "app" / "switchboard" / "__init__.py"
    init.parent.mkdir(parents=True)
    init.write_text("__version__ = get_version()\n")
    with pytest.raises(stage.StageError, match="__version__"):
        stage.read_version(tmp_path)


@pytest.mark.parametrize("size", [1, 16, 33])
def test_placeholder_icons_are_valid_pngs(size: int) -> None:
    data = stage.placeholder_png(size)
    assert _png_size(data) == (size, size)
    pixels = _png_pixels(data)
    assert len(pixels) == size * (1 + 4 * size)


def test_missing_icons_get_placeholders(tmp_path: Path) -> None:
    root = tmp_path / "root"
    source = root / "resources" / "icons" / "hicolor" / "16x16" / "apps" / "switchboard.png"
    source.parent.mkdir(parents=True)
    source.write_bytes(stage.placeholder_png(16, rgb=(1, 2, 3)))
    dest = tmp_path / "stage"
    made = stage.stage_icons(root, dest)
    assert made == [n for n in stage.ICON_SIZES if n != 16]
    assert (dest / f"{stage.ICON_STEM}-16.png").read_bytes() == source.read_bytes()
    assert _png_size((dest / f"{stage.ICON_STEM}-512.png").read_bytes()) == (512, 512)
    assert not (dest / f"{stage.ICON_STEM}-scalable.svg").exists()


def test_macos_and_windows_icons_hold_the_pngs(tmp_path: Path) -> None:
    dest = tmp_path / "stage"
    stage.stage_icons(ROOT, dest)
    stem = dest / stage.ICON_STEM
    pngs = {n: stem.with_name(f"{stem.name}-{n}.png").read_bytes() for n in stage.ICON_SIZES}

    data = stem.with_name(f"{stem.name}.icns").read_bytes()
    assert data[:4] == b"icns"
    assert struct.unpack(">I", data[4:8])[0] == len(data)
    found, pos = {}, 8
    while pos < len(data):
        kind, length = data[pos : pos + 4], struct.unpack(">I", data[pos + 4 : pos + 8])[0]
        found[kind] = data[pos + 8 : pos + length]
        pos += length
    assert {kind: pngs[n] for n, kind in stage.ICNS_TYPES.items()} == found

    data = stem.with_name(f"{stem.name}.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", data[:6])
    assert (reserved, kind) == (0, 1)
    sizes = []
    for i in range(count):
        w, h, _, _, planes, bits, size, offset = struct.unpack(
            "<BBBBHHII", data[6 + 16 * i : 22 + 16 * i]
        )
        side = w or 256
        assert (h or 256) == side and planes == 1 and bits == 32
        assert data[offset : offset + size] == pngs[side]
        sizes.append(side)
    assert sizes == [n for n in stage.ICON_SIZES if n <= 256]


# -- the template --------------------------------------------------------------------------
def test_template_uses_only_declared_variables() -> None:
    """cookiecutter passes Briefcase's context only for keys in cookiecutter.json; an
    undeclared variable would fail the build late, so catch it here."""
    declared = set(json.loads((TEMPLATE / "cookiecutter.json").read_text()))
    used: set[str] = set()
    for path in TEMPLATE.rglob("*"):
        text = str(path.relative_to(TEMPLATE))
        if path.is_file():
            text += path.read_text("utf-8")
        for expr in re.findall(r"\{[{%].*?[}%]\}", text):
            used |= set(re.findall(r"cookiecutter\.(\w+)", expr))
    assert used - declared == set()


def test_template_index_points_into_the_package_root() -> None:
    toml = next(TEMPLATE.glob("*/briefcase.toml")).read_text()
    paths = tomllib.loads(toml.replace("{{ cookiecutter.", "{").replace(" }}", "}"))["paths"]
    root = "{app_name}-{version}/usr/"
    assert paths["app_path"] == root + "lib/{app_name}/app"
    assert paths["app_packages_path"] == root + "lib/{app_name}/app_packages"
    for size, target in paths["icon"].items():
        assert target.startswith(root + "share/icons/hicolor/")
        assert size in target


def test_launcher_execs_the_system_python_relative_to_itself(tmp_path: Path) -> None:
    """Compile the template's launcher against a fake interpreter that prints its argv:
    isolated flags, the boot script found next to the (relocated) binary, args as given."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler (scripts/test installs build-essential)")
    fake = tmp_path / "fakepython"
    fake.write_text('#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\n')
    fake.chmod(0o755)
    main_c = next(TEMPLATE.glob("*/bootstrap/main.c"))
    prefix = tmp_path / "some root" / "usr"
    (prefix / "bin").mkdir(parents=True)
    exe = prefix / "bin" / "demo"
    subprocess.run(
        [
            cc,
            "-O2",
            "-Wall",
            "-Wextra",
            "-Werror",
            '-DAPP_NAME="demo"',
            f'-DAPP_PYTHON="{fake}"',
            "-o",
            str(exe),
            str(main_c),
        ],
        check=True,
    )
    out = subprocess.run(
        [exe, "serve", "--port", "0", "a b"], capture_output=True, text=True, check=True
    )
    assert out.stdout.splitlines() == [
        "-I",
        "-S",
        str(prefix / "lib" / "demo" / "boot.py"),
        "serve",
        "--port",
        "0",
        "a b",
    ]
    # A missing interpreter is reported, not a crash.
    fake.unlink()
    res = subprocess.run([exe], capture_output=True, text=True)
    assert res.returncode == 127
    assert "cannot start" in res.stderr and "hint:" in res.stderr


# -- the real build (slow) -----------------------------------------------------------------
def _deb_tools_available() -> bool:
    return all(Path(p).exists() for p in ("/usr/bin/python3", "/usr/bin/dpkg-deb"))


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the .deb with the README's command and unpack it next to it (``../root``).
    Returns the .deb. (The timeout of the first test using it covers the build,
    which pip-installs the requirements on a fresh machine.)"""
    tmp = tmp_path_factory.mktemp("deb")
    dist = tmp / "dist"
    log_path = tmp / "build.log"
    with log_path.open("w") as log:
        # --fast: gzip instead of xz (seconds instead of minutes on 2 cores).
        result = subprocess.run(
            [str(BUILD_DEB), "--dist", str(dist), "--fast"],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=ROOT,
        )
    assert result.returncode == 0, log_path.read_text()[-6000:]
    debs = list(dist.glob("*.deb"))
    assert len(debs) == 1, debs
    subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(tmp / "root")], check=True)
    return debs[0]


def _root(deb: Path) -> Path:
    return deb.parent.parent / "root"


HANG_GUARD = 120.0
"""Seconds before a packaged app that never comes up is killed: a guard against a
hung test, not a performance threshold (it starts in well under a second)."""


def _env(tmp_path: Path) -> dict[str, str]:
    """The packaged app's environment: no Python variables, a private HOME, and no
    D-Bus session or display. Without D-Bus the keyring is simply unavailable; with
    one whose Secret Service is locked, the engine would wait for an unlock prompt
    (not what these tests are about)."""
    dropped = ("PYTHON", "VIRTUAL_ENV", "DBUS_", "DISPLAY", "WAYLAND_", "XAUTHORITY")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    env["HOME"] = str(tmp_path / "user")
    env["PATH"] = "/usr/bin:/bin"
    return env


def _wait_for_line(proc: subprocess.Popen[str], pattern: str, lines: list[str]) -> re.Match[str]:
    """Read ``proc``'s stdout until a line matches ``pattern`` (kept in ``lines``)."""
    found: queue.Queue[re.Match[str] | None] = queue.Queue()

    def reader() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if m := re.search(pattern, line):
                found.put(m)
                return
        found.put(None)

    threading.Thread(target=reader, daemon=True).start()
    try:
        match = found.get(timeout=HANG_GUARD)
    except queue.Empty:
        match = None
    if match is None:
        proc.kill()
        proc.wait()
        pytest.fail(f"no line matching {pattern!r}; output:\n{''.join(lines)}")
    return match


@pytest.mark.slow
@pytest.mark.timeout(1500)
@pytest.mark.skipif(not _deb_tools_available(), reason="needs dpkg-deb and /usr/bin/python3")
def test_deb_metadata_and_desktop_integration(unpacked: Path) -> None:
    deb = unpacked
    assert deb.name.startswith(f"switchboard_{switchboard.__version__}-1~")
    fields = subprocess.run(
        ["dpkg-deb", "-f", str(deb), "Package", "Version", "Depends"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Package: switchboard" in fields
    assert f"Version: {switchboard.__version__}" in fields
    assert "python3." in fields and "-minimal" in fields

    usr = _root(deb) / "usr"
    assert (usr / "bin" / "switchboard").read_bytes()[:4] == b"\x7fELF"
    desktop = usr / "share" / "applications" / f"{APP_ID}.desktop"
    text = desktop.read_text()
    assert "Exec=switchboard\n" in text and f"Icon={APP_ID}\n" in text
    validate = shutil.which("desktop-file-validate")
    if validate:  # scripts/bootstrap.sh installs it
        check = subprocess.run([validate, str(desktop)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
    for size in stage.ICON_SIZES:
        png = usr / "share" / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        assert _png_size(png.read_bytes()) == (size, size)
    assert (usr / "share" / "man" / "man1" / "switchboard.1.gz").is_file()
    meta = ElementTree.parse(usr / "share" / "metainfo" / f"{APP_ID}.metainfo.xml").getroot()
    assert meta.findtext("id") == APP_ID
    assert meta.findtext("launchable") == f"{APP_ID}.desktop"
    assert meta.findtext("project_license") == "Apache-2.0"
    release = meta.find("releases/release")
    assert release is not None and release.get("version") == switchboard.__version__
    appstream = shutil.which("appstreamcli")
    if appstream:  # scripts/bootstrap.sh installs it
        check = subprocess.run(
            [
                appstream,
                "validate",
                "--no-net",
                str(usr / "share" / "metainfo" / f"{APP_ID}.metainfo.xml"),
            ],
            capture_output=True,
            text=True,
        )
        assert check.returncode == 0, check.stdout + check.stderr
    assert (usr / "share" / "doc" / "switchboard" / "copyright").is_file()
    # No stray byte code or test suites shipped.
    assert not list((usr / "lib" / "switchboard").rglob("__pycache__"))


@pytest.mark.slow
@pytest.mark.timeout(1500)
@pytest.mark.skipif(not _deb_tools_available(), reason="needs dpkg-deb and /usr/bin/python3")
def test_trimmed_qt_still_links(unpacked: Path) -> None:
    """briefcase.toml drops unused parts of PySide6: whatever stays must find every
    bundled library it links to (a missing one would only fail when loaded)."""
    packages = _root(unpacked) / "usr" / "lib" / "switchboard" / "app_packages"
    assert (packages / "PySide6" / "QtWidgets.abi3.so").is_file()
    assert not (packages / "PySide6" / "Qt" / "qml").exists()
    bundled = re.compile(r"^\s*(lib(?:Qt6|icu|pyside6|shiboken6)\S*) => not found", re.M)
    broken = {}
    for lib in packages.rglob("*.so*"):
        if lib.is_file() and not lib.is_symlink():
            out = subprocess.run(["ldd", str(lib)], capture_output=True, text=True).stdout
            if missing := bundled.findall(out):
                broken[str(lib.relative_to(packages))] = missing
    assert broken == {}


@pytest.mark.slow
@pytest.mark.timeout(1500)
@pytest.mark.skipif(not _deb_tools_available(), reason="needs dpkg-deb and /usr/bin/python3")
def test_packaged_app_runs_headless(unpacked: Path, tmp_path: Path) -> None:
    usr = _root(unpacked) / "usr"
    binary = usr / "bin" / "switchboard"
    env = _env(tmp_path)
    version = subprocess.run(
        [binary, "--version"], capture_output=True, text=True, env=env, timeout=60
    )
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"switchboard {switchboard.__version__}"

    # Start-at-login from the package runs the package's launcher (even unpacked).
    probe = (
        "import site, sys; sys.path.insert(0, sys.argv[1]); site.addsitedir(sys.argv[2]); "
        "from switchboard.autostart import Autostart, Platform; "
        "print(Autostart(platform=Platform.LINUX, environ={}).command)"
    )
    app_dir = usr / "lib" / "switchboard" / "app"
    out = subprocess.run(
        ["/usr/bin/python3", "-I", "-S", "-c", probe, str(app_dir), str(app_dir) + "_packages"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == repr((str(binary),))

    # A short headless engine start from the unpacked package.
    home = tmp_path / "home"
    proc = subprocess.Popen(
        [binary, "--home", str(home), "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    lines: list[str] = []
    try:
        url = _wait_for_line(proc, r"ready at (http://127\.0\.0\.1:\d+)", lines).group(1)
        # It runs the packaged code with the system Python, isolated.
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0")
        assert cmdline[0].startswith(b"/usr/bin/python3")
        assert b"-I" in cmdline
        assert str(usr / "lib" / "switchboard" / "boot.py").encode() in cmdline
        health = httpx.get(f"{url}/healthz", timeout=30)
        assert health.status_code == 200
        assert health.json()["status"] == "ok"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=HANG_GUARD) == 0, "".join(lines)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    assert (home / "config").is_dir()


@pytest.mark.slow
@pytest.mark.timeout(1500)
@pytest.mark.skipif(not _deb_tools_available(), reason="needs dpkg-deb and /usr/bin/python3")
def test_packaged_desktop_app_starts(unpacked: Path, tmp_path: Path) -> None:
    """The default command (the desktop app) from the package: Qt loads from the
    bundled PySide6, the engine comes up, SIGTERM ends it cleanly."""
    binary = _root(unpacked) / "usr" / "bin" / "switchboard"
    paths = AppPaths.default(tmp_path / "home")
    paths.ensure()
    # Port 0 (tests run in parallel); the desktop app takes the port from settings.
    ConfigStore(paths.config_file).update(
        lambda c: dataclasses.replace(c, settings=dataclasses.replace(c.settings, port=0))
    )
    env = _env(tmp_path)
    env["QT_QPA_PLATFORM"] = "offscreen"
    log_path = tmp_path / "gui.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [binary, "--home", str(tmp_path / "home")],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
        )
        try:
            endpoint = None
            deadline = time.monotonic() + HANG_GUARD
            while proc.poll() is None and time.monotonic() < deadline:
                try:
                    endpoint = json.loads(paths.endpoint_file.read_text())
                    if endpoint.get("pid") == proc.pid:
                        break
                except (OSError, ValueError):
                    pass
                time.sleep(0.1)
            assert proc.poll() is None, log_path.read_text()
            assert endpoint is not None and endpoint.get("pid") == proc.pid, log_path.read_text()
            health = httpx.get(f"{endpoint['url']}/healthz", timeout=30)
            assert health.status_code == 200
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=HANG_GUARD) == 0, log_path.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert "Traceback" not in log_path.read_text()


# -- helpers -------------------------------------------------------------------------------
def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _png_pixels(data: bytes) -> bytes:
    pos, idat = 8, b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body)
        if kind == b"IDAT":
            idat += body
        pos += 12 + length
    return zlib.decompress(idat)
