"""Writing exported manifests to a directory, and reading MCPServer manifests back.

The directory gets one YAML file per server and per group, ``oidc.yaml``,
``kustomization.yaml`` (``kubectl apply -k DIR``), a ``secrets/`` folder of Secret
templates without values (not in the kustomization) and a ``README.md`` saying how to
create each secret from the keyring, what to fill in and what differs from the desktop.

:func:`servers_from_yaml` is ``switchboard import`` of MCPServer manifests: each
becomes a local server (:func:`~switchboard.cluster.workloads.desktop_command`), with
the desktop-only fields from the ``switchboard.dev/desktop`` annotation when the
manifest came from Switchboard.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from switchboard.cluster.toolhive import (
    ANNOTATION,
    CRD_CHART_VERSION,
    DATA_KEY,
    Manifests,
    kustomization,
    secret_manifest,
)
from switchboard.cluster.workloads import NotExportable, container_for, desktop_command
from switchboard.core.errors import StoreError, ValidationError
from switchboard.core.spec import ServerSpec, suggest_name

_DESKTOP_KEYS = (
    "command",
    "args",
    "secrets",
    "cwd",
    "restart",
    "request_timeout",
    "transport",
    "url",
    "description",
    "isolation",
)


def _dump(docs: Iterable[dict[str, Any]]) -> str:
    yaml = YAML()
    yaml.default_flow_style = False
    out = io.StringIO()
    yaml.dump_all(list(docs), out)
    return out.getvalue()


def write(manifests: Manifests, target: Path) -> list[Path]:
    """Write everything into ``target`` (created; files of ours are replaced, other
    files left alone). Returns the paths written."""
    written: list[Path] = []
    try:
        (target / "secrets").mkdir(parents=True, exist_ok=True)
        for name, docs in manifests.files.items():
            path = target / name
            path.write_text(_dump(docs), "utf-8")
            written.append(path)
        path = target / "kustomization.yaml"
        path.write_text(_dump([kustomization(manifests)]), "utf-8")
        written.append(path)
        for secret in manifests.secrets:
            path = target / "secrets" / f"{secret.k8s_name}.yaml"
            path.write_text(
                "# A template without the value: prefer the kubectl line in ../README.md.\n"
                + _dump([secret_manifest(secret, manifests.namespace)]),
                "utf-8",
            )
            written.append(path)
        path = target / "README.md"
        path.write_text(readme(manifests), "utf-8")
        written.append(path)
    except OSError as exc:
        raise StoreError(
            f"Could not write the manifests to {target}: {exc.strerror}.",
            hint="Pick a directory you can write to.",
        ) from exc
    return written


def readme(m: Manifests) -> str:
    """What to do with the directory: secrets, identity provider, apply, clients."""
    ns = m.namespace
    lines = [
        "# Switchboard export for a team cluster (ToolHive operator)",
        "",
        f"Written by `switchboard export --kubernetes` for the ToolHive operator CRDs "
        f"`toolhive.stacklok.dev/v1beta1` (chart `toolhive-operator-crds` {CRD_CHART_VERSION}).",
        "",
        "## 1. Secrets (values never leave your keyring)",
        "",
    ]
    if m.secrets:
        lines.append(
            "Create each secret in the cluster, pasting the value you keep in your keyring "
            "(shown by your desktop's password manager, e.g. Seahorse or Keychain Access, "
            "under the Switchboard service) when asked:"
        )
        lines.append("")
        lines.append("```sh")
        for s in m.secrets:
            lines.append(
                f"read -rsp 'Value of {s.keyring_name}: ' V && echo && kubectl create secret "
                f'generic {s.k8s_name} -n {ns} --from-literal={DATA_KEY}="$V"; unset V'
            )
        lines.append("```")
        lines.append("")
        for s in m.secrets:
            lines.append(
                f"- `{s.k8s_name}`: keyring secret `{s.keyring_name}`, used as "
                f"{', '.join(s.env)} by {', '.join(s.servers)}"
            )
        lines.append("")
        lines.append(
            "`secrets/` holds templates of these Secrets without values; they are not in "
            "`kustomization.yaml`, so applying it never overwrites a value set with kubectl."
        )
    else:
        lines.append("No server here uses a secret.")
    lines += ["", "## 2. Your identity provider", ""]
    if "oidc.yaml" in m.files:
        state = (
            "**Fill in** `issuer` and `clientId` in `oidc.yaml` (they are placeholders)"
            if m.auth.is_placeholder
            else f"`oidc.yaml` names `{m.auth.issuer}`"
        )
        lines.append(
            f"{state}. In the cluster, tokens come from your team's identity provider, not "
            "from Switchboard: Switchboard's signing keys stay on your computer. Each "
            "endpoint's `audience` is its name unless you exported with `--audience`."
        )
    else:
        lines.append("Nothing here asks for tokens (authorization is off for everything exported).")
    lines += [
        "",
        "## 3. Apply",
        "",
        "```sh",
        f"kubectl create namespace {ns} --dry-run=client -o yaml | kubectl apply -f -",
        f"kubectl apply -k {'.'}",
        f"kubectl get mcpservers,virtualmcpservers -n {ns}",
        "```",
        "",
        "## 4. Point your MCP clients at the cluster",
        "",
        "Expose the VirtualMCPServer (or MCPServer) service (Ingress with TLS, or "
        "`kubectl port-forward`), then on each person's computer:",
        "",
        "```sh",
        "switchboard client connect cursor --remote https://mcp.example.com/NAME/mcp",
        "```",
        "",
        "## What differs from the desktop",
        "",
        "- npm and PyPI servers run in `node` and `uv` base images and fetch their "
        "package at start (the `network` permission profile); pin versions in the args.",
        "- Tokens come from your identity provider (OIDC), served over TLS by your ingress; "
        "consent screens and per-client grants of the desktop do not exist there.",
        "- A server belongs to at most one group (MCPGroup).",
        "- Tool names: the desktop's `server__tool` (prefixFormat `{workload}__`), with "
        "Kubernetes names ('.' and '_' become '-').",
    ]
    if m.skipped:
        lines += ["", "## Not exported", ""]
        lines += [f"- `{name}`: {why}." for name, why in m.skipped]
    if m.notes:
        lines += ["", "## Notes", ""]
        lines += [f"- {note}" for note in m.notes]
    return "\n".join(lines) + "\n"


def servers_from_yaml(text: str, source: str = "the file") -> list[ServerSpec]:
    """Local servers for the MCPServer documents of a YAML file (other kinds are
    ignored); :class:`ValidationError` naming the document for anything unusable."""
    try:
        docs = [d for d in YAML(typ="safe").load_all(text) if d is not None]
    except YAMLError as exc:
        raise ValidationError(
            f"{source} is not valid YAML: {str(exc).splitlines()[0]}",
            hint="Check the file, or export it again.",
        ) from None
    out: list[ServerSpec] = []
    for i, doc in enumerate(docs):
        if not isinstance(doc, dict) or doc.get("kind") != "MCPServer":
            continue
        if not str(doc.get("apiVersion", "")).startswith("toolhive.stacklok.dev/"):
            continue
        out.append(_server(doc, i, source))
    if not out:
        raise ValidationError(
            f"{source} holds no ToolHive MCPServer.",
            hint="Import a manifest with kind: MCPServer (apiVersion toolhive.stacklok.dev/...).",
        )
    return out


def _server(doc: dict[str, Any], index: int, source: str) -> ServerSpec:
    meta: dict[str, Any] = doc["metadata"] if isinstance(doc.get("metadata"), dict) else {}
    spec: dict[str, Any] = doc["spec"] if isinstance(doc.get("spec"), dict) else {}
    name = str(meta.get("name") or "")
    where = f"MCPServer {name or f'#{index + 1}'} in {source}"
    image = spec.get("image")
    if not isinstance(image, str) or not image:
        raise ValidationError(f"{where} has no image.", hint="Set spec.image.")
    args = spec.get("args") or []
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise ValidationError(f"{where}: spec.args must be a list of strings.", hint="Fix it.")
    env = {
        str(e["name"]): str(e.get("value", ""))
        for e in spec.get("env") or []
        if isinstance(e, dict) and "name" in e
    }
    secrets = {
        str(s.get("targetEnvName") or s["name"]).upper().replace("-", "_"): str(s["name"])
        for s in spec.get("secrets") or []
        if isinstance(s, dict) and "name" in s
    }
    annotations: dict[str, Any] = (
        meta["annotations"] if isinstance(meta.get("annotations"), dict) else {}
    )
    desktop: dict[str, Any] = {}
    raw = annotations.get(ANNOTATION)
    if isinstance(raw, str):
        try:
            loaded = json.loads(raw)
        except ValueError:
            loaded = None
        if isinstance(loaded, dict):
            desktop = {k: v for k, v in loaded.items() if k in _DESKTOP_KEYS}
    if "command" in desktop:
        # The command carries its own environment (docker run -e): not the server's env.
        try:
            own = container_for(str(desktop["command"]), list(desktop.get("args") or [])).env
        except NotExportable:
            own = {}
        env = {k: v for k, v in env.items() if own.get(k) != v}
    command, command_args = desktop_command(image, args, [*env, *secrets])
    data: dict[str, Any] = {
        "name": suggest_name(name) if name else f"server-{index + 1}",
        "command": command,
        "args": list(command_args),
    }
    if env:
        data["env"] = env
    if secrets:
        data["secrets"] = secrets
    transport = spec.get("transport", "stdio")
    if transport != "stdio":
        port = spec.get("mcpPort") or spec.get("proxyPort") or 8080
        data["transport"] = transport
        data["url"] = f"http://127.0.0.1:{port}/{'sse' if transport == 'sse' else 'mcp'}"
    data.update(desktop)
    try:
        return ServerSpec.from_dict(data)
    except ValidationError as exc:
        raise ValidationError(f"{where}: {exc.message}", hint=exc.hint) from None
