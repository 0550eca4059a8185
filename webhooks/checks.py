"""System checks of the webhooks app's settings (run by `manage.py check`, at startup and in CI)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Tags, Warning, register

# Senders retry for days (Stripe: 3, Okta: 1, Standard Webhooks senders: about 1); an inbox
# event must be kept at least that long for a late retry to be recognised as a duplicate.
MIN_WEBHOOK_RETENTION_DAYS = 7


@register(Tags.compatibility)
def check_webhook_retention(app_configs=None, **kwargs) -> list:
    days = int(getattr(settings, "WEBHOOK_RETENTION_DAYS", 0) or 0)
    if 0 < days < MIN_WEBHOOK_RETENTION_DAYS:
        return [
            Warning(
                f"WEBHOOK_RETENTION_DAYS is {days}: a sender's late retry of a purged event would be "
                "processed a second time.",
                hint=f"Keep finished webhook events at least {MIN_WEBHOOK_RETENTION_DAYS} days, or 0 to keep them.",
                id="webhooks.W001",
            )
        ]
    return []
