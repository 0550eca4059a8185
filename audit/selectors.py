"""Reads of the audit log, always scoped to one project."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import datetime

from django.db.models import Q, QuerySet

from audit.models import AuditEvent

EXPORT_COLUMNS = (
    "created_at",
    "action",
    "outcome",
    "actor_label",
    "actor_client_id",
    "target_type",
    "target_id",
    "target_label",
    "ip_address",
    "user_agent",
    "details",
)


def audit_event_list(
    *,
    project,
    action: str | None = None,
    actor: str | None = None,
    actor_query: str | None = None,
    target: str | None = None,
    outcome: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditEvent]:
    """Events of one project, newest first (tenant-scoped: never pass project=None from a portal).

    `actor` matches the actor's label (an email, `client:<id>`) or client id; `target` the
    target's label or exact id; `since` inclusive, `until` exclusive.
    """
    qs = AuditEvent.objects.filter(project=project)
    if action:
        qs = qs.filter(action=action)
    actor = actor or actor_query
    if actor:
        qs = qs.filter(Q(actor_label__icontains=actor) | Q(actor_client_id=actor))
    if target:
        qs = qs.filter(Q(target_label__icontains=target) | Q(target_id=target))
    if outcome:
        qs = qs.filter(outcome=outcome)
    if since:
        qs = qs.filter(created_at__gte=since)
    if until:
        qs = qs.filter(created_at__lt=until)
    return qs.order_by("-created_at", "-id")


class _Echo:
    def write(self, value: str) -> str:
        return value


def audit_events_csv(events: QuerySet[AuditEvent]) -> Iterator[str]:
    """The events as CSV lines (a header first), streamed in chunks: an export of a year of
    events never sits in memory. Cells that a spreadsheet would run as a formula are quoted
    with a leading apostrophe (CSV injection)."""
    writer = csv.writer(_Echo())
    yield writer.writerow(EXPORT_COLUMNS)
    for event in events.iterator(chunk_size=2000):
        row = []
        for column in EXPORT_COLUMNS:
            value = getattr(event, column)
            text = value.isoformat() if isinstance(value, datetime) else ("" if value is None else str(value))
            if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
                text = "'" + text
            row.append(text)
        yield writer.writerow(row)
