"""One ``initialize`` for a process shared by many clients (MCP 2025-11-25
basic/lifecycle, "Initialization" and "Version Negotiation").

A stdio server process is initialized once, by the gateway, with the first client's
parameters (:func:`upstream_params`); every later client's ``initialize`` is answered
from that first InitializeResult, in the protocol version that client asked for when
the gateway supports it (:func:`negotiated_version`).
"""

from __future__ import annotations

from typing import Any

LATEST_VERSION = "2025-11-25"
SUPPORTED_VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")

GATEWAY_CLIENT_CAPS: dict[str, Any] = {"sampling": {}, "elicitation": {}}
"""What the gateway declares to a shared process on behalf of its clients. Sampling and
elicitation are per request, so the mux can route each one to the client whose call
caused it. Roots are not: a server asks for them and keeps the answer for the whole
connection (server-everything and server-filesystem do), and every client shares that
connection, so one app's workspace paths would become another's. A shared process is
therefore never told of roots (it falls back to its own configuration, e.g.
server-filesystem's directory arguments); ``roots/list`` from it is refused and the
clients' ``notifications/roots/list_changed`` are not passed on."""
PER_CONNECTION_CAPS = frozenset({"roots"})


def declared(caps: object) -> dict[str, Any]:
    """The capabilities a client declared (only object values declare one)."""
    if not isinstance(caps, dict):
        return {}
    return {k: v for k, v in caps.items() if isinstance(k, str) and isinstance(v, dict)}


def upstream_params(params: dict[str, Any], capabilities: dict[str, Any]) -> dict[str, Any]:
    """The process's ``initialize`` params from the first client's (``capabilities``:
    what it declared). The process is initialized once for everyone: only well-formed
    fields of the first client go upstream (a malformed one must not break the server
    for every later client)."""
    requested = params.get("protocolVersion")
    info = params.get("clientInfo")
    if not (
        isinstance(info, dict)
        and isinstance(info.get("name"), str)
        and isinstance(info.get("version"), str)
    ):
        info = {"name": "switchboard", "version": "1"}
    return {
        "protocolVersion": requested if isinstance(requested, str) else LATEST_VERSION,
        "capabilities": {
            **GATEWAY_CLIENT_CAPS,
            **{k: v for k, v in capabilities.items() if k not in PER_CONNECTION_CAPS},
        },
        "clientInfo": info,
    }


def negotiated_version(requested: object, result: dict[str, Any]) -> str:
    """The version to answer a client with, given the process's InitializeResult (which
    this may change). An older client than the one that initialized the process: the
    gateway is its server and supports that version, so it answers with it (lifecycle:
    "MUST respond with the same version"); e.g. no priming events for it."""
    version = str(result.get("protocolVersion", LATEST_VERSION))
    if isinstance(requested, str) and requested in SUPPORTED_VERSIONS and requested < version:
        result["protocolVersion"] = version = requested
    return version
