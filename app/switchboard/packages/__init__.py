"""Run npm and PyPI MCP servers without their package runner (issue 16.1).

``request`` reads ``npx``/``uvx``/``pipx run`` command lines, ``install`` installs one
package version into its own cache directory and finds its program, ``resolver`` is
the supervisor's command resolver. Imports core only (a sibling of supervisor/store).
"""

from switchboard.packages.install import PackageError
from switchboard.packages.request import PackageRequest, parse_command
from switchboard.packages.resolver import PackageResolver

__all__ = ["PackageError", "PackageRequest", "PackageResolver", "parse_command"]
