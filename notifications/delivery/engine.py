"""The engine: claim, attempt, record the outcome, publish, relay. Generic over DeliveryKind."""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, Q

from identity.clock import clock
from notifications import signals
from notifications.delivery.kinds import (
    PENDING_STATUSES,
    Deliverable,
    DeliveryKind,
    DeliveryStatus,
    RetryPolicy,
)
from notifications.delivery.registry import delivery_kind, delivery_kinds, run_relay_hooks

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryOutcome:
    status: str
    retry_in: float | None = None


def _kind(kind: DeliveryKind | str) -> DeliveryKind:
    return delivery_kind(kind) if isinstance(kind, str) else kind


class BrokerBreaker:
    """After a failed publish, skip publishing for a short while (per process).

    With the broker down, every request would otherwise wait for its own connection
    attempt; the rows are safe in the database and the relay publishes them later.
    """

    def __init__(self) -> None:
        self.open_until = 0.0

    def allows(self) -> bool:
        return time.monotonic() >= self.open_until

    def trip(self) -> None:
        from notifications.app_settings import app_settings

        self.open_until = time.monotonic() + app_settings.PUBLISH_COOLDOWN_SECONDS

    def reset(self) -> None:
        self.open_until = 0.0


broker_breaker = BrokerBreaker()


def backoff_seconds(attempt: int, policy: RetryPolicy | None = None) -> float:
    """Exponential backoff with jitter, capped: uniform in [ceiling/2, ceiling]."""
    if policy is None:
        from notifications.email import EmailDelivery

        policy = EmailDelivery().policy()
    ceiling = min(policy.backoff_max_seconds, policy.backoff_base_seconds * (2 ** max(attempt - 1, 0)))
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not security


def _due(policy: RetryPolicy, now: datetime) -> Q:
    stale = now - timedelta(seconds=policy.sending_timeout_seconds)
    return Q(status__in=PENDING_STATUSES, next_attempt_at__lte=now) | Q(
        status=DeliveryStatus.SENDING, claimed_at__lt=stale
    )


def _claim(kind: DeliveryKind, record_id) -> datetime | None:
    """Take a row for sending with one conditional UPDATE; the claim's timestamp is its identity."""
    now = clock.now()
    updated = kind.model.objects.filter(_due(kind.policy(), now), pk=record_id).update(
        status=DeliveryStatus.SENDING, attempts=F("attempts") + 1, claimed_at=now, updated_at=now
    )
    return now if updated == 1 else None


def _holding(kind: DeliveryKind, record_id, claim: datetime):
    """The row, only while this claim holds it (a send that outlived the sending timeout may have
    been re-claimed by the relay meanwhile: its outcome is no longer ours to record)."""
    return kind.model.objects.filter(pk=record_id, status=DeliveryStatus.SENDING, claimed_at=claim)


def _finished(kind: DeliveryKind, record_id, status: str) -> None:
    signals.delivery_finished.send(sender=kind.model, kind=kind.name, record_id=record_id, status=status)
    kind.on_finished(record_id, status)


def delivery_attempt(*, kind: DeliveryKind | str, record_id) -> DeliveryOutcome:
    """Send one row if it is due and not already sent. Safe to call any number of times."""
    kind = _kind(kind)
    claim = _claim(kind, record_id)
    if claim is None:
        status = kind.model.objects.filter(pk=record_id).values_list("status", flat=True).first()
        return DeliveryOutcome(status=status or "missing")
    record = kind.model.objects.get(pk=record_id)
    try:
        extra: dict[str, Any] = kind.send(record) or {}
    except Exception as exc:
        return delivery_record_failure(kind=kind, record=record, exc=exc, claim=claim)
    now = clock.now()
    recorded = _holding(kind, record.pk, claim).update(
        status=DeliveryStatus.SENT, sent_at=now, last_error="", updated_at=now, **extra
    )
    if recorded:
        _finished(kind, record.pk, DeliveryStatus.SENT)
    return DeliveryOutcome(status=DeliveryStatus.SENT)


