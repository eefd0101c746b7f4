"""The CLI is one package on top: domain packages never import it, and every verb that
``switchboard --help`` lists is bound to a handler where its parser is built."""

from __future__ import annotations

import argparse
import ast
import subprocess
import sys
from pathlib import Path

from switchboard.cli import build_parser

PKG = Path(__file__).resolve().parents[2] / "app" / "switchboard"


def _imports_cli(path: Path) -> bool:
    tree = ast.parse(path.read_text("utf-8"), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        else:
            continue
        if any(n == "switchboard.cli" or n.startswith("switchboard.cli.") for n in names):
            return True
    return False


def test_only_the_entry_points_import_the_cli() -> None:
    importers = sorted(
        path.relative_to(PKG).as_posix()
        for path in PKG.rglob("*.py")
        if not path.relative_to(PKG).as_posix().startswith("cli/") and _imports_cli(path)
    )
    assert importers == ["__main__.py"]


def test_every_verb_has_a_handler() -> None:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    verbs: dict[str, argparse.ArgumentParser] = sub.choices
    assert "serve" in verbs and "client" in verbs
    unbound = [
        name for name, parser in verbs.items() if not callable(parser.get_default("handler"))
    ]
    assert unbound == []


def test_python_m_switchboard_cli_runs_main() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "switchboard.cli", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("switchboard ")
