"""The package resolver with a fake npm on PATH: what it installs, where, which program
it picks, what it pins, and that a second start runs no tool at all."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from switchboard.packages import PackageError, PackageResolver
from switchboard.packages.install import MARKER, npm_entry
from switchboard.packages.request import PackageRequest

FAKE_NPM = """#!{python}
import json, os, sys
from pathlib import Path
log = Path(os.environ["FAKE_NPM_LOG"])
log.write_text(log.read_text() + " ".join(sys.argv[1:]) + "\\n" if log.exists() else " ".join(sys.argv[1:]) + "\\n")
if os.environ.get("FAKE_NPM_HANG") and sys.argv[1] == "install":
    Path(os.environ["FAKE_NPM_HANG"]).write_text(str(os.getpid()))
    prefix = Path(sys.argv[sys.argv.index("--prefix") + 1])
    (prefix / "node_modules").mkdir(parents=True, exist_ok=True)
    import time
    time.sleep(60)
if os.environ.get("FAKE_NPM_FAIL"):
    print("npm error 404 Not Found - GET https://registry.npmjs.org/nope", file=sys.stderr)
    sys.exit(1)
if sys.argv[1] == "view":
    print(json.dumps(os.environ.get("FAKE_NPM_VERSION", "3.1.4")))
    sys.exit(0)
