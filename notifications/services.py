"""Outbox services: enqueue inside the caller's transaction, deliver at least once, never drop.

Status machine::

    queued ──claim──▶ sending ──ok──▶ sent ──ESP webhook──▶ delivered | bounced | complained
       ▲                 │
       │            transient error (attempts < max) ──▶ failed ──(next_attempt_at)──┐
       └──────────────────────────────────────────────────────────────────────────────┘
                         └─ permanent error, or attempts == max ──▶ dead (shown, resendable)

A message is *claimed* with one conditional UPDATE, so two workers (or a worker
and the relay) can never send it at the same time, and a message already `sent`
is never sent again. A worker killed mid-send leaves `sending` behind; the relay
re-queues it after `OUTBOX_SENDING_TIMEOUT_SECONDS`.
"""

from __future__ import annotations

import logging
import random
import smtplib
import time
from dataclasses import dataclass
from datetime import timedelta

from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from audit.context import Actor
from identity.errors import ApplicationError, ErrorCode
from notifications import signals
from notifications.app_settings import app_settings
from notifications.models import FINAL_STATUSES, PENDING_STATUSES, MessageStatus, OutboundMessage
from notifications.rendering import render_email

logger = logging.getLogger(__name__)


def _now():
    return timezone.now()


class PermanentDeliveryError(Exception):
    """Raised by a backend for a failure that retrying cannot fix."""


# Errors that will not go away by retrying the same message.
PERMANENT_ERRORS: tuple[type[BaseException], ...] = (
    PermanentDeliveryError,
    smtplib.SMTPRecipientsRefused,
    smtplib.SMTPSenderRefused,
    smtplib.SMTPNotSupportedError,
    UnicodeError,
    ValueError,
)
try:  # anymail's own classification, when it is installed (it is a dependency)
    from anymail.exceptions import AnymailInvalidAddress, AnymailRecipientsRefused

    PERMANENT_ERRORS += (AnymailRecipientsRefused, AnymailInvalidAddress)
except ImportError:  # pragma: no cover
    pass


@dataclass(frozen=True)
class DeliveryOutcome:
    status: str
    retry_in: float | None = None


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
    try:
        with transaction.atomic():  # a savepoint: a concurrent twin must not roll back the caller
            message.save(force_insert=True)
    except IntegrityError:
        return OutboundMessage.objects.get(idempotency_key=message.idempotency_key)
    message_id = message.pk
    transaction.on_commit(lambda: message_publish(message_id=message_id))
    return message


class _BrokerBreaker:
    """After a failed publish, skip publishing for a short while (per process).

    With the broker down, every request would otherwise wait for its own connection
    attempt; the rows are safe in the database and the relay publishes them later.
    """

    def __init__(self) -> None:
        self.open_until = 0.0

    def allows(self) -> bool:
        return time.monotonic() >= self.open_until

    def trip(self) -> None:
        self.open_until = time.monotonic() + app_settings.PUBLISH_COOLDOWN_SECONDS

    def reset(self) -> None:
        self.open_until = 0.0


broker_breaker = _BrokerBreaker()


def message_publish(*, message_id, force: bool = False) -> bool:
    """Hand a message to Celery. Failure to reach the broker is logged, never raised."""
    from notifications.tasks import deliver_message

    if not force and not broker_breaker.allows():
        return False
    try:
        deliver_message.delay(str(message_id))
    except Exception as exc:  # broker down: the relay will pick the row up
        broker_breaker.trip()
        logger.warning(
            "outbox: could not publish message %s (%s); the relay will retry",
            message_id,
            exc.__class__.__name__,
        )
        return False
    broker_breaker.reset()
    return True


def _claim(message_id):
    """Take a message for sending; returns the claim's timestamp (its identity), or None."""
    now = _now()
    stale = now - timedelta(seconds=app_settings.SENDING_TIMEOUT_SECONDS)
    claimable = Q(status__in=PENDING_STATUSES, next_attempt_at__lte=now) | Q(
        status=MessageStatus.SENDING, claimed_at__lt=stale
    )
    updated = OutboundMessage.objects.filter(claimable, pk=message_id).update(
        status=MessageStatus.SENDING, attempts=F("attempts") + 1, claimed_at=now, updated_at=now
    )
    return now if updated == 1 else None


def backoff_seconds(attempt: int) -> float:
    """Exponential backoff with full jitter, capped (AWS architecture blog's 'full jitter')."""
    ceiling = min(
        app_settings.BACKOFF_MAX_SECONDS, app_settings.BACKOFF_BASE_SECONDS * (2 ** max(attempt - 1, 0))
    )
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not security


def _build_email(message: OutboundMessage) -> EmailMultiAlternatives:
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.body_text,
        from_email=message.from_email,
        to=[message.to_email],
        reply_to=[message.reply_to] if message.reply_to else None,
        headers={"Message-ID": message.message_id_header, "X-Outbox-Id": str(message.pk)},
        connection=get_connection(),
    )
    if message.body_html:
        email.attach_alternative(message.body_html, "text/html")
    return email


