"""Stage Switchboard for Briefcase, and build the Linux system package (.deb).

Briefcase reads its configuration only from ``pyproject.toml`` ``[tool.briefcase]``.
Ours lives in the top-level ``briefcase.toml``; this script copies what the package
needs into a staging directory and writes there a ``pyproject.toml`` made of

- ``[project]`` from our ``pyproject.toml``, with the version taken from
  ``switchboard.__version__`` (static: Briefcase would otherwise build a wheel in an
  isolated environment just to learn it);
- ``[tool.briefcase]`` = ``briefcase.toml``, plus what is only known at build time:
  the template's absolute path, ``python3.X-minimal`` (the interpreter the launcher
  execs) in the Debian runtime dependencies, and the release date of this version
  (from ``packaging/CHANGELOG.md``) for the AppStream metadata.

The staging directory is kept between runs (``build/`` in it is Briefcase's bundle);
when nothing but app code changed, the next build only updates the code
(``briefcase package --update``) instead of re-installing every requirement.

Usage (normally through ``packaging/build-deb``, which runs this with a Briefcase
venv made from the system Python)::

    python packaging/stage.py --stage DIR --dist DIR [--fast] [--stage-only]

Runs on the system Python (3.11+) with only the standard library and ``tomli_w``
(a Briefcase dependency, and one of Switchboard's).
"""

from __future__ import annotations

import argparse
import ast
import datetime
import hashlib
import os
import re
import shutil
import struct
import subprocess
import sys
import time
import tomllib
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import tomli_w

ROOT = Path(__file__).resolve().parents[1]
APP = "switchboard"
ICON_SIZES = (16, 32, 48, 64, 128, 256, 512)
ICON_STEM = "packaging/icons/switchboard"
"""Must match ``icon`` in briefcase.toml: Briefcase looks for ``<stem>-<N>.png``."""
FINGERPRINT_FILE = ".stage-fingerprint"
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".mypy_cache")


class StageError(Exception):
    """Staging or building failed; the message says what to do."""


# -- configuration -----------------------------------------------------------------------
def read_version(root: Path = ROOT) -> str:
    """``__version__`` from ``app/switchboard/__init__.py``, without importing it."""
    source = (root / "app" / APP / "__init__.py").read_text("utf-8")
    for node in ast.parse(source).body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "__version__" for t in node.targets)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            return node.value.value
    raise StageError(f"No __version__ = '...' in {root / 'app' / APP / '__init__.py'}.")


def python_tag(version_info: Sequence[int] = sys.version_info) -> str:
    """``3.11`` for the interpreter running this (the system Python, via build-deb)."""
    return f"{version_info[0]}.{version_info[1]}"


def load_briefcase_config(root: Path = ROOT) -> dict[str, Any]:
    with (root / "briefcase.toml").open("rb") as f:
        return tomllib.load(f)


def staged_pyproject(root: Path, stage_dir: Path, *, py_tag: str) -> dict[str, Any]:
    """The ``pyproject.toml`` Briefcase will read in ``stage_dir``."""
    with (root / "pyproject.toml").open("rb") as f:
        pyproject = tomllib.load(f)
    project = dict(pyproject["project"])
    dynamic = [d for d in project.pop("dynamic", []) if d != "version"]
    if dynamic:
        raise StageError(
            f"pyproject.toml [project] has dynamic fields {dynamic} that staging does not resolve.",
        )
    project["version"] = read_version(root)
    # Briefcase takes license and license-files from briefcase.toml (PEP 639 form).
    project.pop("license", None)
    project.pop("readme", None)
    project.pop("scripts", None)
    project.pop("optional-dependencies", None)

    briefcase = load_briefcase_config(root)
    app = briefcase["app"][APP]
    system = app.setdefault("linux", {}).setdefault("system", {})
    template = system.get("template")
    if template and not _is_url(template):
        system["template"] = str((stage_dir / template).resolve())
    debian = system.setdefault("debian", {})
    runtime = list(debian.get("system_runtime_requires", []))
    interpreter = f"python{py_tag}-minimal"
    if interpreter not in runtime:
        runtime.insert(0, interpreter)
    debian["system_runtime_requires"] = runtime
    changelog = (root / "packaging" / "CHANGELOG.md").read_text("utf-8")
    app.setdefault("release_date", release_date(changelog, project["version"]))

    return {
        "build-system": pyproject.get("build-system", {}),
        "project": project,
        "tool": {"briefcase": briefcase},
    }