prefix = Path(sys.argv[sys.argv.index("--prefix") + 1])
spec = [a for a in sys.argv[2:] if not a.startswith("-") and a != str(prefix)][-1]
name = spec[: spec.rindex("@")]
pkg = prefix / "node_modules" / name
(pkg / "dist").mkdir(parents=True)
(pkg / "dist" / "index.js").write_text("#!/usr/bin/env node\\n")
(pkg / "package.json").write_text(json.dumps({{"name": name, "bin": {{"srv": "dist/index.js"}}}}))
"""


@pytest.fixture
def fake_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool, text in (("npm", FAKE_NPM.format(python=sys.executable)), ("npx", ""), ("node", "")):
        exe = bindir / tool
        exe.write_text(text or "#!/bin/sh\nexit 0\n")
        exe.chmod(0o755)
    monkeypatch.setenv("FAKE_NPM_LOG", str(tmp_path / "npm.log"))
    return str(bindir)


def calls(tmp_path: Path) -> list[str]:
    log = tmp_path / "npm.log"
    return log.read_text().splitlines() if log.exists() else []


async def resolve(resolver: PackageResolver, path: str, *args: str) -> list[str] | None:
    notes: list[str] = []
    env = {**os.environ, "PATH": path}
    launch = await resolver("npx", args, path=path, env=env, note=notes.append)
    return list(launch.argv) if launch else None


async def test_pinned_package_is_installed_once_then_runs_offline(
    tmp_path: Path, fake_path: str
) -> None:
    resolver = PackageResolver(tmp_path / "cache")
    argv = await resolve(resolver, fake_path, "-y", "@acme/srv@1.2.3", "stdio")
    dest = tmp_path / "cache" / "npm" / "@acme+srv@1.2.3"
    script = dest / "node_modules" / "@acme" / "srv" / "dist" / "index.js"
    assert argv == [f"{fake_path}/node", str(script), "stdio"]
    assert (dest / MARKER).is_file()
    assert len(calls(tmp_path)) == 1 and calls(tmp_path)[0].startswith("install --prefix")
    launch = await resolver("npx", ["@acme/srv@1.2.3"], path=fake_path, env={}, note=print)
    assert launch is not None and launch.path == (str(dest / "node_modules" / ".bin"),)
    # Second start (new resolver = engine restart): no npm call at all.
    again = await resolve(
        PackageResolver(tmp_path / "cache"), fake_path, "-y", "@acme/srv@1.2.3", "stdio"
    )
    assert again == argv
    assert len(calls(tmp_path)) == 1


async def test_unpinned_package_is_looked_up_once_and_pinned(
    tmp_path: Path, fake_path: str
) -> None:
    resolver = PackageResolver(tmp_path / "cache")
    argv = await resolve(resolver, fake_path, "-y", "thing")
    assert argv is not None and "thing@3.1.4" in argv[1]
    assert [c.split()[0] for c in calls(tmp_path)] == ["view", "install"]
    pins = json.loads((tmp_path / "cache" / "pins.json").read_text())
    assert pins == {"npm::thing@": "3.1.4"}
    assert await resolve(PackageResolver(tmp_path / "cache"), fake_path, "-y", "thing") == argv
    assert len(calls(tmp_path)) == 2  # nothing new: the pin and the install are reused


async def test_a_registry_version_that_is_not_a_release_is_refused(
    tmp_path: Path, fake_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_NPM_VERSION", "../../escape")
    with pytest.raises(PackageError, match="escape"):
        await resolve(PackageResolver(tmp_path / "cache"), fake_path, "-y", "thing")
    assert not (tmp_path / "cache" / "pins.json").exists()
    assert [c.split()[0] for c in calls(tmp_path)] == ["view"]


async def test_a_new_pinned_version_installs_beside_the_old(tmp_path: Path, fake_path: str) -> None:
    resolver = PackageResolver(tmp_path / "cache")
    await resolve(resolver, fake_path, "x@1.0.0")
    await resolve(resolver, fake_path, "x@1.1.0")
    assert sorted(p.name for p in (tmp_path / "cache" / "npm").iterdir()) == ["x@1.0.0", "x@1.1.0"]


async def test_failed_install_says_why_and_leaves_nothing(
    tmp_path: Path, fake_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_NPM_FAIL", "1")
    with pytest.raises(PackageError) as err:
        await resolve(PackageResolver(tmp_path / "cache"), fake_path, "-y", "nope@1.0.0")
    assert "404 Not Found" in err.value.message and err.value.hint
    assert not (tmp_path / "cache" / "npm" / "nope@1.0.0").exists()


async def test_stopping_during_an_install_kills_it_and_cleans_up(
    tmp_path: Path, fake_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pidfile = tmp_path / "npm.pid"
    monkeypatch.setenv("FAKE_NPM_HANG", str(pidfile))
    task = asyncio.ensure_future(
        resolve(PackageResolver(tmp_path / "cache"), fake_path, "slow@1.0.0")
    )
    for _ in range(500):
        if pidfile.exists() and pidfile.read_text():
            break
        await asyncio.sleep(0.02)
    npm_pid = int(pidfile.read_text())
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    with pytest.raises(ProcessLookupError):
        os.kill(npm_pid, 0)
    assert not (tmp_path / "cache" / "npm" / "slow@1.0.0").exists()


async def test_an_interrupted_install_is_redone(tmp_path: Path, fake_path: str) -> None:
    dest = tmp_path / "cache" / "npm" / "x@1.0.0"
    (dest / "node_modules").mkdir(parents=True)  # no marker: killed half-way
    argv = await resolve(PackageResolver(tmp_path / "cache"), fake_path, "x@1.0.0")
    assert argv is not None and (dest / MARKER).is_file()
    assert len(calls(tmp_path)) == 1


async def test_other_commands_are_not_touched(tmp_path: Path, fake_path: str) -> None:
    resolver = PackageResolver(tmp_path / "cache")
    assert await resolver("node", ["x.js"], path=fake_path, env={}, note=print) is None
    assert calls(tmp_path) == []


def _package(tmp_path: Path, name: str, bins: object, files: dict[str, str]) -> Path:
    dest = tmp_path / "inst"
    pkg = dest / "node_modules" / name
    pkg.mkdir(parents=True)
    (pkg / "package.json").write_text(json.dumps({"name": name, "bin": bins}))
    for rel, text in files.items():
        (pkg / rel).parent.mkdir(parents=True, exist_ok=True)
        (pkg / rel).write_text(text)
    return dest


def req(name: str, program: str = "") -> PackageRequest:
    return PackageRequest("npm", name, "1.0.0", program, ())


def test_entry_is_the_only_bin_or_the_one_named_like_the_package(tmp_path: Path) -> None:
    dest = _package(
        tmp_path, "@s/tool", {"tool": "a.js", "tool-admin": "b.js"}, {"a.js": "", "b.js": ""}
    )
    pkg = dest / "node_modules" / "@s" / "tool"
    assert npm_entry(req("@s/tool"), dest, "/n") == ["/n", str(pkg / "a.js")]
    assert npm_entry(req("@s/tool", "tool-admin"), dest, "/n") == ["/n", str(pkg / "b.js")]
    with pytest.raises(PackageError, match="no program to run"):
        npm_entry(req("@s/tool"), _package(tmp_path / "2", "@s/tool", None, {}), "/n")


def test_entry_with_several_bins_and_no_match_names_them(tmp_path: Path) -> None:
    dest = _package(tmp_path, "pkg", {"a": "a.js", "b": "b.js"}, {"a.js": "", "b.js": ""})
    with pytest.raises(PackageError, match=r"several programs \(a, b\)") as err:
        npm_entry(req("pkg"), dest, "/n")
    assert "npx -y -p pkg a" in err.value.hint


def test_a_string_bin_and_a_shell_script_bin(tmp_path: Path) -> None:
    dest = _package(tmp_path, "pkg", "bin/run", {"bin/run": "#!/bin/sh\nexec true\n"})
    assert npm_entry(req("pkg"), dest, "/n") == [str(dest / "node_modules" / "pkg" / "bin" / "run")]


def test_a_bin_outside_the_package_is_refused(tmp_path: Path) -> None:
    dest = _package(tmp_path, "pkg", {"pkg": "../../../evil.js"}, {})
    (tmp_path / "evil.js").write_text("")
    with pytest.raises(PackageError, match="missing"):
        npm_entry(req("pkg"), dest, "/n")
