"""Input templates and package registries of a server.json package.

server.json (2025-12-11 schema, ``Input.value``): "Identifiers wrapped in
``{curly_braces}`` will be replaced with the corresponding properties from the input
``variables`` map. If an identifier in braces is not found in ``variables`` ... the
``{curly_braces}`` substring should remain unchanged." The person gives variables
like arguments (``--arg tz=Europe/Berlin``); a variable's ``default`` applies when
they do not.

``registryBaseUrl`` (``Package``) says which registry the package comes from; a
non-default one is passed to the runtime (``npx --registry URL``,
``uvx --index-url URL``, ``pipx run --index-url URL``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from switchboard.catalog.model import EnvVar, Package
from switchboard.core.errors import CatalogError, ValidationError

_PLACEHOLDER = re.compile(r"\{([^{}\s]+)\}")

DEFAULT_REGISTRIES = {
    "npm": ("https://registry.npmjs.org",),
    "pypi": ("https://pypi.org", "https://pypi.org/simple"),
}


class SecretInTemplate(ValidationError):
    """A template needs a secret variable; it must not land on a command line."""

    def __init__(self, message: str, *, hint: str = "", variable: str = "") -> None:
        super().__init__(message, hint=hint)
        self.variable = variable


def placeholders(template: str, variables: Mapping[str, EnvVar]) -> list[str]:
    """The variables a template uses (unknown ``{...}`` stay text)."""
    return [m.group(1) for m in _PLACEHOLDER.finditer(template) if m.group(1) in variables]


def fill(
    template: str,
    variables: Mapping[str, EnvVar],
    values: Mapping[str, Sequence[str]],
    what: str,
) -> str | None:
    """``template`` with its variables filled in; None when an optional variable has
    no value (the argument is then left out). Raises ValidationError for a missing
    required variable or a value outside ``choices``, SecretInTemplate for a secret."""
    missing = False

    def sub(match: re.Match[str]) -> str:
        nonlocal missing
        key = match.group(1)
        var = variables.get(key)
        if var is None:
            return match.group(0)
        if var.is_secret:
            raise SecretInTemplate(
                f"{what} needs the secret {key} inside its value.",
                hint="Switchboard never puts secrets on a command line.",
                variable=key,
            )
        given = list(values.get(key, ()))
        if given:
            value = given[-1]
        elif var.value:
            value = var.value
        elif var.default:
            value = var.default
        elif var.is_required:
            raise ValidationError(
                f"The server needs {key} for {what}"
                + (f" ({var.description.rstrip('.')})" if var.description else "")
                + ".",
                hint=f"Give it with --arg {key}=VALUE.",
            )
        else:
            missing = True
            return ""
        if var.choices and value not in var.choices:
            raise ValidationError(
                f"{value!r} is not a valid value for {key}.",
                hint=f"Choose one of: {', '.join(var.choices)}.",
            )
        return value

    filled = _PLACEHOLDER.sub(sub, template)
    return None if missing else filled


def registry_args(package: Package, runtime: str) -> list[str]:
    """Runtime options that fetch the package from its ``registryBaseUrl``."""
    base = package.registry_base_url.strip()
    if not base or package.registry_type not in DEFAULT_REGISTRIES:
        return []
    trimmed = base.rstrip("/")
    if trimmed in DEFAULT_REGISTRIES[package.registry_type]:
        return []
    parts = urlsplit(trimmed)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise CatalogError(
            f"Package {package.identifier} names the registry {base!r}, which is not an "
            "http(s) URL.",
            hint="Report it to the server's publisher; pick another package meanwhile.",
        )
    if package.registry_type == "npm":
        return ["--registry", trimmed]
    index = trimmed if trimmed.endswith("/simple") else trimmed + "/simple"
    return ["--index-url", index]