def release_date(changelog: str, version: str, today: datetime.date | None = None) -> str:
    """The date of ``version``'s heading in the changelog (``## 0.1.0 (2026-11-27)``),
    else today's: AppStream metadata wants a date for each release."""
    pattern = rf"^#+\s*v?{re.escape(version)}(?![\w.])[^\n]*?(\d{{4}}-\d{{2}}-\d{{2}})"
    if m := re.search(pattern, changelog, re.MULTILINE):
        return m.group(1)
    return (today or datetime.datetime.now(datetime.UTC).date()).isoformat()


def _is_url(value: str) -> bool:
    return "://" in value or value.startswith("git@")


# -- icons -------------------------------------------------------------------------------
def find_icon(root: Path, size: int) -> Path | None:
    """The app icon of one size made by resources/icons/render.py, if present."""
    path = root / "resources" / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP}.png"
    return path if path.is_file() else None


def placeholder_png(size: int, rgb: tuple[int, int, int] = (0x2B, 0x6C, 0xB0)) -> bytes:
    """A valid RGBA PNG: a filled circle on transparent ground, no imaging library."""
    r2 = (size / 2) ** 2
    rows = []
    for y in range(size):
        row = bytearray([0])  # filter type: none
        for x in range(size):
            inside = (x + 0.5 - size / 2) ** 2 + (y + 0.5 - size / 2) ** 2 <= r2
            row += bytes((*rgb, 255)) if inside else b"\0\0\0\0"
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + chunk(b"IEND", b"")
    )


def stage_icons(root: Path, stage_dir: Path) -> list[int]:
    """Copy the app icons to ``<stage>/<ICON_STEM>-<N>.png``; returns the sizes that got a
    generated placeholder because resources/ has no icon of that size."""
    target = stage_dir / ICON_STEM
    target.parent.mkdir(parents=True, exist_ok=True)
    placeholders = []
    for size in ICON_SIZES:
        out = target.with_name(f"{target.name}-{size}.png")
        source = find_icon(root, size)
        if source is not None:
            shutil.copyfile(source, out)
        else:
            out.write_bytes(placeholder_png(size))
            placeholders.append(size)
    svg = root / "resources" / "icons" / f"{APP}.svg"
    if svg.is_file():
        shutil.copyfile(svg, target.with_name(f"{target.name}-scalable.svg"))
    pngs = {n: target.with_name(f"{target.name}-{n}.png").read_bytes() for n in ICON_SIZES}
    # For BeeWare's macOS and Windows templates (<icon>.icns, <icon>.ico).
    target.with_name(f"{target.name}.icns").write_bytes(icns(pngs))
    target.with_name(f"{target.name}.ico").write_bytes(ico(pngs))
    return placeholders


ICNS_TYPES = {16: b"icp4", 32: b"icp5", 64: b"icp6", 128: b"ic07", 256: b"ic08", 512: b"ic09"}
"""Apple icon types that hold a PNG of the given size."""


def icns(pngs: dict[int, bytes]) -> bytes:
    """A macOS .icns container of the PNGs whose size it has a slot for."""
    body = b"".join(
        ICNS_TYPES[n] + struct.pack(">I", 8 + len(data)) + data
        for n, data in sorted(pngs.items())
        if n in ICNS_TYPES
    )
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def ico(pngs: dict[int, bytes]) -> bytes:
    """A Windows .ico of the PNGs up to 256 px (PNG-compressed entries, Vista+)."""
    images = [(n, data) for n, data in sorted(pngs.items()) if n <= 256]
    offset = 6 + 16 * len(images)
    header = struct.pack("<HHH", 0, 1, len(images))
    entries = b""
    for n, data in images:
        side = 0 if n == 256 else n  # 0 means 256
        entries += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(data), offset)
        offset += len(data)
    return header + entries + b"".join(data for _, data in images)


# -- staging -----------------------------------------------------------------------------
def stage(root: Path, stage_dir: Path, *, py_tag: str | None = None) -> dict[str, Any]:
    """Lay out the project in ``stage_dir`` for Briefcase. Keeps ``build/`` and
    ``.briefcase/`` there (the cache); replaces everything else. Returns the staged
    pyproject (as a dict)."""
    py_tag = py_tag or python_tag()
    stage_dir.mkdir(parents=True, exist_ok=True)
    for name in ("app", "packaging", "pyproject.toml", "CHANGELOG.md"):
        path = stage_dir / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()

    shutil.copytree(root / "app" / APP, stage_dir / "app" / APP, ignore=_IGNORE)
    resources = root / "resources"
    if resources.is_dir():
        # Installed-package location the app looks in (switchboard/resources).
        shutil.copytree(resources, stage_dir / "app" / APP / "resources", ignore=_IGNORE)
    shutil.copytree(root / "packaging" / "template", stage_dir / "packaging" / "template")
    shutil.copyfile(root / "packaging" / "LICENSE", _mkparent(stage_dir / "packaging" / "LICENSE"))
    # Briefcase wants the changelog next to pyproject.toml.
    shutil.copyfile(root / "packaging" / "CHANGELOG.md", stage_dir / "CHANGELOG.md")
    stage_icons(root, stage_dir)

    pyproject = staged_pyproject(root, stage_dir, py_tag=py_tag)
    (stage_dir / "pyproject.toml").write_text(
        "# Generated by packaging/stage.py from pyproject.toml and briefcase.toml; "
        "do not edit.\n" + tomli_w.dumps(pyproject),
        "utf-8",
    )
    return pyproject


