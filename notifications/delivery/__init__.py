"""One durable delivery engine for everything the portal must get out of the door.

A *kind* of delivery (email now; outbound webhooks, back-channel logout tokens and inbound
webhook processing next) is one module: a `DeliveryKind` subclass naming its model (a
subclass of `Deliverable`), its `send()` and its `classify()` of errors into retry,
permanent or retry-after. The engine gives every kind the same guarantees:

    queued ──claim──▶ sending ──ok──▶ sent
       ▲                 │
       │            retryable error (attempts < max) ──▶ failed ──(next_attempt_at)──┐
       └──────────────────────────────────────────────────────────────────────────────┘
                         └─ permanent error, or attempts == max ──▶ dead (shown, re-queueable)

* the row is written in the caller's transaction and published to Celery after commit;
* a row is *claimed* with one conditional UPDATE: two workers (or a worker and the relay)
  never send it at the same time, and a `sent` row is never sent again; only the holder of
  the current claim may record the outcome;
* retries back off exponentially with jitter (or as long as the receiver's `Retry-After`
  asks); after `max_attempts` the row is `dead`, never dropped;
* the relay (Celery beat) republishes due rows and rows abandoned mid-send, then runs the
  relay hooks other apps registered (stalled bulk invites);
* after a failed publish, requests stop publishing for a few seconds (broker breaker);
* `delivery_finished` is sent once a final outcome (sent / dead) is recorded.
"""

from notifications.delivery.engine import (
    DeliveryOutcome,
    backoff_seconds,
    broker_breaker,
    delivery_attempt,
    delivery_publish,
    delivery_record_failure,
    delivery_relay,
    delivery_requeue,
    delivery_schedule,
)
from notifications.delivery.kinds import (
    PERMANENT,
    RETRY,
    Deliverable,
    DeliveryKind,
    DeliveryStatus,
    Failure,
    PermanentDeliveryError,
    RetryPolicy,
)
from notifications.delivery.registry import (
    delivery_kind,
    delivery_kinds,
    register_delivery_kind,
    register_relay_hook,
)

__all__ = [
    "PERMANENT",
    "RETRY",
    "Deliverable",
    "DeliveryKind",
    "DeliveryOutcome",
    "DeliveryStatus",
    "Failure",
    "PermanentDeliveryError",
    "RetryPolicy",
    "backoff_seconds",
    "broker_breaker",
    "delivery_attempt",
    "delivery_kind",
    "delivery_kinds",
    "delivery_publish",
    "delivery_record_failure",
    "delivery_relay",
    "delivery_requeue",
    "delivery_schedule",
    "register_delivery_kind",
    "register_relay_hook",
]
