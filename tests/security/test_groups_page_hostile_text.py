"""The Groups page shows what member servers send (tool descriptions, errors) as plain
text (QA, issue 14.5): Qt takes a tooltip that looks like HTML for rich text, so a
hostile server's description could draw its own markup, links and local images there."""

from __future__ import annotations

from PySide6.QtGui import QTextDocument
from pytestqt.qtbot import QtBot

from switchboard.core.group import GroupSpec, MemberChoices, ToolChoice
from switchboard.ui.groups.tree import ToolTree

HOSTILE = '<h1>Update now</h1><img src="file:///etc/hosts"><a href="https://evil.example">x</a>'


def _shown(tip: str) -> str:
    """What a tooltip displays (Qt renders it as HTML when it looks like HTML)."""
    doc = QTextDocument()
    doc.setHtml(tip)
    return doc.toPlainText()


def test_member_text_in_tooltips_is_plain(qtbot: QtBot) -> None:
    tree = ToolTree()
    qtbot.addWidget(tree)
    spec = GroupSpec(
        "g",
        servers=("bad", "down"),
        choices={"bad": MemberChoices(tools={"mine": ToolChoice(description=HOSTILE)})},
    )
    listing = {
        "members": [
            {
                "server": "bad",
                "state": "running",
                "error": None,
                "tools": [
                    {"name": "t", "exposed": "bad__t", "description": HOSTILE},
                    {"name": "mine", "exposed": "bad__mine", "description": HOSTILE},
                ],
            },
            {"server": "down", "state": "failed", "error": HOSTILE, "tools": []},
        ]
    }
    tree.show_listing(spec, listing)
    bad, down = tree.topLevelItem(0), tree.topLevelItem(1)
    assert bad is not None and down is not None
    tools = bad.child(0)
    assert tools is not None
    first, second = tools.child(0), tools.child(1)
    assert first is not None and second is not None
    assert _shown(first.toolTip(2)) == HOSTILE
    assert _shown(second.toolTip(2)).startswith(HOSTILE)
    assert _shown(down.toolTip(2)) == HOSTILE
