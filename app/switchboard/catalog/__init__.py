"""Bundled catalog + official MCP registry client, and install plans from them."""

from switchboard.catalog.catalog import Catalog, load_bundled
from switchboard.catalog.model import Argument, CatalogEntry, EnvVar, Package
from switchboard.catalog.plan import InstallPlan, SecretNeed, choose_package, plan_install
from switchboard.catalog.registry import DEFAULT_REGISTRY, RegistryClient, SyncResult

__all__ = [
    "DEFAULT_REGISTRY",
    "Argument",
    "Catalog",
    "CatalogEntry",
    "EnvVar",
    "InstallPlan",
    "Package",
    "RegistryClient",
    "SecretNeed",
    "SyncResult",
    "choose_package",
    "load_bundled",
    "plan_install",
]
