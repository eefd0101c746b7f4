"""Catalog entries served remotely (a registry ``server.json``'s ``remotes``: Streamable
HTTP or SSE at an https URL) become remote servers (``ServerSpec(remote=True)``):
Switchboard signs in to them (or sends their secret headers from the keyring) and
clients reach them through the gateway like local servers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from switchboard.catalog.model import CatalogEntry, Package
from switchboard.core.errors import CatalogError
from switchboard.core.spec import ServerSpec, Transport

_TRANSPORTS = {"streamable-http": Transport.STREAMABLE_HTTP, "sse": Transport.SSE}


def remote_options(entry: CatalogEntry) -> list[dict[str, Any]]:
    """The entry's usable remotes (``type`` Switchboard speaks, a URL without
    placeholders), in the registry's order."""
    server = entry.raw.get("server", entry.raw)
    found = server.get("remotes") if isinstance(server, Mapping) else None
    out = []
    for item in found if isinstance(found, list) else []:
        if not isinstance(item, Mapping):
            continue
        url, kind = item.get("url"), item.get("type")
        if isinstance(url, str) and kind in _TRANSPORTS and "{" not in url:
            out.append(dict(item))
    return out


def remote_plan_parts(
    entry: CatalogEntry, name: str, secrets: Mapping[str, str]
) -> tuple[Package, ServerSpec, list[tuple[str, str, str, bool]], list[str]]:
    """(a stand-in package naming the remote, the spec, the header secrets as
    (header, secret name, description, required), notes). Secret headers are kept in
    the keyring; other headers with fixed values are not sent (noted)."""
    options = remote_options(entry)
    if not options:
        raise CatalogError(
            f"{entry.display} lists remotes, but none Switchboard can use.",
            hint="Switchboard connects to Streamable HTTP or SSE remotes at a fixed URL.",
        )
    remote = options[0]
    headers: dict[str, str] = {}
    needs: list[tuple[str, str, str, bool]] = []
    notes = ["A remote server: sign in once in Switchboard ('switchboard signin NAME')."]
    for header in remote.get("headers") or []:
        if not isinstance(header, Mapping) or not isinstance(header.get("name"), str):
            continue
        hname = header["name"]
        if header.get("isSecret"):
            ref = secrets.get(hname) or f"{name}.{hname.lower()}"
            headers[hname] = ref
            needs.append(
                (hname, ref, str(header.get("description") or ""), bool(header.get("isRequired")))
            )
        elif header.get("isRequired"):
            notes.append(f"Header {hname} is not sent (only secret headers are supported).")
    transport = _TRANSPORTS[remote["type"]]
    spec = ServerSpec(
        name=name,
        transport=transport,
        url=remote["url"],
        remote=True,
        headers=headers,
        description=entry.description[:500],
    )
    package = Package(
        registry_type="remote",
        identifier=remote["url"],
        transport=remote["type"],
        transport_url=remote["url"],
    )
    return package, spec, needs, notes
