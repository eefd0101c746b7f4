"""Servers and groups as ToolHive operator manifests, for a team's Kubernetes cluster.

Target: the ToolHive operator's CRDs, API group ``toolhive.stacklok.dev``, version
``v1beta1``, as shipped by the ``toolhive-operator-crds`` chart :data:`CRD_CHART_VERSION`
(``docs/operator/crd-api.md`` and ``deploy/charts/operator-crds/`` in stacklok/toolhive).
What is written (:func:`build`):

- per server an ``MCPServer`` (its container from :mod:`~switchboard.cluster.workloads`;
  ``env``; each keyring secret as ``secrets: [{name, key, targetEnvName}]`` naming a
  Kubernetes ``Secret`` whose manifest carries **no value**: values never leave the
  keyring; the README gives a ``kubectl create secret`` line per secret);
- per group an ``MCPGroup`` (the members' ``groupRef``) and a ``VirtualMCPServer``
  with the group's naming as ``conflictResolution`` (``prefix`` with
  ``prefixFormat: "{workload}__"``, so tool names are the desktop's; ``priority`` with
  the member order; ``manual``) and, per member with choices, an ``MCPToolConfig``
  (``toolsFilter`` allow-list, ``toolsOverride`` renames and descriptions);
- auth: one ``MCPOIDCConfig`` naming the team's identity provider (issuer, client id)
  that every endpoint references with its audience - never Switchboard's own keys,
  which stay on this computer;
- ``kustomization.yaml`` listing them (``kubectl apply -k DIR``).

What a desktop server has and Kubernetes does not (the keyring names of its secrets,
restart policy, timeouts, description) rides along in the ``switchboard.dev/desktop``
annotation, so ``switchboard import`` of the manifest gives back the same server.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from switchboard.cluster.workloads import NotExportable, container_for
from switchboard.core.errors import SwitchboardError
from switchboard.core.group import GroupSpec, Naming
from switchboard.core.spec import AuthMode, ServerSpec, Transport

CRD_CHART_VERSION = "0.44.0"
API_VERSION = "toolhive.stacklok.dev/v1beta1"
ANNOTATION = "switchboard.dev/desktop"
"""JSON: the desktop-only fields of a server (see the module docstring)."""
MANAGED_BY = {"app.kubernetes.io/managed-by": "switchboard-export"}
DATA_KEY = "value"
"""The key in each Kubernetes Secret (one Secret per keyring secret)."""
OIDC_NAME = "team-oidc"
PLACEHOLDER_ISSUER = "https://issuer.example.com"
PLACEHOLDER_CLIENT_ID = "REPLACE-WITH-YOUR-CLIENT-ID"
PREFIX_FORMAT = "{workload}__"
"""As the desktop's ``server__tool`` (``core.group.SEPARATOR``)."""

_DNS_LABEL = re.compile(r"[^a-z0-9-]+")


def k8s_name(name: str) -> str:
    """A DNS-1123 label (lowercase letters, digits and '-', at most 63, alphanumeric
    ends) for a server, group or secret name: '.' and '_' become '-'."""
    label = _DNS_LABEL.sub("-", name.lower()).strip("-")[:63].strip("-")
    return label or "x"


@dataclasses.dataclass(frozen=True, slots=True)
class TeamAuth:
    """The team's identity provider (RFC 8414 / OIDC issuer) that the cluster's
    endpoints accept tokens from; placeholders until the person fills them in."""

    issuer: str = PLACEHOLDER_ISSUER
    client_id: str = PLACEHOLDER_CLIENT_ID
    audience: str = ""
    """Expected ``aud``; default: each endpoint's own name."""

    @property
    def is_placeholder(self) -> bool:
        return self.issuer == PLACEHOLDER_ISSUER or self.client_id == PLACEHOLDER_CLIENT_ID


