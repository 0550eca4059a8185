"""The transactional outbox: one row per email, written in the caller's transaction.

Delivery (claim, retries, dead, relay) is the generic engine's (notifications/delivery/);
the email kind is notifications/email.py.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from notifications.crypto import EncryptedTextField
from notifications.delivery.kinds import Deliverable, DeliveryStatus


class MessageKind(models.TextChoices):
    WELCOME_SET_PASSWORD = "welcome_set_password", "Welcome / set password"
    WELCOME_VERIFY_EMAIL = "welcome_verify_email", "Welcome / verify email"
    ADDED_TO_PROJECT = "added_to_project", "Added to project"
    PASSWORD_RESET = "password_reset", "Password reset"
    PASSWORD_CHANGED = "password_changed", "Password changed"
    INVITATION_REVOKED = "invitation_revoked", "Invitation revoked"
    ACCOUNT_NOTICE = "account_notice", "Account notice"
    ACCOUNT_LOCKED = "account_locked", "Sign-in locked"


class MessageStatus(models.TextChoices):
    """The engine's statuses (DeliveryStatus), then what the ESP reports after `sent`."""

    QUEUED = DeliveryStatus.QUEUED.value, DeliveryStatus.QUEUED.label
    SENDING = DeliveryStatus.SENDING.value, DeliveryStatus.SENDING.label
    SENT = DeliveryStatus.SENT.value, DeliveryStatus.SENT.label
    FAILED = DeliveryStatus.FAILED.value, DeliveryStatus.FAILED.label
    DEAD = DeliveryStatus.DEAD.value, DeliveryStatus.DEAD.label
    DELIVERED = "delivered", "Delivered"
    BOUNCED = "bounced", "Bounced"
    COMPLAINED = "complained", "Complaint"


# No further delivery attempt happens by itself in these.
FINAL_STATUSES = (
    MessageStatus.SENT,
    MessageStatus.DEAD,
    MessageStatus.DELIVERED,
    MessageStatus.BOUNCED,
    MessageStatus.COMPLAINED,
)


class OutboundMessage(Deliverable):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(
        "accounts.Project", null=True, blank=True, on_delete=models.CASCADE, related_name="outbound_messages"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=40, choices=MessageKind.choices)
    to_email = models.EmailField(max_length=254)
    from_email = models.CharField(max_length=320)
    reply_to = models.CharField(max_length=320, blank=True)
    subject = models.CharField(max_length=255)
    # Bodies may carry set-password links: encrypted at rest.
    body_text = EncryptedTextField()
    body_html = EncryptedTextField(blank=True)
    status = models.CharField(max_length=16, choices=MessageStatus.choices, default=MessageStatus.QUEUED)
    esp_message_id = models.CharField(max_length=255, blank=True, db_index=True)
    tracked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["project", "status", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.to_email} ({self.status})"

    @property
    def message_id_header(self) -> str:
        """A stable Message-ID: a retried send carries the same one, so receivers can dedupe."""
        domain = (self.from_email.rsplit("@", 1)[-1] or "localhost").strip("> ")
        return f"<{self.pk}@{domain}>"
