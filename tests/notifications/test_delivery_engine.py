"""The delivery engine is generic: a new kind is a send() and a classification of errors.

A kind defined here (stored in the outbox table, sent by a function of the test) gets the same
guarantees as email: claimed once, retried with backoff or when the receiver says (Retry-After),
dead on a permanent error or after max attempts, relayed, announced when finished.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from notifications.delivery import (
    PERMANENT,
    DeliveryKind,
    DeliveryStatus,
    Failure,
    RetryPolicy,
    delivery_attempt,
    delivery_relay,
    register_delivery_kind,
    register_relay_hook,
)
from notifications.delivery.registry import _relay_hooks, unregister_delivery_kind
from notifications.models import MessageKind, OutboundMessage
from notifications.signals import delivery_finished

pytestmark = pytest.mark.django_db(transaction=True)


class ReceiverSaysLater(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"503, Retry-After: {seconds:.0f}")
        self.seconds = seconds


class ReceiverRefuses(Exception):
    """A 4xx answer: sending the same request again cannot succeed."""


class PostKind(DeliveryKind):
    """Stands for an HTTP POST kind: behaviour decided by the test through `outcomes`."""

    name = "test_post"
    model_label = "notifications.OutboundMessage"

    def __init__(self) -> None:
        self.outcomes: list[BaseException | None] = []
        self.sent: list[str] = []

    def policy(self) -> RetryPolicy:
        return RetryPolicy(max_attempts=3, backoff_base_seconds=10, backoff_max_seconds=40)

    def send(self, record):
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if outcome is not None:
            raise outcome
        self.sent.append(str(record.pk))
        return {"esp_message_id": f"post-{record.pk}"}

    def classify(self, exc: BaseException) -> Failure:
        if isinstance(exc, ReceiverSaysLater):
            return Failure(retry_after=exc.seconds)
        if isinstance(exc, ReceiverRefuses):
            return Failure(permanent=True, description="HTTP 410 from the receiver")
        return super().classify(exc)


@pytest.fixture
def post_kind():
    kind = register_delivery_kind(PostKind())
    yield kind
    unregister_delivery_kind(kind.name)


@pytest.fixture
def finished():
    events = []

    def record(sender, kind, record_id, status, **kwargs):
        events.append((kind, str(record_id), status))

    delivery_finished.connect(record, dispatch_uid="test_engine_finished")
    yield events
    delivery_finished.disconnect(dispatch_uid="test_engine_finished")


def row(**fields) -> OutboundMessage:
    """A row for the test kind, due now by the application clock (the tests move it)."""
    from identity.clock import clock

    fields.setdefault("next_attempt_at", clock.now())
    return OutboundMessage.objects.create(
        kind=MessageKind.ACCOUNT_NOTICE,
        to_email="receiver@example.test",
        from_email="portal@example.test",
        subject="event",
        body_text="payload",
        idempotency_key=f"test-post:{OutboundMessage.objects.count()}",
        **fields,
    )


def test_success_records_sent_with_the_kinds_extra_columns(post_kind, finished):
    record = row()
    assert delivery_attempt(kind="test_post", record_id=record.pk).status == DeliveryStatus.SENT
    record.refresh_from_db()
    assert record.status == "sent" and record.attempts == 1 and record.esp_message_id == f"post-{record.pk}"
    assert finished == [("test_post", str(record.pk), "sent")]
    # a second attempt finds nothing to claim: never sent twice
    assert delivery_attempt(kind="test_post", record_id=record.pk).status == "sent"
    assert post_kind.sent == [str(record.pk)]


def test_retry_after_from_the_receiver_sets_the_next_attempt(post_kind, clock):
    record = row()
    post_kind.outcomes = [ReceiverSaysLater(3600)]
    outcome = delivery_attempt(kind="test_post", record_id=record.pk)
    record.refresh_from_db()
    assert outcome.status == "failed" and outcome.retry_in == 3600
    assert record.next_attempt_at == clock.now() + timedelta(seconds=3600)  # not the 10-40 s backoff
    assert "Retry-After" in record.last_error
    # not due before the receiver's time, due after it
    assert delivery_attempt(kind="test_post", record_id=record.pk).status == "failed"
    clock.advance(timedelta(seconds=3600))
    assert delivery_attempt(kind="test_post", record_id=record.pk).status == "sent"


def test_retryable_errors_back_off_then_dead_after_max_attempts(post_kind, clock, finished):
    record = row()
    post_kind.outcomes = [ConnectionError("reset"), ConnectionError("reset"), ConnectionError("reset")]
    first = delivery_attempt(kind="test_post", record_id=record.pk)
    assert first.status == "failed" and 5 <= first.retry_in <= 10
    clock.advance(timedelta(seconds=first.retry_in))
    second = delivery_attempt(kind="test_post", record_id=record.pk)
    assert second.status == "failed" and 10 <= second.retry_in <= 20
    clock.advance(timedelta(seconds=second.retry_in))
    assert delivery_attempt(kind="test_post", record_id=record.pk).status == "dead"
    record.refresh_from_db()
    assert record.status == "dead" and record.attempts == 3
    assert finished == [("test_post", str(record.pk), "dead")]


def test_permanent_error_is_dead_at_once_with_the_kinds_description(post_kind):
    record = row()
    post_kind.outcomes = [ReceiverRefuses("410 Gone: https://receiver/secret-path?token=abc")]
    assert delivery_attempt(kind="test_post", record_id=record.pk).status == "dead"
    record.refresh_from_db()
    assert record.attempts == 1 and record.last_error == "HTTP 410 from the receiver"  # not the URL


def test_relay_covers_every_registered_kind_and_runs_relay_hooks(post_kind, clock):
    stale = row(status="sending", claimed_at=clock.now() - timedelta(hours=1), attempts=1)
    calls = []
    register_relay_hook("test_hook", lambda: calls.append("ran"))

    def broken_hook():
        raise RuntimeError("a hook failing never stops the relay")

    register_relay_hook("test_broken", broken_hook)
    try:
        # email's pass publishes the row first (it lives in email's table); the test kind's pass
        # finds nothing left: every kind relays its own model with its own policy.
        published = delivery_relay()
    finally:
        _relay_hooks.pop("test_hook", None)
        _relay_hooks.pop("test_broken", None)
    assert published == 1 and calls == ["ran"]
    stale.refresh_from_db()
    assert stale.status == "sent" and stale.attempts == 2


def test_a_kind_name_cannot_be_taken_twice(post_kind):
    class Impostor(PostKind):
        pass

    with pytest.raises(ValueError, match="already registered"):
        register_delivery_kind(Impostor())


def test_email_with_an_unreadable_body_is_dead_not_mailed(settings, mailoutbox):
    from identity.crypto import UNREADABLE
    from notifications.services import message_deliver

    message = row()
    OutboundMessage.objects.filter(pk=message.pk).update(status="queued")
    settings.ENCRYPTION_KEYS = ["a-key-the-row-was-not-written-with-0123456789"]
    settings.SECRET_KEY = "another-secret-key-the-row-was-not-written-with-0123456789"
    assert OutboundMessage.objects.get(pk=message.pk).body_text == UNREADABLE
    assert message_deliver(message_id=message.pk).status == "dead"
    assert mailoutbox == []
    assert "cannot be decrypted" in OutboundMessage.objects.get(pk=message.pk).last_error


def test_permanent_is_the_default_only_for_permanent_delivery_errors():
    from notifications.delivery import RETRY, PermanentDeliveryError

    kind = DeliveryKind()
    assert kind.classify(PermanentDeliveryError("no")) == PERMANENT
    assert kind.classify(TimeoutError()) == RETRY
