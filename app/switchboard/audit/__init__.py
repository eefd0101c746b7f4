"""The audit log (issue 15.3): security-relevant events as JSON lines; see
``docs/audit-log.md`` and ``core/audit.py`` (the port producers call)."""

from switchboard.audit.engine import (
    AuditedConfigStore,
    audit_config_change,
    audit_states,
    offline_config_store,
)
from switchboard.audit.log import FILE_NAME, AuditLog, audit_path

__all__ = [
    "FILE_NAME",
    "AuditLog",
    "AuditedConfigStore",
    "audit_config_change",
    "audit_path",
    "audit_states",
    "offline_config_store",
]
