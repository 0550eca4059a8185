"""ESP tracking events arrive through anymail's signed webhooks (its `tracking` signal)."""

from __future__ import annotations

from anymail.signals import tracking
from django.dispatch import receiver

from notifications.services import message_track


@receiver(tracking, dispatch_uid="notifications_track_esp_event")
def handle_tracking(sender, event, esp_name, **kwargs) -> None:
    message_track(
        esp_message_id=event.message_id or "",
        event_type=event.event_type,
        description=event.description or event.mta_response or "",
    )