def delivery_record_failure(
    *, kind: DeliveryKind | str, record: Deliverable, exc: BaseException, claim: datetime
) -> DeliveryOutcome:
    """Classify a failed attempt: `dead` (permanent or out of attempts) or `failed` with a next time."""
    kind = _kind(kind)
    policy = kind.policy()
    failure = kind.classify(exc)
    # Only what the kind allows (default: the exception class and its text), never the payload.
    error = (failure.description or f"{exc.__class__.__name__}: {exc}")[:2000]
    now = clock.now()
    if failure.permanent or record.attempts >= policy.max_attempts:
        recorded = _holding(kind, record.pk, claim).update(
            status=DeliveryStatus.DEAD, last_error=error, updated_at=now
        )
        if recorded:
            _finished(kind, record.pk, DeliveryStatus.DEAD)
        logger.error(
            "%s delivery %s is dead after %s attempt(s): %s",
            kind.name,
            record.pk,
            record.attempts,
            exc.__class__.__name__,
        )
        return DeliveryOutcome(status=DeliveryStatus.DEAD)
    if failure.retry_after is not None:  # the receiver said when: neither sooner nor (much) later
        delay = min(max(failure.retry_after, 0.0), policy.retry_after_max_seconds)
    else:
        delay = backoff_seconds(record.attempts, policy)
    _holding(kind, record.pk, claim).update(
        status=DeliveryStatus.FAILED,
        last_error=error,
        next_attempt_at=now + timedelta(seconds=delay),
        updated_at=now,
    )
    logger.warning(
        "%s delivery %s attempt %s failed (%s); retry in %.0fs",
        kind.name,
        record.pk,
        record.attempts,
        exc.__class__.__name__,
        delay,
    )
    return DeliveryOutcome(status=DeliveryStatus.FAILED, retry_in=delay)


def delivery_publish(*, kind: DeliveryKind | str, record_id, force: bool = False) -> bool:
    """Hand a row to Celery. Failure to reach the broker is logged, never raised."""
    from notifications.tasks import deliver

    kind = _kind(kind)
    if not force and not broker_breaker.allows():
        return False
    try:
        deliver.delay(kind.name, str(record_id))
    except Exception as exc:  # broker down: the relay will pick the row up
        broker_breaker.trip()
        logger.warning(
            "%s delivery %s could not be published (%s); the relay will retry",
            kind.name,
            record_id,
            exc.__class__.__name__,
        )
        return False
    broker_breaker.reset()
    return True


def delivery_schedule(*, kind: DeliveryKind | str, record_id) -> None:
    """Publish after the current transaction commits (never for a rolled-back row)."""
    name = _kind(kind).name
    transaction.on_commit(lambda: delivery_publish(kind=name, record_id=record_id))


def delivery_requeue(*, kind: DeliveryKind | str, record: Deliverable) -> Deliverable:
    """Queue a row again from scratch (after `dead`, `failed`, …), in the caller's transaction."""
    kind = _kind(kind)
    record.status = DeliveryStatus.QUEUED
    record.attempts = 0
    record.next_attempt_at = clock.now()
    record.last_error = ""
    record.save(update_fields=["status", "attempts", "next_attempt_at", "last_error", "updated_at"])
    delivery_schedule(kind=kind, record_id=record.pk)
    return record


def _relay_kind(kind: DeliveryKind, limit: int | None) -> tuple[int, bool]:
    policy = kind.policy()
    due = (
        kind.model.objects.filter(_due(policy, clock.now()))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[: limit or policy.relay_batch_size]
    )
    published = 0
    for record_id in list(due):
        # The relay always tries (it is how the breaker closes again); it stops at the first failure.
        if not delivery_publish(kind=kind, record_id=record_id, force=True):
            return published, False
        published += 1
    return published, True


def delivery_relay(*, limit: int | None = None) -> int:
    """Publish every row that is due or abandoned mid-send, of every kind; then run the relay
    hooks. Returns how many rows were published."""
    published = 0
    for kind in delivery_kinds():
        count, broker_up = _relay_kind(kind, limit)
        published += count
        if not broker_up:
            break  # the broker is down; everything waits for the next relay pass
    run_relay_hooks()
    return published
