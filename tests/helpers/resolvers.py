"""A command resolver for tests (the supervisor's CommandResolver port): answers with a
fixed argv or error and records what it was asked."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from switchboard.core.launch import Launch


class FakeResolver:
    def __init__(self, result: list[str] | None = None, error: Exception | None = None) -> None:
        self.result, self.error = result, error
        self.asked: list[tuple[str, tuple[str, ...]]] = []

    async def __call__(
        self,
        command: str,
        args: Sequence[str],
        *,
        path: str,
        env: Mapping[str, str],
        note: Callable[[str], None],
    ) -> Launch | None:
        self.asked.append((command, tuple(args)))
        note("resolving for the test")
        if self.error is not None:
            raise self.error
        return Launch(tuple(self.result), ("/resolved/bin",)) if self.result else None
