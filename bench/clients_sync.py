"""Cost of keeping MCP clients' configs in step: one reconcile of all 15 client kinds
(with the repository's round-trip fixtures as the person's files) after a server is
added, and the no-op reconcile that follows (nothing to write).

Baselines measured in the same runs, on the same files: read, parse with the stock
parser, serialize the result with the same library and write it, with no editing
(``tomllib``/``tomli_w``, ruamel's safe loader/dumper, ``json``; a JSON file with comments
or trailing commas is JSONC, which has no stock parser: ours reads it, ``json`` writes it).
Once with a plain write (the parser floor) and once with the reconcile's own durable
write (temp file + fsync + rename, backup of the old file): the second does the same I/O
as the reconcile, so its ratio is the cost of editing in place. Prints absolute numbers
and ratios. Not a test.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import statistics
import tempfile
import time
import tomllib
from pathlib import Path

import tomli_w
from ruamel.yaml import YAML

from switchboard.clients import jsonc
from switchboard.clients.known_clients import KINDS, HostEnv
from switchboard.clients.manager import ClientManager
from switchboard.core.paths import AppPaths
from switchboard.store.atomic import atomic_write

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "clients"
FIXTURE_OF = {
    "cursor": "cursor.json",
    "vscode": "vscode.jsonc",
    "vscode-insiders": "vscode.jsonc",
    "claude-code": "claude-code.json",
    "windsurf": "windsurf.json",
    "claude-desktop": "claude-desktop.json",
    "gemini": "gemini.json",
    "codex": "codex.toml",
    "zed": "zed.json",
    "continue": "continue.yaml",
    "goose": "goose.yaml",
    "lmstudio": "lmstudio.json",
    "cline": "cline.json",
    "kiro": "kiro.json",
    "opencode": "opencode.jsonc",
}


def setup(root: Path) -> tuple[ClientManager, list[Path]]:
    host = HostEnv("linux", root / "home", {})
    paths = AppPaths.default(root / "sb")
    paths.ensure()
    files = []
    for kind in KINDS:
        path = kind.config_path(host)
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(FIXTURES / FIXTURE_OF[kind.id], path)
        files.append(path)
    manager = ClientManager(paths, host=host, connect_command=("/usr/bin/switchboard",))
    for kind in KINDS:
        manager.connect(kind.id, {})
    return manager, files


def is_jsonc(path: Path) -> bool:
    """A JSON config that the stock parser refuses (comments, trailing commas)."""
    if path.suffix not in (".json", ".jsonc"):
        return False
    try:
        json.loads(path.read_text("utf-8"))
    except ValueError:
        return True
    return False


def reserialize(path: Path, yaml: YAML, jsonc_file: bool) -> bytes:
    """Parse a config file with the stock parser and serialize it back (no editing)."""
    text = path.read_text("utf-8")
    if path.suffix == ".toml":
        return tomli_w.dumps(tomllib.loads(text)).encode()
    if path.suffix == ".yaml":
        out = io.StringIO()
        yaml.dump(yaml.load(text), out)
        return out.getvalue().encode()
    if jsonc_file:  # no stock JSONC parser: ours reads it
        return json.dumps(jsonc.parse(text), indent=2).encode()
    return json.dumps(json.loads(text), indent=2).encode()


def baseline(files: list[Path], durable: bool) -> float:
    """Seconds to re-serialize every file (see :func:`reserialize`) and write it next to the
    original: a plain write, or (``durable``) the reconcile's atomic write with a backup."""
    yaml = YAML(typ="safe")
    targets = [path.with_name(path.name + ".baseline") for path in files]
    with_comments = [is_jsonc(path) for path in files]
    if durable:  # the target exists, as the client's file does, so a backup is made
        for path, target in zip(files, targets, strict=True):
            shutil.copyfile(path, target)
    t0 = time.perf_counter()
    for path, target, jsonc_file in zip(files, targets, with_comments, strict=True):
        data = reserialize(path, yaml, jsonc_file)
        if durable:
            atomic_write(target, data, backup=target.with_name(target.name + ".bak"))
        else:
            target.write_bytes(data)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--servers", type=int, default=20)
    ap.add_argument("--runs", type=int, default=20)
    opts = ap.parse_args()
    servers = {f"s{i}": f"http://127.0.0.1:8765/servers/s{i}/mcp" for i in range(opts.servers)}
    changed, noop, plain, durable = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(opts.runs):
            manager, files = setup(Path(tmp) / f"r{run}")
            manager.sync(servers)  # warm: entries present
            extra = dict(servers, new=servers["s0"].replace("s0", "new"))
            t0 = time.perf_counter()
            reports = manager.sync(extra)
            changed.append(time.perf_counter() - t0)
            assert all(r.written for r in reports), "every client should have changed"
            t0 = time.perf_counter()
            reports = manager.sync(extra)
            noop.append(time.perf_counter() - t0)
            assert not any(r.written for r in reports), "second run must write nothing"
            plain.append(baseline(files, durable=False))
            durable.append(baseline(files, durable=True))
    med = statistics.median
    print(f"{len(KINDS)} clients, {opts.servers}+1 servers, median of {opts.runs} runs")
    b, d, c, n = med(plain), med(durable), med(changed), med(noop)
    print(f"stock parse+dump, plain write:     {b * 1e3:7.2f} ms")
    print(f"stock parse+dump, atomic write:    {d * 1e3:7.2f} ms  ({d / b:.1f}x plain)")
    print(
        f"reconcile with a change:           {c * 1e3:7.2f} ms"
        f"  ({c / d:.1f}x atomic, {c / b:.1f}x plain)"
    )
    print(f"reconcile, nothing to do:          {n * 1e3:7.2f} ms  ({n / b:.1f}x plain)")


if __name__ == "__main__":
    main()
