"""Retention of the webhook inbox and the outbound delivery log (beat, daily)."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings

from identity.clock import clock
from webhooks.services import webhook_records_purge


@shared_task(ignore_result=True)
def purge_webhook_records() -> int:
    """Delete finished inbox events and deliveries older than WEBHOOK_RETENTION_DAYS (0: keep
    everything, the default)."""
    days = int(getattr(settings, "WEBHOOK_RETENTION_DAYS", 0) or 0)
    if days <= 0:
        return 0
    return webhook_records_purge(before=clock.now() - timedelta(days=days))
