"""Cost of keeping MCP clients' configs in step: one reconcile of all 15 client kinds
(with the repository's round-trip fixtures as the person's files) after a server is
added, and the no-op reconcile that follows (nothing to write).

Baseline measured in the same run: for the same files, read + parse with the stock
parser (``tomllib``, ``yaml.safe_load``; JSONC has none) + plain write back, no
editing and no fsync: the floor any config writer pays. Prints absolute numbers and
ratios. Not a test.

    .venv/bin/python bench/clients_sync.py [--servers 20] [--runs 20]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
import tomllib
from pathlib import Path

from ruamel.yaml import YAML

from switchboard.clients.kinds import KINDS, HostEnv
from switchboard.clients.manager import ClientManager
from switchboard.core.paths import AppPaths

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


def baseline(files: list[Path]) -> float:
    """Read each file, parse it with the stock parser, write it back (no editing)."""
    yaml = YAML(typ="safe")
    t0 = time.perf_counter()
    for path in files:
        text = path.read_text("utf-8")
        if path.suffix == ".toml":
            tomllib.loads(text)
        elif path.suffix == ".yaml":
            yaml.load(text)
        else:
            json.loads(json.dumps(text))  # JSONC has no stock parser; cost of a string pass
        path.with_suffix(".baseline").write_text(text, "utf-8")
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--servers", type=int, default=20)
    ap.add_argument("--runs", type=int, default=20)
    opts = ap.parse_args()
    servers = {f"s{i}": f"http://127.0.0.1:8765/servers/s{i}/mcp" for i in range(opts.servers)}
    changed, noop, base = [], [], []
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
            base.append(baseline(files))
    med = statistics.median
    print(f"{len(KINDS)} clients, {opts.servers}+1 servers, median of {opts.runs} runs")
    b, c, n = med(base), med(changed), med(noop)
    print(f"baseline read+parse+write:  {b * 1e3:7.2f} ms")
    print(f"reconcile with a change:    {c * 1e3:7.2f} ms  ({c / b:.1f}x baseline)")
    print(f"reconcile, nothing to do:   {n * 1e3:7.2f} ms  ({n / b:.1f}x baseline)")


if __name__ == "__main__":
    main()
