"""``switchboard export --kubernetes`` and ``switchboard import`` of the manifests, as a
person runs them (a real process on a temporary home), and no secret value in any
exported file with the real Secret Service keyring (scripts/test's gnome-keyring)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from switchboard.core.group import GroupSpec, MemberChoices, ToolChoice
from switchboard.core.paths import AppPaths
from switchboard.core.spec import ServerSpec, Settings
from switchboard.secrets.store import SecretStore
from switchboard.store.config import Config, ConfigStore
from tests.integration.test_secrets_keyring import _secret_service_backend


def sb(home: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "SWITCHBOARD_"))}
    return subprocess.run(
        [sys.executable, "-m", "switchboard", "--home", str(home), *argv],
        text=True,
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )


SERVERS = (
    ServerSpec(
        "github",
        "npx",
        ("-y", "@modelcontextprotocol/server-github@2025.4.8"),
        secrets={"GITHUB_PERSONAL_ACCESS_TOKEN": "github.token"},
    ),
    ServerSpec("time", "uvx", ("mcp-server-time",)),
)


def _home(tmp_path: Path, groups: tuple[GroupSpec, ...]) -> Path:
    home = tmp_path / "sb"
    paths = AppPaths.default(home)
    ConfigStore(paths.config_file).save(
        Config(settings=Settings(port=18766), servers=SERVERS, groups=groups)
    )
    return home


def test_export_a_group_then_import_it_on_another_computer(tmp_path: Path) -> None:
    home = _home(tmp_path, (GroupSpec(name="dev", servers=("github", "time")),))
    out = tmp_path / "k8s"
    done = sb(home, "export", "--kubernetes", str(out), "--group", "dev", "--namespace", "team")
    assert done.returncode == 0, done.stderr
    assert "Apply with: kubectl apply -k" in done.stdout
    assert "1 secret(s) to create" in done.stdout
    assert (out / "group-dev.yaml").is_file() and (out / "kustomization.yaml").is_file()

    other = tmp_path / "other"
    done = sb(other, "import", str(out / "mcpserver-github.yaml"))
    assert done.returncode == 0, done.stderr
    done = sb(other, "import", str(out / "mcpserver-time.yaml"))
    assert done.returncode == 0, done.stderr
    config = ConfigStore(AppPaths.default(other).config_file).load()
    assert [s.to_dict() for s in config.servers] == [s.to_dict() for s in SERVERS]


def test_tools_switched_off_need_the_tool_list_and_the_error_says_so(tmp_path: Path) -> None:
    group = GroupSpec(
        name="dev",
        servers=("github",),
        choices={"github": MemberChoices(tools={"delete_repository": ToolChoice(enabled=False)})},
    )
    home = _home(tmp_path, (group,))
    done = sb(home, "export", "--kubernetes", str(tmp_path / "k8s"), "--group", "dev")
    assert done.returncode != 0
    assert "allow-list" in done.stderr and "switchboard start" in done.stderr
    assert not (tmp_path / "k8s").exists()  # nothing half-written


@pytest.mark.keyring
def test_no_secret_value_in_any_exported_file(tmp_path: Path) -> None:
    """The value sits in the real keyring where Switchboard keeps it (its service, a
    name unique to this test so a person's own secrets are never touched)."""
    backend = _secret_service_backend()
    ref = f"k8s-test-{uuid.uuid4().hex[:12]}"
    github = ServerSpec(
        "github", "npx", ("-y", "x@1"), secrets={"GITHUB_PERSONAL_ACCESS_TOKEN": ref}
    )
    home = tmp_path / "sb"
    paths = AppPaths.default(home)
    ConfigStore(paths.config_file).save(
        Config(servers=(github,), groups=(GroupSpec(name="dev", servers=("github",)),))
    )
    store = SecretStore.for_paths(paths, backend=backend)
    value = "sb-k8s-" + uuid.uuid4().hex
    store.set(ref, value)
    try:
        out = tmp_path / "k8s"
        done = sb(home, "export", "--kubernetes", str(out))
        assert done.returncode == 0, done.stderr
        files = [p for p in out.rglob("*") if p.is_file()]
        assert len(files) >= 5
        for path in files:
            assert value.encode() not in path.read_bytes(), path
        assert value not in done.stdout + done.stderr
        assert ref in (out / "README.md").read_text()
    finally:
        store.delete(ref)
    assert store.get(ref) is None
