"""Retention of the audit log (beat, daily)."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings

from audit.services import audit_events_purge
from identity.clock import clock


@shared_task(ignore_result=True)
def purge_audit_events() -> int:
    """Delete events older than AUDIT_RETENTION_DAYS (0: keep everything, the default)."""
    days = int(getattr(settings, "AUDIT_RETENTION_DAYS", 0) or 0)
    if days <= 0:
        return 0
    return audit_events_purge(before=clock.now() - timedelta(days=days))
