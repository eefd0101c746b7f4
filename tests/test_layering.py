"""Architecture checks: the import-linter contracts in pyproject.toml (run by `lint-imports`
in scripts/test) hold, can fail, and name every top-level module they must cover."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "app" / "switchboard"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _contracts() -> dict[str, dict[str, Any]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    return {c["id"]: c for c in config["tool"]["importlinter"]["contracts"]}


def _top_level_modules() -> set[str]:
    names = set()
    for path in PKG.iterdir():
        if path.is_dir() and (path / "__init__.py").exists():
            names.add(f"switchboard.{path.name}")
        elif path.suffix == ".py" and path.name != "__init__.py":
            names.add(f"switchboard.{path.stem}")
    return names


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """Run lint-imports with pyproject.toml's contracts on the package found under root/app."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        env={"PYTHONPATH": str(root / "app"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_core_contract_forbids_every_other_module() -> None:
    # A new top-level module must be added to the "core-alone" contract.
    forbidden = set(_contracts()["core-alone"]["forbidden_modules"])
    assert forbidden == _top_level_modules() - {"switchboard.core"}


def test_domain_contract_names_existing_packages() -> None:
    contract = _contracts()["domain-below-front-ends"]
    assert set(contract["source_modules"]) <= _top_level_modules()
    assert set(contract["forbidden_modules"]) == {
        "switchboard.ui",
        "switchboard.application",
        "switchboard.cli",
    }


@pytest.fixture(scope="module")
def tree_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("layering")
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    shutil.copytree(PKG, root / "app" / "switchboard", ignore=shutil.ignore_patterns("__pycache__"))
    return root


def test_contracts_hold_on_a_copy_of_the_tree(tree_copy: Path) -> None:
    result = _lint_imports(tree_copy)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("module", "source", "contract"),
    [
        ("core/_probe.py", "from PySide6 import QtCore\n", "import Qt"),
        ("engine_probe.py", "import qasync\n", "import Qt"),
        ("store/_probe.py", "import switchboard.ui\n", "never import the front ends"),
        ("control/_probe.py", "from switchboard import application\n", "front ends"),
        ("core/_probe.py", "import switchboard.store.config\n", "core imports nothing"),
        ("supervisor/_probe.py", "import switchboard.gateway\n", "engine > auth"),
        ("gateway/_probe.py", "import switchboard.auth.keys\n", "engine > auth"),
        ("gateway/_probe.py", "import switchboard.inspector\n", "engine > auth"),
    ],
)
def test_contracts_catch_a_wrong_import(
    tree_copy: Path, module: str, source: str, contract: str
) -> None:
    probe = tree_copy / "app" / "switchboard" / module
    probe.write_text(source)
    try:
        result = _lint_imports(tree_copy)
    finally:
        probe.unlink()
    assert result.returncode == 1, result.stdout + result.stderr
    broken = [line for line in result.stdout.splitlines() if " BROKEN" in line]
    assert any(contract in line for line in broken), result.stdout
