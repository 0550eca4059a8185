"""Recording audit events. Call `audit_record` from services, inside their transaction."""

from __future__ import annotations

import re
from typing import Any

from django.db import models

from audit.context import Actor
from audit.models import AuditAction, AuditEvent, AuditOutcome

_SECRET_KEY_RE = re.compile(
    r"(pass(word)?|secret|token|key|authorization|cookie|code_verifier|credential)", re.I
)
REDACTED = "[redacted]"


def scrub(value: Any) -> Any:
    """Return `value` with every secret-looking key's value replaced, recursively."""
    if isinstance(value, dict):
        return {
            key: REDACTED if _SECRET_KEY_RE.search(str(key)) else scrub(item) for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrub(item) for item in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def audit_record(
    *,
    action: AuditAction | str,
    actor: Actor | None = None,
    project=None,
    target: models.Model | None = None,
    target_label: str = "",
    outcome: AuditOutcome | str = AuditOutcome.SUCCESS,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    actor = actor or Actor.system()
    return AuditEvent.objects.create(
        action=action,
        outcome=outcome,
        actor_user=actor.user,
        actor_client_id=actor.client_id,
        actor_label=actor.label[:255],
        project=project,
        target_type=target._meta.label if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_label=(target_label or (str(target) if target is not None else ""))[:255],
        ip_address=actor.ip_address,
        user_agent=actor.user_agent[:512],
        details=scrub(details or {}),
    )


def audit_events_purge(*, before) -> int:
    """Delete events older than `before` (retention, AUDIT_RETENTION_DAYS): the one sanctioned
    deletion of an append-only log, set-based (Model.delete stays forbidden). Returns how many."""
    deleted, _ = AuditEvent.objects.filter(created_at__lt=before).delete()
    return deleted
