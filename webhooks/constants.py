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
