"""Activity (issue 15.2): every MCP request through the gateway, recorded.

``recorder.py`` implements the gateway's sink (``core/activity.py``) with SQLite on one
writer thread (``store.py``), redaction of opted-in arguments (``redact.py``) and the
servers table's rolling figures (``figures.py``).
"""

from switchboard.activity.figures import Figures
from switchboard.activity.recorder import ActivityRecorder
from switchboard.activity.store import ActivityDB, ActivityEntry, ActivityQuery

__all__ = ["ActivityDB", "ActivityEntry", "ActivityQuery", "ActivityRecorder", "Figures"]