def message_deliver(*, message_id) -> DeliveryOutcome:
    """Send one message if it is due and not already sent. Safe to call any number of times."""
    claim = _claim(message_id)
    if claim is None:
        status = OutboundMessage.objects.filter(pk=message_id).values_list("status", flat=True).first()
        return DeliveryOutcome(status=status or "missing")
    message = OutboundMessage.objects.get(pk=message_id)
    try:
        email = _build_email(message)
        email.send(fail_silently=False)
    except Exception as exc:
        return _record_failure(message, exc, claim)
    anymail_status = getattr(email, "anymail_status", None)
    esp_id = getattr(anymail_status, "message_id", None) or ""
    # Only the holder of this claim may record its outcome (a send that outlived the sending
    # timeout may have been re-claimed by the relay meanwhile).
    recorded = OutboundMessage.objects.filter(
        pk=message.pk, status=MessageStatus.SENDING, claimed_at=claim
    ).update(
        status=MessageStatus.SENT,
        sent_at=_now(),
        last_error="",
        esp_message_id=str(esp_id)[:255],
        updated_at=_now(),
    )
    if recorded:
        signals.message_finished.send(
            sender=OutboundMessage, message_id=message.pk, status=MessageStatus.SENT
        )
    return DeliveryOutcome(status=MessageStatus.SENT)


def _record_failure(message: OutboundMessage, exc: Exception, claim) -> DeliveryOutcome:
    # Only the exception class and its text: never the message body (it may carry a link).
    error = f"{exc.__class__.__name__}: {exc}"[:2000]
    permanent = isinstance(exc, PERMANENT_ERRORS)
    if permanent or message.attempts >= app_settings.MAX_ATTEMPTS:
        recorded = OutboundMessage.objects.filter(
            pk=message.pk, status=MessageStatus.SENDING, claimed_at=claim
        ).update(status=MessageStatus.DEAD, last_error=error, updated_at=_now())
        if recorded:
            signals.message_finished.send(
                sender=OutboundMessage, message_id=message.pk, status=MessageStatus.DEAD
            )
        logger.error(
            "outbox: message %s is dead after %s attempt(s): %s",
            message.pk,
            message.attempts,
            exc.__class__.__name__,
        )
        return DeliveryOutcome(status=MessageStatus.DEAD)
    delay = backoff_seconds(message.attempts)
    OutboundMessage.objects.filter(pk=message.pk, status=MessageStatus.SENDING, claimed_at=claim).update(
        status=MessageStatus.FAILED,
        last_error=error,
        next_attempt_at=_now() + timedelta(seconds=delay),
        updated_at=_now(),
    )
    logger.warning(
        "outbox: message %s attempt %s failed (%s); retry in %.0fs",
        message.pk,
        message.attempts,
        exc.__class__.__name__,
        delay,
    )
    return DeliveryOutcome(status=MessageStatus.FAILED, retry_in=delay)


def outbox_relay(*, limit: int | None = None) -> int:
    """Publish every message that is due (queued/failed) or abandoned mid-send. Returns how many."""
    now = _now()
    stale = now - timedelta(seconds=app_settings.SENDING_TIMEOUT_SECONDS)
    due = (
        OutboundMessage.objects.filter(
            Q(status__in=PENDING_STATUSES, next_attempt_at__lte=now)
            | Q(status=MessageStatus.SENDING, claimed_at__lt=stale)
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[: limit or app_settings.RELAY_BATCH_SIZE]
    )
    published = 0
    for message_id in list(due):
        # The relay always tries (it is how the breaker closes again); it stops at the first failure.
        if not message_publish(message_id=message_id, force=True):
            break  # the broker is down; try again on the next relay run
        published += 1
    return published


@transaction.atomic
def message_resend(*, message: OutboundMessage, actor: Actor) -> OutboundMessage:
    """Queue a message again (after `dead`, `failed`, `bounced`…). Not while it is being sent."""
    from audit.models import AuditAction
    from audit.services import audit_record

    message = OutboundMessage.objects.select_for_update().get(pk=message.pk)
    if message.status in (MessageStatus.SENDING, MessageStatus.QUEUED):
        raise ApplicationError("This message is already on its way.", code=ErrorCode.CONFLICT, status=409)
    message.status = MessageStatus.QUEUED
    message.attempts = 0
    message.next_attempt_at = _now()
    message.last_error = ""
    message.save(update_fields=["status", "attempts", "next_attempt_at", "last_error", "updated_at"])
    audit_record(
        action=AuditAction.MESSAGE_RESENT,
        actor=actor,
        project=message.project,
        target=message,
        target_label=f"{message.get_kind_display()} to {message.to_email}",
    )
    transaction.on_commit(lambda: message_publish(message_id=message.pk))
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
    fields = {"status": status, "tracked_at": _now(), "updated_at": _now()}
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
    "message_deliver",
    "message_enqueue",
    "message_publish",
    "message_resend",
    "message_track",
    "outbox_relay",
]
