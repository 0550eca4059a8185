"""Celery tasks: thin wrappers that load ids and call outbox services."""

from __future__ import annotations

from celery import shared_task

from notifications import services
from notifications.models import MessageStatus


@shared_task(bind=True, acks_late=True, max_retries=None, ignore_result=True)
def deliver_message(self, message_id: str) -> str:
    """Send one outbound message; on a transient failure, come back after the backoff."""
    outcome = services.message_deliver(message_id=message_id)
    if outcome.status == MessageStatus.FAILED and outcome.retry_in is not None and not self.request.is_eager:
        # The row already says when to retry; this only makes it prompt. If publishing
        # the retry fails, the relay still finds the row.
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status


@shared_task(ignore_result=True)
def relay_outbox() -> int:
    """Periodic (beat): publish messages that are due or were abandoned mid-send."""
    return services.outbox_relay()