@dataclasses.dataclass(frozen=True, slots=True)
class SecretNeeded:
    """A Kubernetes Secret the person creates with the value from their keyring."""

    k8s_name: str
    keyring_name: str
    env: tuple[str, ...]
    servers: tuple[str, ...]


@dataclasses.dataclass
class Manifests:
    """What :func:`build` made: files of YAML documents, and what the README tells."""

    namespace: str
    files: dict[str, list[dict[str, Any]]] = dataclasses.field(default_factory=dict)
    secrets: list[SecretNeeded] = dataclasses.field(default_factory=list)
    skipped: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    """(server, why) for servers that cannot run in a cluster as configured."""
    notes: list[str] = dataclasses.field(default_factory=list)
    auth: TeamAuth = dataclasses.field(default_factory=TeamAuth)

    def documents(self) -> list[dict[str, Any]]:
        return [doc for docs in self.files.values() for doc in docs]


class ExportError(SwitchboardError):
    """The selection cannot be exported (the message and hint say what to do)."""


def build(
    servers: Sequence[ServerSpec],
    groups: Sequence[GroupSpec],
    *,
    namespace: str = "default",
    auth: TeamAuth | None = None,
    tool_names: Mapping[str, Sequence[str]] | None = None,
) -> Manifests:
    """Manifests for ``servers`` and ``groups`` (see the module docstring).

    ``tool_names``: each server's tool names from the live server, needed only for a
    group member with tools switched off (ToolHive filters by an allow-list);
    :class:`ExportError` names the servers to start when it is missing.
    """
    auth = auth or TeamAuth()
    tool_names = tool_names or {}
    out = Manifests(namespace=namespace, auth=auth)
    by_name = {s.name: s for s in servers}
    group_of: dict[str, str] = {}
    for group in groups:
        for member in group.servers:
            if member in group_of:
                raise ExportError(
                    f"Server {member!r} is in the groups {group_of[member]!r} and "
                    f"{group.name!r}; in ToolHive a server belongs to one MCPGroup.",
                    hint="Export one group at a time (--group NAME) into separate directories.",
                )
            group_of[member] = group.name
    _check_names([s.name for s in servers], "server")
    _check_names([g.name for g in groups], "group")
    needs_oidc = False
    secrets: dict[str, SecretNeeded] = {}
    for spec in servers:
        try:
            doc = _mcp_server(spec, namespace, group_of.get(spec.name), auth, secrets)
        except NotExportable as exc:
            out.skipped.append((spec.name, str(exc)))
            continue
        needs_oidc |= "oidcConfigRef" in doc["spec"]
        out.files[f"mcpserver-{k8s_name(spec.name)}.yaml"] = [doc]
    exported = {n for n in by_name if f"mcpserver-{k8s_name(n)}.yaml" in out.files}
    for group in groups:
        docs = _group(group, namespace, auth, exported, tool_names, out)
        needs_oidc |= group.auth is not AuthMode.OFF
        out.files[f"group-{k8s_name(group.name)}.yaml"] = docs
    if needs_oidc:
        out.files["oidc.yaml"] = [_oidc(namespace, auth)]
    out.secrets = sorted(secrets.values(), key=lambda s: s.k8s_name)
    out.files = dict(sorted(out.files.items()))
    return out


def needs_tool_lists(groups: Sequence[GroupSpec]) -> list[GroupSpec]:
    """The groups that switch tools off: exporting them needs the members' tool lists."""
    return [
        g
        for g in groups
        if any(not c.enabled for m in g.choices.values() for c in m.tools.values())
    ]


def tool_names_from_listing(listing: Mapping[str, Any]) -> dict[str, list[str]]:
    """{server: its tool names} from a group listing (``Gateway.group_listing``);
    members that are down are left out (:func:`build` then says to start them)."""
    names: dict[str, list[str]] = {}
    for member in listing.get("members", []):
        if isinstance(member, Mapping) and not member.get("error") and member.get("tools"):
            names[str(member["server"])] = [str(t["name"]) for t in member["tools"]]
    return names


