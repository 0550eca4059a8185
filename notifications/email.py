"""The email kind of delivery: an OutboundMessage row sent through Django's mail backend (anymail)."""

from __future__ import annotations

import smtplib
from typing import Any

from django.core.mail import EmailMultiAlternatives, get_connection

from identity.crypto import is_unreadable
from notifications import signals
from notifications.app_settings import app_settings
from notifications.delivery import (
    PERMANENT,
    RETRY,
    DeliveryKind,
    Failure,
    PermanentDeliveryError,
    RetryPolicy,
)

# Errors that will not go away by retrying the same message.
PERMANENT_ERRORS: tuple[type[BaseException], ...] = (
    PermanentDeliveryError,
    smtplib.SMTPRecipientsRefused,
    smtplib.SMTPSenderRefused,
    smtplib.SMTPNotSupportedError,
    UnicodeError,
    ValueError,
)
try:  # anymail's own classification, when it is installed (it is a dependency)
    from anymail.exceptions import AnymailInvalidAddress, AnymailRecipientsRefused

    PERMANENT_ERRORS += (AnymailRecipientsRefused, AnymailInvalidAddress)
except ImportError:  # pragma: no cover
    pass


def build_email(message) -> EmailMultiAlternatives:
    if is_unreadable(message.body_text) or is_unreadable(message.body_html):
        # Never mail the placeholder: the body needs a key that is no longer configured.
        raise PermanentDeliveryError("the message body cannot be decrypted with the configured keys")
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.body_text,
        from_email=message.from_email,
        to=[message.to_email],
        reply_to=[message.reply_to] if message.reply_to else None,
        headers={"Message-ID": message.message_id_header, "X-Outbox-Id": str(message.pk)},
        connection=get_connection(),
    )
    if message.body_html:
        email.attach_alternative(message.body_html, "text/html")
    return email


class EmailDelivery(DeliveryKind):
    name = "email"
    model_label = "notifications.OutboundMessage"

    def policy(self) -> RetryPolicy:
        return RetryPolicy(
            max_attempts=app_settings.MAX_ATTEMPTS,
            backoff_base_seconds=app_settings.BACKOFF_BASE_SECONDS,
            backoff_max_seconds=app_settings.BACKOFF_MAX_SECONDS,
            sending_timeout_seconds=app_settings.SENDING_TIMEOUT_SECONDS,
            relay_batch_size=app_settings.RELAY_BATCH_SIZE,
        )

    def send(self, record) -> dict[str, Any]:
        email = build_email(record)
        email.send(fail_silently=False)
        anymail_status = getattr(email, "anymail_status", None)
        return {"esp_message_id": str(getattr(anymail_status, "message_id", None) or "")[:255]}

    def classify(self, exc: BaseException) -> Failure:
        return PERMANENT if isinstance(exc, PERMANENT_ERRORS) else RETRY

    def on_finished(self, record_id, status: str) -> None:
        signals.message_finished.send(sender=self.model, message_id=record_id, status=status)


email_delivery = EmailDelivery()
