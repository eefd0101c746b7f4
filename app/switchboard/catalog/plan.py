"""Turn a catalog entry into a ServerSpec, and show it before it first runs.

npm packages run with ``npx -y pkg@version``, PyPI packages with ``uvx pkg@version``
(or ``pipx run --spec pkg==version pkg`` when uv is missing), OCI images with
``docker run -i --rm`` (or podman). Environment variables marked ``isSecret`` become
secret *references* (values stay in the keyring); other variables get the value the
person gave or the catalog default. Arguments keep their order: runtime arguments,
the package, then package arguments (named ``--flag value`` or positional).
"""

from __future__ import annotations

import dataclasses
import shlex
import shutil
from collections.abc import Callable, Mapping, Sequence

from switchboard.catalog.inputs import SecretInTemplate, fill, registry_args
from switchboard.catalog.model import Argument, CatalogEntry, EnvVar, Package
from switchboard.core.errors import CatalogError, RuntimeMissing, ValidationError
from switchboard.core.spec import ServerSpec, Transport, validate_name

Which = Callable[[str], str | None]

RUNTIMES: dict[str, tuple[str, ...]] = {
    "npm": ("npx",),
    "pypi": ("uvx", "pipx"),
    "oci": ("docker", "podman"),
}
INSTALL_HINTS = {
    "npm": "Install Node.js 18 or newer, which provides npx (e.g. 'apt install nodejs npm', "
    "'brew install node', or the installer from nodejs.org).",
    "pypi": "Install uv, which provides uvx (e.g. 'pipx install uv', 'brew install uv' or "
    "'pip install --user uv'); pipx works as a fallback.",
    "oci": "Install Docker (docker.com) or Podman (e.g. 'apt install podman') and make sure "
    "its daemon is running.",
}
_TRUE = {"1", "true", "yes", "on"}


@dataclasses.dataclass(frozen=True, slots=True)
class SecretNeed:
    """A secret the server reads from ``env``, stored in the keyring as ``secret``."""

    env: str
    secret: str
    description: str
    required: bool