def _check_names(names: list[str], what: str) -> None:
    seen: dict[str, str] = {}
    for name in names:
        label = k8s_name(name)
        if label in seen:
            raise ExportError(
                f"The {what}s {seen[label]!r} and {name!r} get the same Kubernetes name {label!r}.",
                hint="Rename one of them before exporting.",
            )
        seen[label] = name


def _meta(
    name: str, namespace: str, annotations: Mapping[str, str] | None = None
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "labels": dict(MANAGED_BY)}
    if annotations:
        meta["annotations"] = dict(annotations)
    return meta


def _desktop_fields(spec: ServerSpec) -> dict[str, Any]:
    """What the MCPServer cannot say itself, for the way back (import)."""
    doc = spec.to_dict()
    keep = {
        k: v
        for k, v in doc.items()
        if k not in ("name", "env", "autostart", "auth", "external_issuer")
    }
    return keep


def _mcp_server(
    spec: ServerSpec,
    namespace: str,
    group: str | None,
    auth: TeamAuth,
    secrets: dict[str, SecretNeeded],
) -> dict[str, Any]:
    if not spec.command:
        raise NotExportable(
            "it is a remote server (a URL, nothing runs here); point clients at its URL, "
            "or use ToolHive's MCPRemoteProxy"
        )
    container = container_for(spec.command, spec.args)
    name = k8s_name(spec.name)
    body: dict[str, Any] = {"image": container.image}
    if spec.transport is Transport.STDIO:
        body["transport"] = "stdio"
    else:
        body["transport"] = spec.transport.value
        port = urlsplit(spec.url or "").port
        if port:
            body["mcpPort"] = port
    body["proxyPort"] = 8080
    if container.args:
        body["args"] = list(container.args)
    env = {**container.env, **spec.env}
    if env:
        body["env"] = [{"name": k, "value": v} for k, v in env.items()]
    if spec.secrets:
        refs = []
        for env_name, keyring_name in spec.secrets.items():
            secret = k8s_name(keyring_name)
            found = secrets.get(secret)
            if found is not None and found.keyring_name != keyring_name:
                raise ExportError(
                    f"The keyring secrets {found.keyring_name!r} and {keyring_name!r} get "
                    f"the same Kubernetes name {secret!r}.",
                    hint="Rename one of them ('switchboard secret' and the server's settings).",
                )
            secrets[secret] = SecretNeeded(
                secret,
                keyring_name,
                tuple(dict.fromkeys((*(found.env if found else ()), env_name))),
                tuple(dict.fromkeys((*(found.servers if found else ()), spec.name))),
            )
            refs.append({"name": secret, "key": DATA_KEY, "targetEnvName": env_name})
        body["secrets"] = refs
    if container.needs_network:
        body["permissionProfile"] = {"type": "builtin", "name": "network"}
    if group is not None:
        body["groupRef"] = {"name": k8s_name(group)}
    elif spec.auth is not AuthMode.OFF:
        body["oidcConfigRef"] = {"name": OIDC_NAME, "audience": auth.audience or name}
    annotations = {ANNOTATION: json.dumps(_desktop_fields(spec), sort_keys=True)}
    return {
        "apiVersion": API_VERSION,
        "kind": "MCPServer",
        "metadata": _meta(name, namespace, annotations),
        "spec": body,
    }


