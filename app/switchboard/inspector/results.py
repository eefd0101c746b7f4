"""What a tool result, a prompt or a resource read holds, in a form both front ends draw.

MCP 2025-11-25 ``server/tools`` (CallToolResult: ``content`` blocks of type ``text``,
``image``, ``audio``, ``resource_link``, ``resource`` (embedded: ``text`` or base64
``blob``); ``structuredContent``; ``isError``), ``server/prompts`` (GetPromptResult:
``messages`` of ``role`` + one content block) and ``server/resources``
(ReadResourceResult: ``contents``, each text or blob). Anything malformed from a server
is shown as JSON, never raises.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
from collections.abc import Mapping
from typing import Any


@dataclasses.dataclass(frozen=True)
class Block:
    """One piece of content: ``kind`` is text, image, audio, link, resource or json."""

    kind: str
    text: str = ""
    """text: the text; link/resource: the URI; json: the block as JSON."""
    mime: str = ""
    data: bytes = b""
    """image/audio/blob resource: the decoded bytes."""
    name: str = ""
    role: str = ""
    """Prompt messages: user or assistant."""

    def summary(self) -> str:
        """One line or the text itself, for a terminal."""
        if self.kind == "text":
            return self.text
        if self.kind in ("image", "audio"):
            return f"[{self.kind} {self.mime or '?'}, {len(self.data)} bytes]"
        if self.kind == "link":
            return f"[resource link {self.text}{f' ({self.name})' if self.name else ''}]"
        if self.kind == "resource":
            head = f"[resource {self.text} {self.mime}]".replace(" ]", "]")
            if self.data:
                return f"{head} {len(self.data)} bytes"
            return f"{head}\n{self.name}" if self.name else head
        return self.text


def _b64(value: Any) -> bytes:
    if not isinstance(value, str):
        return b""
    try:
        return base64.b64decode(value, validate=False)
    except (binascii.Error, ValueError):
        return b""


def block(item: Any, role: str = "") -> Block:
    """One content block (or resource contents entry) as a :class:`Block`."""
    if not isinstance(item, Mapping):
        return Block("json", json.dumps(item), role=role)
    kind = item.get("type")
    mime = str(item.get("mimeType") or "")
    if kind == "text" and isinstance(item.get("text"), str):
        return Block("text", item["text"], role=role)
    if kind in ("image", "audio"):
        return Block(str(kind), mime=mime, data=_b64(item.get("data")), role=role)
    if kind == "resource_link":
        return Block(
            "link", str(item.get("uri", "")), mime, name=str(item.get("name", "")), role=role
        )
    if kind == "resource" and isinstance(item.get("resource"), Mapping):
        return contents(item["resource"], role)
    if kind is None and "uri" in item:  # a ReadResourceResult contents entry
        return contents(item, role)
    return Block("json", json.dumps(item, indent=2, ensure_ascii=False), role=role)


def contents(res: Mapping[str, Any], role: str = "") -> Block:
    """An embedded resource or one entry of ``resources/read``: text in ``name``."""
    uri = str(res.get("uri", ""))
    mime = str(res.get("mimeType") or "")
    if isinstance(res.get("text"), str):
        return Block("resource", uri, mime, name=res["text"], role=role)
    return Block("resource", uri, mime, data=_b64(res.get("blob")), role=role)


@dataclasses.dataclass(frozen=True)
class Outcome:
    """A result as the Inspector shows it."""

    blocks: tuple[Block, ...]
    structured: Any = None
    """``structuredContent`` (None: none)."""
    is_error: bool = False
    description: str = ""


def tool_result(result: Any) -> Outcome:
    """A CallToolResult."""
    if not isinstance(result, Mapping):
        return Outcome((Block("json", json.dumps(result)),), is_error=True)
    items = result.get("content")
    blocks = tuple(block(i) for i in items) if isinstance(items, list) else ()
    return Outcome(blocks, result.get("structuredContent"), bool(result.get("isError") is True))


def prompt_result(result: Any) -> Outcome:
    """A GetPromptResult: each message's content block with its role."""
    if not isinstance(result, Mapping):
        return Outcome((Block("json", json.dumps(result)),))
    messages = result.get("messages")
    blocks = tuple(
        block(m.get("content"), str(m.get("role", "")))
        for m in (messages if isinstance(messages, list) else ())
        if isinstance(m, Mapping)
    )
    return Outcome(blocks, description=str(result.get("description") or ""))


def read_result(result: Any) -> Outcome:
    """A ReadResourceResult."""
    items = result.get("contents") if isinstance(result, Mapping) else None
    if not isinstance(items, list):
        return Outcome((Block("json", json.dumps(result)),))
    return Outcome(tuple(contents(i) if isinstance(i, Mapping) else block(i) for i in items))


def as_text(outcome: Outcome) -> str:
    """The outcome for a terminal: each block's text, then the structured content as
    indented JSON."""
    parts = [(f"{b.role}: " if b.role else "") + b.summary() for b in outcome.blocks]
    if outcome.structured is not None:
        parts.append(json.dumps(outcome.structured, indent=2, ensure_ascii=False))
    return "\n".join(parts)


def annotation_badges(tool: Mapping[str, Any]) -> list[str]:
    """The hints a tool's ``annotations`` give (MCP 2025-11-25 ToolAnnotations), as
    short badges: read-only, destructive, idempotent, open-world. Defaults per the spec:
    destructiveHint true and openWorldHint true unless said otherwise, but only a
    non-read-only tool can be destructive, and hints absent altogether show nothing."""
    notes = tool.get("annotations")
    if not isinstance(notes, Mapping):
        return []
    out = []
    read_only = notes.get("readOnlyHint") is True
    if read_only:
        out.append("read-only")
    elif notes.get("destructiveHint", True) is True:
        out.append("destructive")
    if notes.get("idempotentHint") is True and not read_only:
        out.append("idempotent")
    if notes.get("openWorldHint", True) is True:
        out.append("open-world")
    return out


__all__ = [
    "Block",
    "Outcome",
    "annotation_badges",
    "as_text",
    "block",
    "prompt_result",
    "read_result",
    "tool_result",
]