@dataclasses.dataclass(frozen=True, slots=True)
class InstallPlan:
    """Everything that will happen when a catalog entry is installed, for approval."""

    entry: CatalogEntry
    package: Package
    runtime: str
    spec: ServerSpec
    secrets: tuple[SecretNeed, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def argv(self) -> list[str]:
        return [self.spec.command, *self.spec.args]

    @property
    def command_line(self) -> str:
        """The exact command, shell-quoted for display."""
        return shlex.join(self.argv)

    def describe(self) -> str:
        if self.spec.remote:
            lines = [
                f"Server:   {self.spec.name}  ({self.entry.display}, {self.entry.name})",
                f"Remote:   {self.spec.transport.value} at {self.spec.url}",
            ]
            if self.secrets:
                lines.append("Headers (values from the keyring, never written to files):")
                lines += [
                    f"  {n.env} <- secret {n.secret!r}  {n.description}" for n in self.secrets
                ]
            lines += [f"Note:     {n}" for n in self.notes]
            return "\n".join(lines)
        lines = [
            f"Server:   {self.spec.name}  ({self.entry.display}, {self.entry.name})",
            f"Package:  {self.package.registry_type} {self.package.identifier}"
            + (f" {self.package.version}" if self.package.version else ""),
            f"Command:  {self.command_line}",
        ]
        if self.spec.env:
            lines.append("Environment:")
            lines += [f"  {k}={v}" for k, v in self.spec.env.items()]
        if self.secrets:
            lines.append("Secrets (from the keyring, never written to files):")
            for need in self.secrets:
                lines.append(f"  {need.env} <- secret {need.secret!r}  {need.description}".rstrip())
        if self.spec.transport is not Transport.STDIO:
            lines.append(f"Serves:   {self.spec.transport.value} at {self.spec.url}")
        lines += [f"Note:     {n}" for n in self.notes]
        return "\n".join(lines)


def _remote_plan(entry: CatalogEntry, name: str, secrets: Mapping[str, str]) -> InstallPlan:
    """A remote-only entry (or one whose packages cannot run here): ``remotes.py``."""
    from switchboard.catalog.remotes import remote_plan_parts

    package, spec, needs, notes = remote_plan_parts(entry, name, secrets)
    return InstallPlan(
        entry=entry,
        package=package,
        runtime="",
        spec=spec,
        secrets=tuple(SecretNeed(h, ref, d, r) for h, ref, d, r in needs),
        notes=tuple(notes),
    )


def _runtime(package: Package, which: Which) -> str | None:
    for exe in RUNTIMES.get(package.registry_type, ()):
        if which(exe):
            return exe
    return None


def choose_package(
    entry: CatalogEntry, which: Which = shutil.which, registry_type: str | None = None
) -> tuple[Package, str]:
    """The first package whose runtime is installed (or the one asked for)."""
    candidates = [
        p
        for p in entry.packages
        if p.registry_type in RUNTIMES
        and (registry_type is None or p.registry_type == registry_type)
    ]
    if not candidates:
        kinds = ", ".join(sorted({p.registry_type for p in entry.packages})) or "none"
        if registry_type:
            raise CatalogError(
                f"{entry.display} has no {registry_type} package (it has: {kinds}).",
                hint="Leave out --package to pick one automatically.",
            )
        if entry.remotes:
            raise CatalogError(
                f"{entry.display} is a remote server ({entry.remotes[0]}); "
                "Switchboard runs local servers.",
                hint="Connect your client to that URL directly.",
            )
        raise CatalogError(
            f"{entry.display} has no package Switchboard can run (package types: {kinds}).",
            hint="Switchboard runs npm, PyPI and OCI (Docker) packages.",
        )
    for package in candidates:
        runtime = _runtime(package, which)
        if runtime:
            return package, runtime
    first = candidates[0]
    needed = " or ".join(RUNTIMES[first.registry_type])
    raise RuntimeMissing(
        f"{entry.display} needs {needed} to run its {first.registry_type} package "
        f"{first.identifier}, and none was found on PATH.",
        hint=INSTALL_HINTS[first.registry_type],
    )


def _pick(values: Mapping[str, Sequence[str]], *keys: str) -> list[str]:
    for key in keys:
        if key and key in values:
            return list(values[key])
    return []


def _check_choice(what: str, value: str, choices: tuple[str, ...]) -> None:
    if choices and value not in choices:
        raise ValidationError(
            f"{value!r} is not a valid value for {what}.",
            hint=f"Choose one of: {', '.join(choices)}.",
        )


def _arguments(
    args: Sequence[Argument],
    values: Mapping[str, Sequence[str]],
    forwarded: dict[str, str] | None = None,
    spec_name: str = "",
) -> list[str]:
    """argv for ``args``. ``forwarded`` (OCI runtime arguments only) collects
    ``-e NAME={secret}`` arguments as secret environment references instead."""
    out: list[str] = []
    for arg in args:
        given = _pick(values, arg.name, arg.key, arg.value_hint)
        what = arg.name or f"<{arg.key}>"
        if arg.is_flag:
            if any(v.lower() in _TRUE for v in given) or (arg.is_required and not given):
                out.append(arg.name)
            continue
        if arg.value:
            filled = _template(arg, values, forwarded, spec_name, what)
            chosen = [] if filled is None else [filled]
        elif given:
            chosen = given if arg.is_repeated else given[-1:]
        elif arg.default and arg.is_required:
            chosen = [arg.default]
        elif arg.is_required:
            example = arg.value_hint if arg.value_hint not in ("", arg.key) else "VALUE"
            raise ValidationError(
                f"The server needs {what}"
                + (f" ({arg.description.rstrip('.')})" if arg.description else "")
                + ".",
                hint=f"Give it with --arg {arg.key}={example}.",
            )
        else:
            chosen = []
        for value in chosen:
            if not arg.variables:
                _check_choice(what, value, arg.choices)
            out += [arg.name, value] if arg.kind == "named" else [value]
    return out


def _template(
    arg: Argument,
    values: Mapping[str, Sequence[str]],
    forwarded: dict[str, str] | None,
    spec_name: str,
    what: str,
) -> str | None:
    """The argument's fixed ``value`` with its ``{variables}`` filled from the
    person's input; None leaves the argument out. A secret variable is only accepted
    in Docker's ``-e NAME={var}``: the variable is then passed by name (``-e NAME``)
    from a keyring reference, never on the command line."""
    try:
        filled = fill(arg.value, arg.variables, values, what)
    except SecretInTemplate as exc:
        name, sep, rest = arg.value.partition("=")
        if (
            forwarded is None
            or arg.name not in ("-e", "--env")
            or not sep
            or rest != "{" + exc.variable + "}"
        ):
            raise
        if values.get(exc.variable):
            raise ValidationError(
                f"{exc.variable} is a secret; Switchboard does not put secret values in "
                "command lines or its config.",
                hint=f"Store it with 'switchboard secret set {spec_name}.{name}' "
                "(or name another secret with --secret).",
            ) from None
        forwarded.setdefault(name, f"{spec_name}.{name}")
        return None
    if filled is None and arg.is_required:
        raise ValidationError(
            f"The server needs a value for {what}.",
            hint=f"Give its variables with --arg NAME=VALUE ({', '.join(arg.variables)}).",
        )
    return filled


def _environment(
    spec_name: str,
    envs: Sequence[EnvVar],
    env_values: Mapping[str, str],
    secret_names: Mapping[str, str],
    template_values: Mapping[str, Sequence[str]] | None = None,
) -> tuple[dict[str, str], dict[str, str], list[SecretNeed]]:
    template_values = template_values or {}
    env: dict[str, str] = {}
    secrets: dict[str, str] = {}
    needs: list[SecretNeed] = []
    known = {e.name for e in envs}
    for var in envs:
        if var.is_secret:
            if var.name in env_values:
                raise ValidationError(
                    f"{var.name} is a secret; Switchboard does not put secret values in its "
                    "config.",
                    hint=f"Use --secret {var.name} and store the value with "
                    f"'switchboard secret set {spec_name}.{var.name}'.",
                )
            if var.is_required or var.name in secret_names:
                ref = secret_names.get(var.name) or f"{spec_name}.{var.name}"
                secrets[var.name] = ref
                needs.append(SecretNeed(var.name, ref, var.description, var.is_required))
            continue
        if var.name in env_values:
            value = env_values[var.name]
        elif var.value:
            filled = fill(var.value, var.variables, template_values, var.name)
            if filled is None:
                continue
            value = filled
        elif var.is_required and var.default:
            value = var.default
        elif var.is_required:
            raise ValidationError(
                f"The server needs {var.name}"
                + (f" ({var.description.rstrip('.')})" if var.description else "")
                + ".",
                hint=f"Give it with --env {var.name}=VALUE.",
            )
        else:
            continue
        _check_choice(var.name, value, var.choices)
        env[var.name] = value
    for name, value in env_values.items():
        if name not in known:
            env[name] = value  # extra variables the person wants; allowed
    for name, ref in secret_names.items():
        if name not in known:
            secrets[name] = ref
            needs.append(SecretNeed(name, ref, "", True))
    return env, secrets, needs


def plan_install(
    entry: CatalogEntry,
    *,
    name: str | None = None,
    env: Mapping[str, str] | None = None,
    args: Mapping[str, Sequence[str]] | None = None,
    secrets: Mapping[str, str] | None = None,
    registry_type: str | None = None,
    latest: bool = False,
    which: Which = shutil.which,
) -> InstallPlan:
    """Build the plan; raises RuntimeMissing / ValidationError / CatalogError."""
    if entry.status == "deleted":
        raise CatalogError(
            f"{entry.display} was withdrawn from the registry.", hint="Pick another server."
        )
    spec_name = validate_name(name or entry.handle)
    try:
        package, runtime = choose_package(entry, which, registry_type)
    except CatalogError:
        if not entry.remotes or registry_type not in (None, "remote"):
            raise
        return _remote_plan(entry, spec_name, secrets or {})
    values = args or {}
    env_map, secret_map, needs = _environment(
        spec_name, package.environment_variables, env or {}, secrets or {}, values
    )
    version = "" if latest or package.version in ("", "latest") else package.version
    forwarded: dict[str, str] = {}
    is_oci = package.registry_type == "oci"
    runtime_args = _arguments(
        package.runtime_arguments, values, forwarded if is_oci else None, spec_name
    )
    package_args = _arguments(package.package_arguments, values)
    for name, ref in forwarded.items():
        if name not in secret_map:
            ref = (secrets or {}).get(name) or ref
            secret_map[name] = ref
            needs.append(SecretNeed(name, ref, "", True))
    index = registry_args(package, runtime)
    notes: list[str] = []
    if index:
        notes.append(f"Downloads from {index[-1]} (the package's own registry).")
    if package.registry_type == "npm":
        command = runtime
        argv = [
            "-y",
            *index,
            *runtime_args,
            f"{package.identifier}@{version}" if version else package.identifier,
        ]
    elif package.registry_type == "pypi":
        command = runtime
        spec_text = f"{package.identifier}=={version}" if version else package.identifier
        if runtime == "uvx":
            target = f"{package.identifier}@{version}" if version else package.identifier
            argv = [*index, *runtime_args, target]
        else:
            argv = ["run", *index, "--spec", spec_text, *runtime_args, package.identifier]
            notes.append("uv is not installed; using pipx instead (slower first start).")
    else:
        command = runtime
        image = package.identifier
        if version and ":" not in image.rsplit("/", 1)[-1] and "@" not in image:
            image = f"{image}:{version}"
        # `-e NAME` without a value passes the variable through from the environment
        # Switchboard gives the container runtime, so secrets never appear in argv.
        forwards: list[str] = []
        for var in [*env_map, *secret_map]:
            if var not in forwarded:
                forwards += ["-e", var]
        forwards += [x for name in forwarded for x in ("-e", name)]
        argv = ["run", "-i", "--rm", *forwards, *runtime_args, image]
    argv += package_args
    transport = {
        "stdio": Transport.STDIO,
        "streamable-http": Transport.STREAMABLE_HTTP,
        "sse": Transport.SSE,
    }.get(package.transport)
    if transport is None:
        raise CatalogError(
            f"{entry.display} uses the transport {package.transport!r}, "
            "which Switchboard does not know.",
            hint="Pick another package or server.",
        )
    url = None
    if transport is not Transport.STDIO:
        url = package.transport_url
        for key, vals in values.items():
            if vals:
                url = url.replace("{" + key + "}", vals[-1])
        if not url or "{" in url:
            raise ValidationError(
                f"{entry.display} serves HTTP at {package.transport_url!r}; "
                "its placeholders need values.",
                hint="Give them with --arg NAME=VALUE (e.g. --arg port=3001).",
            )
    spec = ServerSpec(
        name=spec_name,
        command=command,
        args=tuple(argv),
        env=env_map,
        secrets=secret_map,
        transport=transport,
        url=url,
        description=entry.description[:500],
    )
    return InstallPlan(entry, package, runtime, spec, tuple(needs), tuple(notes))
