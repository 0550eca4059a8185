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
    event = _audit_event_new(
        action=action,
        actor=actor,
        project=project,
        target=target,
        target_label=target_label,
        outcome=outcome,
        details=details,
    )
    event.save(force_insert=True)
    return event


def audit_record_many(*, events: list[dict[str, Any]]) -> list[AuditEvent]:
    """Record several events (each a dict of `audit_record`'s arguments) in one INSERT, in order.

    The same rows as one `audit_record` call each; for a batch of work (a bulk invite's chunk).
    `bulk_create` sends no `post_save`, so `audit.signals.events_recorded` tells its listeners
    (the webhooks' fan-out) instead, in the caller's transaction like `post_save` would.
    """
    from audit.signals import events_recorded

    built = [_audit_event_new(**event) for event in events]
    if not built:
        return []
    AuditEvent.objects.bulk_create(built)
    events_recorded.send(sender=AuditEvent, events=built)
    return built


def _audit_event_new(
    *,
    action: AuditAction | str,
    actor: Actor | None = None,
    project=None,
    target: models.Model | None = None,
    target_label: str = "",
    outcome: AuditOutcome | str = AuditOutcome.SUCCESS,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """The event's row, unsaved: the one place that says what an event holds (secrets scrubbed)."""
    actor = actor or Actor.system()
    return AuditEvent(
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
