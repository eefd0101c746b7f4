"""The bundled catalog is valid server.json per the official registry schema
(2025-12-11): descriptions of at most 100 characters, pinned OCI tags in the
identifier, no ``version: "latest"``."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from switchboard.catalog.catalog import bundled_path

SCHEMA_FILE = Path(__file__).parent / "data" / "server.schema.2025-12-11.json"
SCHEMA_SHA256 = "3fba09590c99f61735d234822279f4223fab9e300c0a81e81c91ab62a4114de0"


def schema() -> dict[str, Any]:
    data = json.loads(SCHEMA_FILE.read_text("utf-8"))
    assert isinstance(data, dict)
    return data


def validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(schema())


def bundled() -> list[dict[str, Any]]:
    data = json.loads(bundled_path().read_text("utf-8"))
    return [item["server"] for item in data["servers"]]


def test_schema_copy_is_the_published_file() -> None:
    assert hashlib.sha256(SCHEMA_FILE.read_bytes()).hexdigest() == SCHEMA_SHA256
    assert schema()["$id"].endswith("/2025-12-11/server.schema.json")
    jsonschema.Draft7Validator.check_schema(schema())


@pytest.mark.parametrize("server", bundled(), ids=lambda s: str(s["name"]))
def test_bundled_entry_validates(server: dict[str, Any]) -> None:
    errors = sorted(validator().iter_errors(server), key=lambda e: list(e.absolute_path))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]
    assert server["$schema"] == schema()["$id"]
    for package in server.get("packages", []):
        if package["registryType"] == "oci":
            assert ":" in package["identifier"].rsplit("/", 1)[-1], "OCI tag belongs in identifier"


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda s: s.update(description="x" * 101), ["description"]),
        (lambda s: s["packages"][0].update(version="latest"), ["packages", 0, "version"]),
    ],
)
def test_the_schema_catches_what_the_issue_found(change: Any, path: list[Any]) -> None:
    server = copy.deepcopy(next(s for s in bundled() if s.get("packages")))
    change(server)
    errors = list(validator().iter_errors(server))
    assert [list(e.absolute_path) for e in errors] == [path]
