"""Team-cluster export with hostile values (issue 17, QA): env values, descriptions,
args, tool descriptions and the issuer that try YAML injection must come back as exactly
the intended objects; the namespace (it reaches the README's kubectl lines, which people
paste into a shell) must be a Kubernetes name; no keyring value reaches any file."""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from switchboard.cluster.files import write
from switchboard.cluster.toolhive import ExportError, TeamAuth, build
from switchboard.core.group import GroupSpec, MemberChoices, ToolChoice
from switchboard.core.spec import ServerSpec

INJECT = 'x"\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: pwned}\n# \'"{}[]&*!|>%@`'
SECRET_VALUE = "s3cr3t-value-that-must-not-appear"


def _servers() -> list[ServerSpec]:
    return [
        ServerSpec(
            name="fs",
            command="npx",
            args=("-y", "@modelcontextprotocol/server-filesystem", INJECT),
            env={"NOTE": INJECT},
            secrets={"TOKEN": "gh-token"},
            description=INJECT,
        ),
        ServerSpec(name="time", command="uvx", args=("mcp-server-time",)),
    ]


def test_injection_in_values_parses_back_to_exactly_the_intended_objects(
    tmp_path: Path,
) -> None:
    group = GroupSpec(
        name="g",
        servers=("fs", "time"),
        description=INJECT,
        choices={"time": MemberChoices(tools={"get_current_time": ToolChoice(description=INJECT)})},
    )
    manifests = build(
        _servers(), [group], auth=TeamAuth(issuer="https://idp.example/" + INJECT, client_id="c")
    )
    written = write(manifests, tmp_path)
    yaml = YAML(typ="safe")
    docs = [d for p in written if p.suffix == ".yaml" for d in yaml.load_all(p.read_text()) if d]
    assert sorted(d["kind"] for d in docs) == sorted(
        [d["kind"] for d in manifests.documents()] + ["Kustomization", "Secret"]
    )
    assert not [d for d in docs if d.get("metadata", {}).get("name") == "pwned"]
    fs = next(d for d in docs if d["kind"] == "MCPServer" and d["metadata"]["name"] == "fs")
    assert {"name": "NOTE", "value": INJECT} in fs["spec"]["env"]
    assert INJECT in fs["spec"]["args"]
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert SECRET_VALUE not in path.read_text()


@pytest.mark.parametrize(
    "namespace", ["x; rm -rf ~", "a b", "$(id)", "default\n---", "../x", "UPPER", "-x", ""]
)
def test_a_namespace_that_is_not_a_kubernetes_name_is_refused(namespace: str) -> None:
    with pytest.raises(ExportError) as err:
        build(_servers(), [], namespace=namespace)
    assert "namespace" in str(err.value)
    assert err.value.hint


def test_a_group_note_tells_skipped_members_from_missing_ones() -> None:
    group = GroupSpec(name="g", servers=("fs", "local", "ghost"))
    local = ServerSpec(name="local", command="/opt/bin/tool")
    manifests = build([_servers()[0], local], [group])
    note = next(n for n in manifests.notes if n.startswith("Group g"))
    assert "local not exported (see above)" in note
    assert "ghost is not a configured server" in note
    empty = build([], [GroupSpec(name="e", servers=("ghost",))])
    note = next(n for n in empty.notes if n.startswith("Group e"))
    assert "serves none" in note
