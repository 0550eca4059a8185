"""The `webhooks_inbound` kind of delivery: a stored InboundEvent "delivered" to its endpoint's handler.

The engine (notifications/delivery/) claims the row, calls `send()`, records `sent` (shown as
Processed) with the handler's one-sentence outcome, or a failure: retried with backoff, or `dead`
at once when `classify()` says retrying cannot help (the handler refused the event, a service
refused the change, the body cannot be decrypted, the handler is gone).
"""

from __future__ import annotations

import json
from typing import Any

from django.db import transaction

from identity.crypto import is_unreadable
from identity.errors import ApplicationError
from notifications.delivery import (
    PERMANENT,
    RETRY,
    DeliveryKind,
    Failure,
    PermanentDeliveryError,
    RetryPolicy,
)
from webhooks.handlers import HandlerRefused, handler_get, webhook_actor


class HandlerMissing(PermanentDeliveryError):
    """The endpoint names a handler that is no longer registered."""


class InboundDelivery(DeliveryKind):
    name = "webhooks_inbound"
    model_label = "webhooks.InboundEvent"

    def policy(self) -> RetryPolicy:
        return RetryPolicy(max_attempts=8, backoff_base_seconds=10, backoff_max_seconds=600)

    def send(self, record) -> dict[str, Any]:
        endpoint = record.endpoint
        if is_unreadable(record.body):
            raise PermanentDeliveryError("the stored body cannot be decrypted with the configured keys")
        try:
            handler = handler_get(endpoint.handler)
        except LookupError:
            raise HandlerMissing(f"no handler named {endpoint.handler!r} is registered") from None
        try:
            payload = json.loads(record.body)
        except (ValueError, RecursionError):
            payload = None
        with transaction.atomic():  # all of the handler's effects, or none
            outcome = handler.handle(event=record, payload=payload, actor=webhook_actor(endpoint))
        return {"outcome": (outcome or "")[:500]}

    def classify(self, exc: BaseException) -> Failure:
        if isinstance(exc, HandlerRefused | ApplicationError):
            message = exc.message if isinstance(exc, ApplicationError) else str(exc)
            return Failure(permanent=True, description=f"Refused: {message}")
        if isinstance(exc, PermanentDeliveryError):
            return PERMANENT
        return RETRY


inbound_delivery = InboundDelivery()
