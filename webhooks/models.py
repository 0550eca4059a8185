"""Inbound webhook endpoints of a project and the durable inbox of what they received.

A `WebhookEndpoint` is one URL (`/webhooks/in/<token>/`, only the token's SHA-256 is stored)
with a verification scheme and a handler. Every verified event becomes an `InboundEvent`, a
row of the delivery engine (`Deliverable`, kind `webhooks_inbound`): written on receipt, unique
per (endpoint, event id), processed after commit by the handler, retried, visible and
replayable (docs/WEBHOOKS.md).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from identity.crypto import EncryptedTextField
from notifications.delivery import Deliverable, DeliveryStatus
from webhooks.constants import MAX_EVENT_ID_LENGTH, WebhookScheme

SECRET_PURPOSE = "webhook-endpoint-secret"
BODY_PURPOSE = "webhook-inbound-body"


class WebhookEndpoint(models.Model):
    """One inbound endpoint of a project; written only by webhooks.services."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(
        "accounts.Project", on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    name = models.CharField(max_length=120)
    scheme = models.CharField(max_length=16, choices=WebhookScheme.choices)
    handler = models.CharField(max_length=64)  # a name in the handler registry (webhooks/handlers/)
    # sha256 hex of the URL token (oauth.tokens.token_checksum); the token itself is never stored.
    token_checksum = models.CharField(max_length=64, unique=True, editable=False)
    # The first characters of the token, to recognise a URL in lists (not enough to guess it).
    token_prefix = models.CharField(max_length=8, editable=False)
    # `basic`: the project's OAuth client whose id and secret the sender presents.
    client = models.ForeignKey(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # `stripe`, `standard`: the signing secret (whsec_…); `okta`: the Authorization header value.
    # Encrypted: verification needs the plain value.
    secret = EncryptedTextField(purpose=SECRET_PURPOSE, blank=True)
    previous_secret = EncryptedTextField(purpose=SECRET_PURPOSE, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    secret_rotated_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "name"], name="webhooks_endpoint_name_unique_per_project"
            )
        ]

    def __str__(self) -> str:
        return self.name


class InboundEventStatus(models.TextChoices):
    """The engine's statuses (DeliveryStatus) in the words of an inbox."""

    QUEUED = DeliveryStatus.QUEUED.value, "Queued"
    SENDING = DeliveryStatus.SENDING.value, "Processing"
    SENT = DeliveryStatus.SENT.value, "Processed"
    FAILED = DeliveryStatus.FAILED.value, "Failed (will retry)"
    DEAD = DeliveryStatus.DEAD.value, "Dead (gave up)"


class InboundEvent(Deliverable):
    """One verified event, stored on receipt; processed by the endpoint's handler."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="events")
    # Stripe `id`, `webhook-id`, Okta `uuid`, else the SHA-256 of the body: a second receipt is a no-op.
    event_id = models.CharField(max_length=MAX_EVENT_ID_LENGTH)
    event_type = models.CharField(max_length=200, blank=True)
    # The body as received (an Okta delivery of several events: this event's object). May carry
    # personal data: encrypted at rest.
    body = EncryptedTextField(purpose=BODY_PURPOSE)
    # Only the headers in webhooks.constants.STORED_HEADERS (never Authorization or signatures).
    headers = models.JSONField(default=dict, blank=True)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=InboundEventStatus.choices, default=InboundEventStatus.QUEUED
    )
    # What the handler did, in a sentence ("Deactivated ada@acme.com's membership.").
    outcome = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event_id"], name="webhooks_event_once_per_endpoint")
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["endpoint", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.event_type or 'event'} {self.event_id} ({self.status})"


# --- outbound: a project's event subscriptions and their deliveries ------------------------------

SUBSCRIPTION_SECRET_PURPOSE = "webhook-subscription-secret"
PAYLOAD_PURPOSE = "webhook-event-payload"


class EventSubscription(models.Model):
    """A URL of someone else's that receives some of the project's events, signed per Standard
    Webhooks with the subscription's own `whsec_` secret; written only by webhooks.subscriptions."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(
        "accounts.Project", on_delete=models.CASCADE, related_name="event_subscriptions"
    )
    url = models.CharField(max_length=2000)
    # OutboundEventType values.
    events = models.JSONField(default=list)
    # whsec_<base64 of 32 random bytes>: signing needs the plain value, so encrypted, not hashed.
    secret = EncryptedTextField(purpose=SUBSCRIPTION_SECRET_PURPOSE)
    # After a rotation the previous secret also signs (a second `v1,` signature) for a grace period,
    # so the receiver can switch secrets without dropping events.
    previous_secret = EncryptedTextField(purpose=SUBSCRIPTION_SECRET_PURPOSE, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    secret_rotated_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    # Why the server disabled it (410 Gone, failing for a day); "" when an admin did or it is active.
    disabled_reason = models.CharField(max_length=300, blank=True)
    # The first failure since the last success; a day of failures disables the subscription.
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.url

    def signing_secrets(self, now) -> list[str]:
        """The secrets every delivery is signed with at `now`: the current one, and the previous
        one until its grace period ends."""
        secrets = [self.secret]
        if self.previous_secret and self.previous_secret_expires_at and self.previous_secret_expires_at > now:
            secrets.append(self.previous_secret)
        return secrets


class EventDelivery(Deliverable):
    """One event owed to one subscription: a row of the delivery engine (kind `webhook_event`).

    Its id is the `webhook-id` on every attempt and replay, so the receiver can dedupe.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    subscription = models.ForeignKey(EventSubscription, on_delete=models.CASCADE, related_name="deliveries")
    event_type = models.CharField(max_length=64)
    # The audit event it was made from.
    audit_event_id = models.UUIDField()
    # The exact JSON body sent (`{"type", "timestamp", "data"}`); personal data: encrypted at rest.
    payload = EncryptedTextField(purpose=PAYLOAD_PURPOSE)
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED)
    last_response_code = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["subscription", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.pk} ({self.status})"
