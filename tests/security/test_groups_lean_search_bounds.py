"""Lean mode's ``search_tools`` bounds the query it scores (QA, issue 14.4): its cost was
words-in-query x tools x words-per-tool on the event loop, so one client's 4 MB query
held the gateway (every server and group) for about a minute."""

from __future__ import annotations

import pytest

from switchboard.gateway.groups import lean

TOOLS = [
    {"name": f"tool_{i}_read_file", "description": "Reads a file from the disk " * 5}
    for i in range(200)
]


def test_only_the_first_words_of_a_query_count() -> None:
    junk = " ".join(f"zz{i}" for i in range(lean.MAX_QUERY_WORDS))
    assert lean.search(TOOLS, f"{junk} file") == []
    assert lean.search(TOOLS, "read file", 3)[0]["name"] == "tool_0_read_file"


@pytest.mark.timeout(60)
def test_a_huge_query_is_cut_not_scored_word_by_word() -> None:
    query = " ".join(f"w{i:07d}" for i in range(450_000))  # ~4 MB, the body limit
    assert lean.search(TOOLS, query) == []
