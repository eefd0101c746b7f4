"""Lean mode (issue 14.4): a group exposes two meta-tools instead of every schema.

``search_tools`` finds the group's tools by words (in the name and the description) and
returns their names, descriptions and input schemas; ``call_tool`` calls one by name.
A model so loads the schemas it needs on demand instead of all of them up front. Both
are ordinary MCP tools (MCP 2025-11-25 server/tools): results are ``TextContent`` with
the JSON, plus ``structuredContent``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

SEARCH = "search_tools"
CALL = "call_tool"
DEFAULT_LIMIT = 10
MAX_LIMIT = 50

META_TOOLS: list[dict[str, Any]] = [
    {
        "name": SEARCH,
        "title": "Search tools",
        "description": (
            "Search the tools of this tool group by words (matched against each tool's "
            "name and description). Returns the matching tools with their input schemas; "
            f"call one with {CALL}."
        ),
        "inputSchema": {
            "type": "object",
            "properties": {
                "query": {"type": "string", "description": "Words describing the task."},
                "limit": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": MAX_LIMIT,
                    "description": f"Most tools to return (default {DEFAULT_LIMIT}).",
                },
            },
            "required": ["query"],
        },
        "annotations": {"readOnlyHint": True},
    },
    {
        "name": CALL,
        "title": "Call a tool",
        "description": (
            f"Call a tool of this group by the name {SEARCH} returned, with arguments "
            "that follow its input schema."
        ),
        "inputSchema": {
            "type": "object",
            "properties": {
                "name": {"type": "string", "description": "The tool's name."},
                "arguments": {"type": "object", "description": "The tool's arguments."},
            },
            "required": ["name"],
        },
    },
]

_WORD = re.compile(r"[A-Za-z0-9]+")


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def search(
    tools: Sequence[dict[str, Any]], query: str, limit: int = DEFAULT_LIMIT
) -> list[dict[str, Any]]:
    """The tools best matching ``query``: a word in the name counts twice, one in the
    description once; a tool matching no word is left out. Ties keep the group's order."""
    wanted = set(_words(query))
    scored: list[tuple[int, int, dict[str, Any]]] = []
    for index, tool in enumerate(tools):
        name_words = set(_words(str(tool.get("name", ""))))
        description = tool.get("description")
        desc_words = set(_words(description)) if isinstance(description, str) else set()
        if not wanted:
            score = 1
        else:
            score = 2 * len(wanted & name_words) + len(wanted & desc_words)
            # Partial words ("file" in "read_file", "files" for "file") count once.
            for word in wanted - name_words - desc_words:
                if len(word) >= 3 and any(
                    word in w or w in word for w in name_words | desc_words if len(w) >= 3
                ):
                    score += 1
        if score:
            scored.append((-score, index, tool))
    scored.sort(key=lambda s: (s[0], s[1]))
    return [
        {
            k: tool[k]
            for k in ("name", "title", "description", "inputSchema", "outputSchema")
            if k in tool
        }
        for _, _, tool in scored[: max(1, min(limit, MAX_LIMIT))]
    ]


def search_result(found: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``tools/call`` result of a search."""
    import json

    return {
        "content": [{"type": "text", "text": json.dumps({"tools": found}, ensure_ascii=False)}],
        "structuredContent": {"tools": found},
    }
