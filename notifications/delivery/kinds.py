"""What a kind of delivery is: its rows (`Deliverable`), its sender and its error classification."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from django.apps import apps
from django.db import models

from identity.clock import now as clock_now


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed (will retry)"
    DEAD = "dead", "Dead (gave up)"


# The relay picks these up (when due); `sending` only once its claim went stale.
PENDING_STATUSES = (DeliveryStatus.QUEUED, DeliveryStatus.FAILED)


class Deliverable(models.Model):
    """The engine's columns. A kind's model adds its payload (and may widen `status` choices).

    `status` is declared by the concrete model so that a kind can add statuses after `sent`
    (email's delivered / bounced / complained); the engine only writes DeliveryStatus values.
    """

    attempts = models.PositiveIntegerField(default=0)
    # The engine decides "due" with identity.clock: a new row is due by the same clock.
    next_attempt_at = models.DateTimeField(default=clock_now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class PermanentDeliveryError(Exception):
    """Raised by a sender for a failure that retrying cannot fix."""


@dataclass(frozen=True)
class Failure:
    """How the engine treats an error: retry after backoff, retry when told, or give up."""

    permanent: bool = False
    retry_after: float | None = None  # seconds, from the receiver (HTTP Retry-After)
    description: str | None = None  # what to record instead of the exception text (no secrets)


RETRY = Failure()
PERMANENT = Failure(permanent=True)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    backoff_base_seconds: float = 10
    # Kept below Redis' visibility timeout (1 h) so retry countdowns never outlive it
    # (system check identity.W010).
    backoff_max_seconds: float = 600
    # A row `sending` for longer than this is assumed abandoned (worker killed) and re-queued.
    sending_timeout_seconds: int = 300
    relay_batch_size: int = 500
    # The longest Retry-After honoured; a receiver asking for more is retried after this.
    retry_after_max_seconds: float = 24 * 3600


class DeliveryKind:
    """One kind of delivery. Subclass, set `name` and `model_label`, implement `send`.

    `send(record)` delivers one row or raises; it may return extra column values to store
    with the `sent` status (e.g. the ESP's message id). It must be safe to call again for
    the same row (at-least-once): carry the row's stable id to the receiver so it can dedupe.
    """

    name: ClassVar[str]
    model_label: ClassVar[str]

    @property
    def model(self) -> type[Deliverable]:
        return apps.get_model(self.model_label)

    def policy(self) -> RetryPolicy:
        return RetryPolicy()

    def send(self, record: Any) -> dict[str, Any] | None:
        raise NotImplementedError

    def classify(self, exc: BaseException) -> Failure:
        """Permanent for PermanentDeliveryError; everything else is retried."""
        return PERMANENT if isinstance(exc, PermanentDeliveryError) else RETRY

    def on_finished(self, record_id: Any, status: str) -> None:
        """Called after a final outcome (sent / dead) is recorded; for kind-specific signals."""

    def __repr__(self) -> str:
        return f"<DeliveryKind {self.name}>"