def _mkparent(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def fingerprint(stage_dir: Path) -> str:
    """Hash of what Briefcase's ``create`` consumes besides app code: the staged
    pyproject (version, requirements, config), the template, the icons, the license
    and changelog. When it changes, the cached bundle is rebuilt from scratch."""
    h = hashlib.sha256()
    files: Iterable[Path] = [
        stage_dir / "pyproject.toml",
        stage_dir / "CHANGELOG.md",
        *sorted(p for p in (stage_dir / "packaging").rglob("*") if p.is_file()),
    ]
    for path in files:
        h.update(str(path.relative_to(stage_dir)).encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    h.update(sys.version.encode())
    return h.hexdigest()


# -- building ----------------------------------------------------------------------------
def build(stage_dir: Path, dist_dir: Path, *, briefcase: Sequence[str], fast: bool = False) -> Path:
    """Run Briefcase in ``stage_dir`` and copy the .deb into ``dist_dir``.

    ``fast`` compresses the package with gzip -1 instead of dpkg's default xz -6:
    about 1.6 times the size, but seconds instead of a minute or more on two cores (for
    tests; release builds keep xz)."""
    fp = fingerprint(stage_dir)
    stamp = stage_dir / FINGERPRINT_FILE
    cached = (stage_dir / "build").is_dir() and stamp.is_file() and stamp.read_text() == fp
    if not cached:
        for name in ("build", "dist"):
            shutil.rmtree(stage_dir / name, ignore_errors=True)
        stamp.unlink(missing_ok=True)
    _log(f"{'updating the cached' if cached else 'creating a new'} bundle in {stage_dir}")
    # --update: with a cached bundle, re-install the app code only; without one,
    # Briefcase runs `create` (template, requirements, icons) first anyway.
    cmd = [*briefcase, "package", "linux", "system", "--update", "--adhoc-sign", "--no-input"]
    env = dict(os.environ)
    if fast:
        env.setdefault("DPKG_DEB_COMPRESSOR_TYPE", "gzip")
        env.setdefault("DPKG_DEB_COMPRESSOR_LEVEL", "1")
    t0 = time.monotonic()
    result = subprocess.run(cmd, cwd=stage_dir, env=env, check=False)
    if result.returncode != 0:
        raise StageError(
            f"Briefcase failed (exit {result.returncode}): {' '.join(cmd)} in {stage_dir}. "
            "See its output above; its log is in build/logs/ there."
        )
    stamp.write_text(fp)
    debs = sorted((stage_dir / "dist").glob("*.deb"), key=lambda p: p.stat().st_mtime)
    if not debs:
        raise StageError(f"Briefcase reported success but left no .deb in {stage_dir / 'dist'}.")
    dist_dir.mkdir(parents=True, exist_ok=True)
    out = dist_dir / debs[-1].name
    shutil.copyfile(debs[-1], out)
    _log(f"built {out} ({out.stat().st_size / 1e6:.0f} MB) in {time.monotonic() - t0:.0f} s")
    return out


def _log(text: str) -> None:
    print(f"stage: {text}", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--stage", type=Path, required=True, help="staging directory (kept)")
    p.add_argument("--dist", type=Path, default=ROOT / "dist", help="where the .deb goes")
    p.add_argument("--stage-only", action="store_true", help="stage, do not run Briefcase")
    p.add_argument(
        "--fast", action="store_true", help="gzip -1 instead of xz: bigger .deb, much quicker"
    )
    p.add_argument(
        "--briefcase",
        default=str(Path(sys.executable).with_name("briefcase")),
        help="the briefcase executable (default: next to this Python)",
    )
    args = p.parse_args(argv)
    try:
        placeholders = [n for n in ICON_SIZES if find_icon(ROOT, n) is None]
        stage(ROOT, args.stage.resolve())
        if placeholders:
            _log(f"no app icon of sizes {placeholders} in resources/: placeholders generated")
        if args.stage_only:
            _log(f"staged in {args.stage}")
            return 0
        deb = build(
            args.stage.resolve(), args.dist.resolve(), briefcase=[args.briefcase], fast=args.fast
        )
    except StageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(deb)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
