from __future__ import annotations

from django.db.models import QuerySet

from audit.models import AuditEvent


def audit_event_list(*, project, action: str = "", actor_query: str = "") -> QuerySet[AuditEvent]:
    """Events of one project, newest first (tenant-scoped: never pass project=None from a portal)."""
    qs = AuditEvent.objects.filter(project=project)
    if action:
        qs = qs.filter(action=action)
    if actor_query:
        qs = qs.filter(actor_label__icontains=actor_query)
    return qs.order_by("-created_at")
