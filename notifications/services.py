"""Outbox services: enqueue an email inside the caller's transaction; re-send; ESP tracking.

Delivery itself (claim, backoff, dead, relay, broker breaker) is the generic engine's
(`notifications/delivery/`); the email kind (`notifications/email.py`) sends and classifies.
After `sent`, the ESP's tracking webhooks move a message to delivered / bounced / complained.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import IntegrityError, transaction

from audit.context import Actor
from identity.clock import clock
from identity.errors import ApplicationError, ErrorCode
from notifications.delivery import (
    DeliveryOutcome,
    PermanentDeliveryError,
    backoff_seconds,
    broker_breaker,
    delivery_attempt,
    delivery_publish,
    delivery_relay,
    delivery_requeue,
    delivery_schedule,
)
from notifications.email import email_delivery
from notifications.models import FINAL_STATUSES, MessageStatus, OutboundMessage
from notifications.rendering import render_email


def message_enqueue(
    *,
    kind: str,
    to_email: str,
    context: dict,
    project=None,
    user=None,
    idempotency_key: str | None = None,
) -> OutboundMessage:
    """Write an outbound email in the current transaction and hand it to Celery after commit.

    If the transaction rolls back, the message never existed. If the broker is
    down at commit time, the row stays `queued` and the relay sends it later.
    With an `idempotency_key` already used, the existing message is returned.
    """
    if idempotency_key:
        existing = OutboundMessage.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing
    message = _message_new(
        kind=kind,
        to_email=to_email,
        context=context,
        project=project,
        user=user,
        idempotency_key=idempotency_key,
    )
    try:
        with transaction.atomic():  # a savepoint: a concurrent twin must not roll back the caller
            message.save(force_insert=True)
    except IntegrityError:
        return OutboundMessage.objects.get(idempotency_key=message.idempotency_key)
    delivery_schedule(kind=email_delivery, record_id=message.pk)
    return message


def messages_enqueue(*, messages: list[dict]) -> list[OutboundMessage]:
    """`message_enqueue` for several emails at once (each a dict of its arguments), in order:
    one query for the idempotency keys already used and one INSERT, in the current transaction;
    each new message is handed to Celery after commit. For a batch of work (a bulk invite's chunk).

    Same rules: a key already used (or used twice in `messages`) gives the existing message.
    If the INSERT meets a concurrent twin (a unique key taken meanwhile), the batch falls back
    to `message_enqueue` one message at a time, which returns the twin.
    """
    keys = [m["idempotency_key"] for m in messages if m.get("idempotency_key")]
    existing = {m.idempotency_key: m for m in OutboundMessage.objects.filter(idempotency_key__in=keys)}
    result: list[OutboundMessage] = []
    new: list[OutboundMessage] = []
    for spec in messages:
        key = spec.get("idempotency_key")
        if key and key in existing:
            result.append(existing[key])
            continue
        message = _message_new(**spec)
        existing[message.idempotency_key] = message
        result.append(message)
        new.append(message)
    if not new:
        return result
    try:
        with transaction.atomic():  # a savepoint, as in message_enqueue
            OutboundMessage.objects.bulk_create(new)
    except IntegrityError:
        return [message_enqueue(**spec) for spec in messages]
    for message in new:
        delivery_schedule(kind=email_delivery, record_id=message.pk)
    return result


def _message_new(
    *,
    kind: str,
    to_email: str,
    context: dict,
    project=None,
    user=None,
    idempotency_key: str | None = None,
) -> OutboundMessage:
    """The message's row, rendered and unsaved (its key: the caller's, else one of its own)."""
    rendered = render_email(kind=kind, project=project, context=context)
    message = OutboundMessage(
        project=project,
        user=user,
        kind=kind,
        to_email=to_email,
        from_email=rendered.from_email,
        reply_to=rendered.reply_to,
        subject=rendered.subject,
        body_text=rendered.body_text,
        body_html=rendered.body_html,
    )
    message.idempotency_key = idempotency_key or f"msg:{message.pk}"
    return message


def message_publish(*, message_id, force: bool = False) -> bool:
    """Hand a message to Celery now. Failure to reach the broker is logged, never raised."""
    return delivery_publish(kind=email_delivery, record_id=message_id, force=force)


def message_deliver(*, message_id) -> DeliveryOutcome:
    """Send one message if it is due and not already sent. Safe to call any number of times."""
    return delivery_attempt(kind=email_delivery, record_id=message_id)


def outbox_relay(*, limit: int | None = None) -> int:
    """The relay pass (every kind of delivery, then relay hooks). Returns how many rows it published."""
    return delivery_relay(limit=limit)


# Apps that put something into a message which can die (a set-password link) say when the message
# must not be sent again; registered in AppConfig.ready() (accounts: superseded/revoked links).
ResendGuard = Callable[[OutboundMessage], "str | None"]
_resend_guards: dict[str, ResendGuard] = {}

MESSAGE_NOT_RESENDABLE = "message_not_resendable"


def register_resend_guard(name: str, guard: ResendGuard) -> None:
    """`guard(message)` returns why the message must not be sent again (plain text), or None."""
    _resend_guards[name] = guard


def message_resend_refusal(*, message: OutboundMessage) -> ApplicationError | None:
    """Why `message` cannot be sent again now, or None: the one rule for the page and the service."""
    if message.status in (MessageStatus.SENDING, MessageStatus.QUEUED):
        return ApplicationError("This message is already on its way.", code=ErrorCode.CONFLICT, status=409)
    for guard in _resend_guards.values():
        reason = guard(message)
        if reason:
            return ApplicationError(reason, code=MESSAGE_NOT_RESENDABLE, status=409)
    return None


@transaction.atomic
def message_resend(*, message: OutboundMessage, actor: Actor) -> OutboundMessage:
    """Queue a message again (after `dead`, `failed`, `bounced`…). Not while it is being sent, and
    not when what it carries is dead (a superseded or revoked invitation's link: `register_resend_guard`)."""
    from audit.models import AuditAction
    from audit.services import audit_record

    message = OutboundMessage.objects.select_for_update().get(pk=message.pk)
    refusal = message_resend_refusal(message=message)
    if refusal is not None:
        raise refusal
    # The resend is a new send: a late tracking event of the previous one (same ESP id) must not
    # mark it delivered or bounced.
    message.esp_message_id = ""
    message.tracked_at = None
    message.save(update_fields=["esp_message_id", "tracked_at", "updated_at"])
    delivery_requeue(kind=email_delivery, record=message)
    audit_record(
        action=AuditAction.MESSAGE_RESENT,
        actor=actor,
        project=message.project,
        target=message,
        target_label=f"{message.get_kind_display()} to {message.to_email}",
    )
    return message


TRACKING_STATUS = {
    "delivered": MessageStatus.DELIVERED,
    "bounced": MessageStatus.BOUNCED,
    "rejected": MessageStatus.BOUNCED,
    "complained": MessageStatus.COMPLAINED,
}


def message_track(*, esp_message_id: str, event_type: str, description: str = "") -> int:
    """Apply an ESP tracking event (delivered/bounced/complained) to the message it names."""
    status = TRACKING_STATUS.get(event_type)
    if not status or not esp_message_id:
        return 0
    now = clock.now()
    fields = {"status": status, "tracked_at": now, "updated_at": now}
    if status != MessageStatus.DELIVERED and description:
        fields["last_error"] = description[:2000]
    # A late "delivered" must not hide an earlier bounce or complaint.
    qs = OutboundMessage.objects.filter(esp_message_id=esp_message_id)
    if status == MessageStatus.DELIVERED:
        qs = qs.filter(status__in=[MessageStatus.SENT, MessageStatus.SENDING])
    return qs.update(**fields)


__all__ = [
    "FINAL_STATUSES",
    "DeliveryOutcome",
    "PermanentDeliveryError",
    "backoff_seconds",
    "broker_breaker",
    "message_deliver",
    "message_enqueue",
    "messages_enqueue",
    "message_publish",
    "message_resend",
    "message_resend_refusal",
    "message_track",
    "outbox_relay",
    "register_resend_guard",
]


def outbox_purge(*, before) -> int:
    """Delete outbox messages in a final state (sent, delivered, bounced, complained, dead) last
    changed before `before` (retention, OUTBOX_RETENTION_DAYS); queued or failing ones stay."""
    from notifications.models import FINAL_STATUSES, OutboundMessage

    deleted, _ = OutboundMessage.objects.filter(status__in=FINAL_STATUSES, updated_at__lt=before).delete()
    return deleted
