"""The webhooks app's vocabulary and limits (model-free: imported by models, schemes and docs)."""

from __future__ import annotations

from django.db import models


class WebhookScheme(models.TextChoices):
    """How a sender proves a request is theirs (webhooks/schemes/, docs/WEBHOOKS.md)."""

    BASIC = "basic", "HTTP Basic (an OAuth client's id and secret)"
    STRIPE = "stripe", "Stripe signature"
    STANDARD = "standard", "Standard Webhooks signature"
    OKTA = "okta", "Okta event hook (Authorization header)"


# A body above this is refused with 413 before anything else is done with it.
MAX_BODY_BYTES = 256 * 1024
# Signed timestamps (Stripe `t`, Standard Webhooks `webhook-timestamp`) may be this far in the
# past or the future (by identity.clock).
TIMESTAMP_TOLERANCE_SECONDS = 300
# After a secret rotation the previous secret still verifies for this long.
ROTATION_GRACE_SECONDS = 24 * 3600
# Longest event id kept (Stripe `evt_…`, `webhook-id`, Okta `uuid`); longer ones are a 400.
MAX_EVENT_ID_LENGTH = 255
# An Okta verification challenge longer than this is not echoed (400).
MAX_CHALLENGE_LENGTH = 1024
# Request headers kept with an event (lower case). Never Authorization, signatures or cookies.
STORED_HEADERS = (
    "content-type",
    "user-agent",
    "webhook-id",
    "webhook-timestamp",
    "x-request-id",
    "x-okta-request-id",
)


class OutboundEventType(models.TextChoices):
    """What a project's event subscriptions can receive (docs/WEBHOOKS.md, "Outbound events")."""

    USER_INVITED = "user.invited", "A user was invited"
    INVITATION_ACCEPTED = "invitation.accepted", "An invitation was accepted"
    MEMBERSHIP_CREATED = "membership.created", "A membership was created"
    MEMBERSHIP_UPDATED = "membership.updated", "A membership was changed"
    MEMBERSHIP_DEACTIVATED = "membership.deactivated", "A membership was deactivated"
    CLIENT_CREATED = "client.created", "An OAuth client was created"
    CLIENT_SECRET_ROTATED = "client.secret_rotated", "An OAuth client's secret was rotated"
    LOGIN_FAILED = "login.failed", "A sign-in failed"
    WEBHOOK_RECEIVED = "webhook.received", "An inbound webhook event was received"


# The audit action each outbound event type is read from: the audit log is the one place where
# every one of them is already recorded (audit.models.AuditAction values; plain strings here so
# that this module stays model-free).
EVENT_TYPE_OF_AUDIT_ACTION: dict[str, str] = {
    "invitation.created": OutboundEventType.USER_INVITED,
    "invitation.accepted": OutboundEventType.INVITATION_ACCEPTED,
    "membership.created": OutboundEventType.MEMBERSHIP_CREATED,
    "membership.updated": OutboundEventType.MEMBERSHIP_UPDATED,
    "membership.deactivated": OutboundEventType.MEMBERSHIP_DEACTIVATED,
    "client.created": OutboundEventType.CLIENT_CREATED,
    "client.secret_rotated": OutboundEventType.CLIENT_SECRET_ROTATED,
    "user.sign_in_failed": OutboundEventType.LOGIN_FAILED,
    "webhook_event.received": OutboundEventType.WEBHOOK_RECEIVED,
}

# Outbound deliveries: the receiver has this long to answer (connect and read).
OUTBOUND_TIMEOUT_SECONDS = 15
# A subscription whose deliveries have failed for this long is disabled and its owners told.
OUTBOUND_DISABLE_AFTER_SECONDS = 24 * 3600
# The longest stored error and URL of an outbound subscription.
MAX_SUBSCRIPTION_URL_LENGTH = 2000