def _group(
    group: GroupSpec,
    namespace: str,
    auth: TeamAuth,
    exported: set[str],
    tool_names: Mapping[str, Sequence[str]],
    out: Manifests,
) -> list[dict[str, Any]]:
    name = k8s_name(group.name)
    docs: list[dict[str, Any]] = [
        {
            "apiVersion": API_VERSION,
            "kind": "MCPGroup",
            "metadata": _meta(name, namespace),
            "spec": {"description": group.description or f"Switchboard group {group.name}"},
        }
    ]
    missing = [m for m in group.servers if m not in exported]
    if missing:
        out.notes.append(
            f"Group {group.name}: {', '.join(missing)} not exported (see above); the "
            "virtual server serves the other members."
        )
    aggregation: dict[str, Any] = {"conflictResolution": group.naming.value}
    if group.naming is Naming.PREFIX:
        aggregation["conflictResolutionConfig"] = {"prefixFormat": PREFIX_FORMAT}
    elif group.naming is Naming.PRIORITY:
        order = [k8s_name(m) for m in group.servers if m in exported]
        aggregation["conflictResolutionConfig"] = {"priorityOrder": order}
    tools: list[dict[str, Any]] = []
    unknown: list[str] = []
    for member in group.servers:
        choices = group.member(member)
        if member not in exported or not choices.tools:
            continue
        config_name = k8s_name(f"{group.name}-{member}")
        spec: dict[str, Any] = {}
        off = {t for t, c in choices.tools.items() if not c.enabled}
        if off:
            names = tool_names.get(member)
            if names is None:
                unknown.append(member)
                continue
            spec["toolsFilter"] = sorted(n for n in names if n not in off)
            if not spec["toolsFilter"]:
                spec.pop("toolsFilter")
                tools.append({"workload": k8s_name(member), "excludeAll": True})
                continue
        overrides = {}
        for tool, choice in sorted(choices.tools.items()):
            if not choice.enabled:
                continue
            override: dict[str, str] = {}
            if choice.rename:
                override["name"] = choice.rename
            if choice.description is not None:
                override["description"] = choice.description
            if override:
                overrides[tool] = override
        if overrides:
            spec["toolsOverride"] = overrides
        if not spec:
            continue
        docs.append(
            {
                "apiVersion": API_VERSION,
                "kind": "MCPToolConfig",
                "metadata": _meta(config_name, namespace),
                "spec": spec,
            }
        )
        tools.append({"workload": k8s_name(member), "toolConfigRef": {"name": config_name}})
        if choices.prompts_off or choices.resources_off:
            out.notes.append(
                f"Group {group.name}: prompts and resources switched off for {member} are "
                "served in the cluster (ToolHive's virtual server filters tools only)."
            )
    if unknown:
        raise ExportError(
            f"Group {group.name!r} switches tools of {', '.join(unknown)} off; ToolHive "
            "filters tools with an allow-list, which needs the server's tool list.",
            hint=f"Start {'them' if len(unknown) > 1 else 'it'} ('switchboard start NAME') "
            "and export again while Switchboard runs.",
        )
    if tools:
        aggregation["tools"] = tools
    incoming: dict[str, Any]
    if group.auth is AuthMode.OFF:
        incoming = {"type": "anonymous"}
    else:
        incoming = {
            "type": "oidc",
            "oidcConfigRef": {"name": OIDC_NAME, "audience": auth.audience or name},
        }
    docs.append(
        {
            "apiVersion": API_VERSION,
            "kind": "VirtualMCPServer",
            "metadata": _meta(name, namespace),
            "spec": {
                "groupRef": {"name": name},
                "incomingAuth": incoming,
                "config": {"aggregation": aggregation},
            },
        }
    )
    return docs


def _oidc(namespace: str, auth: TeamAuth) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "MCPOIDCConfig",
        "metadata": _meta(OIDC_NAME, namespace),
        "spec": {"type": "inline", "inline": {"issuer": auth.issuer, "clientId": auth.client_id}},
    }


def secret_manifest(secret: SecretNeeded, namespace: str) -> dict[str, Any]:
    """A Secret with its key and an empty value: a template, never applied by the
    kustomization (a value set with kubectl must not be overwritten)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _meta(secret.k8s_name, namespace),
        "type": "Opaque",
        "stringData": {DATA_KEY: ""},
    }


def kustomization(manifests: Manifests) -> dict[str, Any]:
    return {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": manifests.namespace,
        "resources": list(manifests.files),
    }
