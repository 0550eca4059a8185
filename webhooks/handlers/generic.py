"""`generic`: keep the event in the inbox and do nothing else (any scheme)."""

from __future__ import annotations

from typing import Any

from audit.context import Actor
from webhooks.handlers import WebhookHandler


class GenericHandler(WebhookHandler):
    name = "generic"
    label = "Store only (no action)"
    description = "Events are kept in the inbox, visible in the portal and the API; nothing else happens."

    def handle(self, *, event, payload: Any, actor: Actor) -> str:
        return "Stored; this endpoint's handler takes no action."
