"""Celery tasks: thin wrappers that load ids and call the delivery engine."""

from __future__ import annotations

from celery import shared_task

from notifications.delivery import DeliveryStatus, delivery_attempt, delivery_kind, delivery_relay


@shared_task(bind=True, acks_late=True, max_retries=None, ignore_result=True)
def deliver(self, kind: str, record_id: str) -> str:
    """Attempt one delivery of any kind; on a retryable failure, come back after the backoff."""
    outcome = delivery_attempt(kind=kind, record_id=record_id)
    if (
        outcome.status == DeliveryStatus.FAILED
        and outcome.retry_in is not None
        and outcome.retry_in <= delivery_kind(kind).policy().backoff_max_seconds
        and not self.request.is_eager
    ):
        # The row already says when to retry; this only makes it prompt. If publishing the
        # retry fails, or the wait is longer than a countdown may safely be (a long
        # Retry-After), the relay still finds the row.
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status


@shared_task(ignore_result=True)
def deliver_message(message_id: str) -> str:
    """Emails published before the generic `deliver` task existed (kept for tasks in flight)."""
    return delivery_attempt(kind="email", record_id=message_id).status


@shared_task(ignore_result=True)
def relay_outbox() -> int:
    """Periodic (beat): publish deliveries that are due or were abandoned mid-send; relay hooks."""
    return delivery_relay()


@shared_task(ignore_result=True)
def purge_outbox() -> int:
    """Delete finished messages older than OUTBOX_RETENTION_DAYS (0: keep everything, the default)."""
    from datetime import timedelta

    from django.conf import settings

    from identity.clock import clock
    from notifications.services import outbox_purge

    days = int(getattr(settings, "OUTBOX_RETENTION_DAYS", 0) or 0)
    if days <= 0:
        return 0
    return outbox_purge(before=clock.now() - timedelta(days=days))
