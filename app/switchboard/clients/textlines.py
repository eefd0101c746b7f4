"""Line arithmetic shared by the TOML and YAML editors' byte-level edits.

Both editors insert a block of lines *after the end of an existing line* (before its
line break) as ``<line break> + block``, and remove a block by taking out the line
break in front of it plus the block itself. Those two operations are exact inverses,
so connecting and then disconnecting a client gives the file back byte for byte.
When an edit does not read back as intended, both refuse with :func:`edit_failed`.
"""

from __future__ import annotations

from switchboard.core.errors import ClientConfigError


def edit_failed(source: str) -> ClientConfigError:
    """The error for an edit of ``source`` that did not read back as intended (the file
    is left as it was)."""
    return ClientConfigError(
        f"Switchboard could not safely edit {source} (the result did not read "
        "back as intended); the file was left as it was.",
        hint="Add the server by hand, or report this file's shape to Switchboard.",
    )


def newline_of(text: str) -> str:
    """The file's line break (a Windows file keeps its CRLF)."""
    return "\r\n" if "\r\n" in text else "\n"


def line_start(text: str, pos: int) -> int:
    return text.rfind("\n", 0, pos) + 1


def line_end(text: str, pos: int) -> int:
    """Offset of the line break ending ``pos``'s line (before a CR), or the text's end."""
    end = text.find("\n", pos)
    if end < 0:
        return len(text)
    return end - 1 if end > 0 and text[end - 1] == "\r" else end


def last_nonblank_end(text: str) -> int:
    """End of the last line with anything but white space on it (0: none)."""
    end = len(text.rstrip())
    return line_end(text, end - 1) if end else 0


def insert_block(text: str, at: int, block: str, nl: str) -> str:
    """Insert ``block`` (lines joined by ``nl``, no final break) after position ``at``,
    which is the end of a line (or 0 for an otherwise blank file)."""
    if at == 0:
        return block + nl + text
    return text[:at] + nl + block + text[at:]


def remove_block(text: str, start: int, end: int, nl: str) -> str:
    """Inverse of :func:`insert_block`: ``start`` is the block's first line start,
    ``end`` the end of its last line (before the line break)."""
    if start == 0:
        if text.startswith(nl, end):
            end += len(nl)
        return text[end:]
    if text[start - len(nl) : start] == nl:
        start -= len(nl)
    elif text[start - 1 : start] == "\n":
        start -= 1
    return text[:start] + text[end:]
