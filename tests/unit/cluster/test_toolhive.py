"""Team-cluster export (ToolHive operator manifests) and MCPServer import.

Every exported object is validated against its CRD's openAPIV3Schema (ToolHive chart
0.44.0, v1beta1; tests/data/toolhive-crds, offline) with jsonschema, the CEL rules of
those CRDs that concern what we write are checked explicitly, and core objects (the
Secret templates) against the Kubernetes schemas with kubernetes-validate (offline).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
from ruamel.yaml import YAML

from switchboard.cluster.files import readme, servers_from_yaml, write
from switchboard.cluster.toolhive import (
    ANNOTATION,
    API_VERSION,
    ExportError,
    Manifests,
    TeamAuth,
    build,
    k8s_name,
)
from switchboard.cluster.workloads import NODE_IMAGE, UV_IMAGE, NotExportable, container_for
from switchboard.core.errors import ValidationError
from switchboard.core.group import GroupSpec, MemberChoices, Naming, ToolChoice
from switchboard.core.spec import AuthMode, Isolation, RestartPolicy, ServerSpec, Transport

CRDS = Path(__file__).parents[2] / "data" / "toolhive-crds"
KINDS = {
    "MCPServer": "mcpservers",
    "MCPGroup": "mcpgroups",
    "VirtualMCPServer": "virtualmcpservers",
    "MCPToolConfig": "mcptoolconfigs",
    "MCPOIDCConfig": "mcpoidcconfigs",
}
K8S_VERSION = "1.33.0"


def _schema(kind: str) -> dict[str, Any]:
    data = json.loads((CRDS / f"{KINDS[kind]}.json").read_text())
    assert f"{data['group']}/{data['version']}" == API_VERSION
    return data["openAPIV3Schema"]  # type: ignore[no-any-return]


def check(doc: dict[str, Any]) -> None:
    """One object against its schema (and the CRDs' CEL rules we can meet)."""
    kind = doc["kind"]
    if kind in KINDS:
        jsonschema.Draft7Validator(_schema(kind)).validate(doc)
        spec = doc["spec"]
        if kind == "VirtualMCPServer" and spec["incomingAuth"]["type"] == "oidc":
            assert "oidcConfigRef" in spec["incomingAuth"]
        if kind == "MCPOIDCConfig":
            assert (spec["type"] == "inline") == ("inline" in spec)
        assert doc["metadata"]["name"] == k8s_name(doc["metadata"]["name"])
    else:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


SERVERS = [
    ServerSpec(
        "github",
        "npx",
        ("-y", "@modelcontextprotocol/server-github@2025.4.8"),
        env={"GITHUB_API_URL": "https://api.github.com"},
        secrets={"GITHUB_PERSONAL_ACCESS_TOKEN": "github.token"},
        description="GitHub",
        restart=RestartPolicy(max_restarts=9),
        isolation=Isolation.SERIAL,
    ),
    ServerSpec("time", "uvx", ("mcp-server-time==2025.9.25", "--local-timezone=UTC")),
    ServerSpec(
        "fetch_it",
        "docker",
        ("run", "-i", "--rm", "-e", "LOG=debug", "ghcr.io/stackloklabs/gofetch/server:1.0"),
        request_timeout=30.0,
    ),
    ServerSpec("local-script", "/home/me/bin/my-server", ("--stdio",)),
    ServerSpec(
        "web",
        "npx",
        ("-y", "some-http-server@1.0.0"),
        transport=Transport.STREAMABLE_HTTP,
        url="http://127.0.0.1:3001/mcp",
    ),
]
GROUP = GroupSpec(
    name="dev",
    servers=("github", "time", "local-script"),
    choices={
        "github": MemberChoices(
            tools={
                "delete_repository": ToolChoice(enabled=False),
                "search_code": ToolChoice(rename="code_search", description="Search code."),
            },
            prompts_off=frozenset({"triage"}),
        )
    },
)
TOOLS = {"github": ["create_issue", "delete_repository", "search_code"]}


def _export(**kw: Any) -> Manifests:
    kw.setdefault("tool_names", TOOLS)
    return build(SERVERS, [GROUP], namespace="team", **kw)


def test_every_object_validates_against_its_schema() -> None:
    m = _export(auth=TeamAuth("https://idp.example.org/realms/team", "mcp", "mcp-team"))
    kinds = [doc["kind"] for doc in m.documents()]
    assert sorted(set(kinds)) == sorted(KINDS)
    for doc in m.documents():
        check(doc)
    from switchboard.cluster.toolhive import kustomization, secret_manifest

    for secret in m.secrets:
        check(secret_manifest(secret, "team"))
    kust = kustomization(m)
    assert kust["kind"] == "Kustomization" and set(kust["resources"]) == set(m.files)


def test_servers_become_containers_and_secrets_references() -> None:
    m = _export()
    github = m.files["mcpserver-github.yaml"][0]["spec"]
    assert github["image"] == NODE_IMAGE
    assert github["args"] == ["npx", "-y", "@modelcontextprotocol/server-github@2025.4.8"]
    assert github["secrets"] == [
        {"name": "github-token", "key": "value", "targetEnvName": "GITHUB_PERSONAL_ACCESS_TOKEN"}
    ]
    assert github["groupRef"] == {"name": "dev"}
    assert github["permissionProfile"] == {"type": "builtin", "name": "network"}
    time = m.files["mcpserver-time.yaml"][0]["spec"]
    assert (time["image"], time["args"][0]) == (UV_IMAGE, "uvx")
    fetch = m.files["mcpserver-fetch-it.yaml"][0]["spec"]
    assert fetch["image"] == "ghcr.io/stackloklabs/gofetch/server:1.0"
    assert fetch["env"] == [{"name": "LOG", "value": "debug"}]
    assert "args" not in fetch
    assert fetch["oidcConfigRef"] == {"name": "team-oidc", "audience": "fetch-it"}
    web = m.files["mcpserver-web.yaml"][0]["spec"]
    assert (web["transport"], web["mcpPort"]) == ("streamable-http", 3001)
    assert [s for s, _ in m.skipped] == ["local-script"]
    assert [s.keyring_name for s in m.secrets] == ["github.token"]


def test_a_group_carries_members_naming_and_tool_choices() -> None:
    m = _export()
    docs = {d["kind"]: d for d in m.files["group-dev.yaml"]}
    vmcp = docs["VirtualMCPServer"]["spec"]
    assert vmcp["groupRef"] == {"name": "dev"}
    agg = vmcp["config"]["aggregation"]
    assert agg["conflictResolution"] == "prefix"
    assert agg["conflictResolutionConfig"] == {"prefixFormat": "{workload}__"}
    assert agg["tools"] == [{"workload": "github", "toolConfigRef": {"name": "dev-github"}}]
    tools = docs["MCPToolConfig"]["spec"]
    assert tools["toolsFilter"] == ["create_issue", "search_code"]
    assert tools["toolsOverride"] == {
        "search_code": {"name": "code_search", "description": "Search code."}
    }
    assert vmcp["incomingAuth"]["type"] == "oidc"
    assert any("local-script" in note for note in m.notes)
    assert any("prompts" in note for note in m.notes)


def test_priority_and_auth_off_groups() -> None:
    group = GroupSpec(
        name="open", servers=("time", "github"), naming=Naming.PRIORITY, auth=AuthMode.OFF
    )
    m = build(SERVERS[:2], [group])
    vmcp = next(d for d in m.files["group-open.yaml"] if d["kind"] == "VirtualMCPServer")
    agg = vmcp["spec"]["config"]["aggregation"]
    assert agg["conflictResolutionConfig"] == {"priorityOrder": ["time", "github"]}
    assert vmcp["spec"]["incomingAuth"] == {"type": "anonymous"}
    for doc in m.documents():
        check(doc)
    assert "oidc.yaml" not in m.files


def test_what_cannot_be_exported_says_what_to_do() -> None:
    with pytest.raises(ExportError) as info:
        build(SERVERS, [GROUP])  # tools off, no tool list
    assert "allow-list" in info.value.message and "switchboard start" in info.value.hint
    other = GroupSpec(name="other", servers=("github",))
    with pytest.raises(ExportError, match="one MCPGroup"):
        build(SERVERS, [GROUP, other], tool_names=TOOLS)
    twins = [ServerSpec("a.b", "npx", ("x",)), ServerSpec("a_b", "npx", ("y",))]
    with pytest.raises(ExportError, match="same Kubernetes name"):
        build(twins, [])
    with pytest.raises(NotExportable, match="mounts a folder"):
        container_for("docker", ["run", "-v", "/home:/home", "img"])
    with pytest.raises(NotExportable, match="without a value"):
        container_for("docker", ["run", "-e", "TOKEN", "img"])


def test_round_trip_desktop_to_manifests_to_import(tmp_path: Path) -> None:
    m = _export()
    write(m, tmp_path)
    text = "\n---\n".join(
        (tmp_path / name).read_text() for name in m.files if name.startswith("mcpserver-")
    )
    back = {s.name: s for s in servers_from_yaml(text, "the export")}
    for spec in SERVERS:
        if spec.name == "local-script":
            assert spec.name not in back
            continue
        name = k8s_name(spec.name)
        expected = spec.to_dict() | {"name": name}
        assert back[name].to_dict() == expected


def test_a_foreign_mcpserver_imports_as_a_container_command() -> None:
    # examples/operator/mcp-servers/mcpserver_github.yaml in stacklok/toolhive (v0.44.0).
    text = """
apiVersion: toolhive.stacklok.dev/v1beta1
kind: MCPServer
metadata:
  name: github
  namespace: toolhive-system
spec:
  image: ghcr.io/github/github-mcp-server
  transport: stdio
  proxyPort: 8080
  secrets:
    - name: github-token
      key: token
      targetEnvName: GITHUB_PERSONAL_ACCESS_TOKEN
  env:
    - name: GITHUB_API_URL
      value: https://api.github.com
---
apiVersion: v1
kind: Service
metadata: {name: ignored}
"""
    (spec,) = servers_from_yaml(text)
    assert spec.command == "docker"
    assert spec.args == (
        "run",
        "-i",
        "--rm",
        "-e",
        "GITHUB_API_URL",
        "-e",
        "GITHUB_PERSONAL_ACCESS_TOKEN",
        "ghcr.io/github/github-mcp-server",
    )
    assert spec.secrets == {"GITHUB_PERSONAL_ACCESS_TOKEN": "github-token"}
    with pytest.raises(ValidationError, match="no ToolHive MCPServer"):
        servers_from_yaml("kind: Service\n")
    with pytest.raises(ValidationError, match="not valid YAML"):
        servers_from_yaml("a: [b\n")
    with pytest.raises(ValidationError, match="no image"):
        servers_from_yaml(f"apiVersion: {API_VERSION}\nkind: MCPServer\nmetadata: {{name: x}}\n")


def test_the_directory_is_ready_to_apply_and_holds_no_values(tmp_path: Path) -> None:
    m = _export()
    written = write(m, tmp_path)
    names = {p.relative_to(tmp_path).as_posix() for p in written}
    assert {"kustomization.yaml", "README.md", "oidc.yaml", "secrets/github-token.yaml"} <= names
    kust = YAML(typ="safe").load((tmp_path / "kustomization.yaml").read_text())
    assert kust["namespace"] == "team"
    assert "secrets/github-token.yaml" not in kust["resources"]  # never overwrites a value
    for name in kust["resources"]:
        for doc in YAML(typ="safe").load_all((tmp_path / name).read_text()):
            check(doc)
    secret = YAML(typ="safe").load((tmp_path / "secrets/github-token.yaml").read_text())
    assert secret["stringData"] == {"value": ""}
    text = readme(m)
    assert "kubectl create secret generic github-token -n team" in text
    assert "Fill in" in text and "local-script" in text
    github = YAML(typ="safe").load((tmp_path / "mcpserver-github.yaml").read_text())
    desktop = json.loads(github["metadata"]["annotations"][ANNOTATION])
    assert desktop["secrets"] == {"GITHUB_PERSONAL_ACCESS_TOKEN": "github.token"}
