"""What the supervisor spawns in place of a server's command as written (issue 16.1)."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True, slots=True)
class Launch:
    """The program to run and the directories its environment puts first on PATH
    (``node_modules/.bin`` of an npm install, a venv's ``bin``), as ``npx``/``uvx``
    would have."""

    argv: tuple[str, ...]
    path: tuple[str, ...] = ()
