"""The outbox: written with the change, sent after commit, retried, never dropped, never doubled."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.context import Actor
from notifications.models import MessageKind, MessageStatus, OutboundMessage
from notifications.services import (
    message_deliver,
    message_enqueue,
    message_resend,
    message_track,
    outbox_relay,
)

pytestmark = pytest.mark.django_db(transaction=True)


def enqueue(project=None, **kwargs):
    return message_enqueue(
        kind=MessageKind.PASSWORD_RESET,
        to_email=kwargs.pop("to_email", "someone@example.test"),
        project=project,
        context={"link": "https://portal.test/setpassword/x/secret-link-value", "expires_at": timezone.now()},
        **kwargs,
    )


def test_rollback_leaves_no_row_and_sends_nothing():
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue()
        raise RuntimeError("the change failed")
    assert not OutboundMessage.objects.exists()
    assert mail.outbox == []


def test_commit_writes_one_row_and_sends_after_commit():
    with transaction.atomic():
        message = enqueue()
        assert mail.outbox == []  # not before commit
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.attempts == 1 and message.sent_at
    assert len(mail.outbox) == 1
    assert mail.outbox[0].extra_headers["Message-ID"] == message.message_id_header


def test_bodies_are_encrypted_at_rest():
    message = enqueue()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT body_text, body_html FROM notifications_outboundmessage WHERE id = %s",
            [message.pk.hex if connection.vendor == "sqlite" else message.pk],
        )
        raw_text, raw_html = cursor.fetchone()
    assert "secret-link-value" not in raw_text and "secret-link-value" not in raw_html
    assert "secret-link-value" in OutboundMessage.objects.get(pk=message.pk).body_text


def test_delivering_twice_sends_once():
    message = enqueue()
    assert message_deliver(message_id=message.pk).status == MessageStatus.SENT
    assert len(mail.outbox) == 1


def test_transient_failure_backs_off_then_succeeds(settings):
    settings.EMAIL_BACKEND = "tests.support.mail_backends.AlwaysDownBackend"
    message = enqueue()
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED and message.attempts == 1
    assert "SMTPConnectError" in message.last_error
    assert message.next_attempt_at > timezone.now()
    # not due yet: the relay leaves it alone
    assert outbox_relay() == 0
    OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    settings.EMAIL_BACKEND = "tests.support.mail_backends.RecordingBackend"
    assert outbox_relay() == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.attempts == 2 and message.last_error == ""


def test_gives_up_after_max_attempts_as_dead(settings):
    settings.EMAIL_BACKEND = "tests.support.mail_backends.AlwaysDownBackend"
    settings.OUTBOX_MAX_ATTEMPTS = 3
    message = enqueue()
    for _ in range(2):
        OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
        message_deliver(message_id=message.pk)
    message.refresh_from_db()
    assert message.status == MessageStatus.DEAD and message.attempts == 3


def test_permanent_failure_is_dead_at_once(settings):
    settings.EMAIL_BACKEND = "tests.support.mail_backends.RejectingBackend"
    message = enqueue()
    message.refresh_from_db()
    assert message.status == MessageStatus.DEAD and message.attempts == 1
    assert "User unknown" in message.last_error
    assert outbox_relay() == 0  # dead is never retried by itself


def test_backoff_grows_and_is_capped(settings):
    from notifications.services import backoff_seconds

    settings.OUTBOX_BACKOFF_BASE_SECONDS = 10
    settings.OUTBOX_BACKOFF_MAX_SECONDS = 100
    assert 5 <= backoff_seconds(1) <= 10
    assert 20 <= backoff_seconds(3) <= 40
    assert 50 <= backoff_seconds(10) <= 100


def test_message_abandoned_mid_send_is_requeued_by_the_relay(settings):
    settings.EMAIL_BACKEND = "tests.support.mail_backends.RejectingBackend"
    message = enqueue()
    # simulate a worker killed after claiming: status sending, claimed long ago
    OutboundMessage.objects.filter(pk=message.pk).update(
        status=MessageStatus.SENDING, claimed_at=timezone.now() - timedelta(hours=1), attempts=1
    )
    settings.EMAIL_BACKEND = "tests.support.mail_backends.RecordingBackend"
    assert outbox_relay() == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.attempts == 2


def test_message_being_sent_is_not_claimed_twice():
    message = enqueue()
    OutboundMessage.objects.filter(pk=message.pk).update(
        status=MessageStatus.SENDING, claimed_at=timezone.now()
    )
    assert message_deliver(message_id=message.pk).status == MessageStatus.SENDING
    assert outbox_relay() == 0
    assert len(mail.outbox) == 1  # only the first, original send


def test_idempotency_key_returns_existing_message():
    first = enqueue(idempotency_key="invite:1:1")
    second = enqueue(idempotency_key="invite:1:1")
    assert first.pk == second.pk and OutboundMessage.objects.count() == 1


def test_resend_dead_message(settings, admin_user, project):
    settings.EMAIL_BACKEND = "tests.support.mail_backends.RejectingBackend"
    message = enqueue(project=project)
    settings.EMAIL_BACKEND = "tests.support.mail_backends.RecordingBackend"
    message_resend(message=message, actor=Actor(user=admin_user))
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.attempts == 1


def test_a_late_tracking_event_of_the_first_send_does_not_mark_the_resend(settings, admin_user, project):
    from notifications.services import message_track

    message = enqueue(project=project)
    message.refresh_from_db()
    OutboundMessage.objects.filter(pk=message.pk).update(
        esp_message_id="esp-first", status=MessageStatus.BOUNCED, last_error="mailbox full"
    )
    message.refresh_from_db()
    settings.EMAIL_BACKEND = "tests.support.mail_backends.RejectingBackend"  # the resend did not go out
    message_resend(message=message, actor=Actor(user=admin_user))
    message.refresh_from_db()
    resent_status = message.status
    assert resent_status in (MessageStatus.FAILED, MessageStatus.DEAD)
    # The first send's late events name the old ESP id: they are not this send's.
    assert message_track(esp_message_id="esp-first", event_type="bounced") == 0
    assert message_track(esp_message_id="esp-first", event_type="delivered") == 0
    message.refresh_from_db()
    assert message.status == resent_status and message.esp_message_id == ""


def test_broker_down_at_commit_keeps_row_queued_for_the_relay():
    from identity.celery import app
    from notifications.delivery import broker_breaker
    from notifications.tasks import deliver
    from tests.support.services import broker_unreachable

    with broker_unreachable():
        message = enqueue()
        message.refresh_from_db()
        assert message.status == MessageStatus.QUEUED
        # The request is not held hostage by the broker: publishing retries a bounded number of
        # times, and once it failed the next requests do not even try (the breaker is open).
        assert app.conf.task_publish_retry_policy["max_retries"] <= 2
        assert not broker_breaker.allows()
        publishes = []
        original = deliver.apply_async
        deliver.apply_async = lambda *a, **kw: publishes.append(a) or original(*a, **kw)
        try:
            second = enqueue()
        finally:
            deliver.apply_async = original
        assert publishes == [] and OutboundMessage.objects.get(pk=second.pk).status == MessageStatus.QUEUED
    assert outbox_relay() == 2
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT


class TestOutboxPage:
    def test_lists_filters_and_previews_only_own_project(
        self, admin_client, project, other_project, settings
    ):
        settings.OUTBOX_PREVIEW_ENABLED = True
        settings.EMAIL_BACKEND = "tests.support.mail_backends.RejectingBackend"
        dead = enqueue(project=project, to_email="dead@example.test")
        settings.EMAIL_BACKEND = "tests.support.mail_backends.RecordingBackend"
        enqueue(project=project, to_email="ok@example.test")
        foreign = enqueue(project=other_project, to_email="foreign@example.test")
        url = reverse("portal:outbox", kwargs={"project_slug": project.slug})
        body = admin_client.get(url + "?status=dead").content.decode()
        assert (
            "dead@example.test" in body
            and "ok@example.test" not in body
            and "foreign@example.test" not in body
        )
        detail = admin_client.get(
            reverse("portal:outbox_message", kwargs={"project_slug": project.slug, "message_id": dead.pk})
        )
        assert "User unknown" in detail.content.decode() and "secret-link-value" in detail.content.decode()
        for name in ("portal:outbox_message", "portal:outbox_html", "portal:outbox_resend"):
            foreign_url = reverse(name, kwargs={"project_slug": project.slug, "message_id": foreign.pk})
            assert admin_client.post(foreign_url).status_code in (404, 405)
            assert admin_client.get(foreign_url).status_code in (404, 405)

    def test_preview_can_be_disabled(self, admin_client, project, settings):
        settings.OUTBOX_PREVIEW_ENABLED = False
        message = enqueue(project=project)
        detail = admin_client.get(
            reverse("portal:outbox_message", kwargs={"project_slug": project.slug, "message_id": message.pk})
        )
        assert "secret-link-value" not in detail.content.decode()
        html = admin_client.get(
            reverse("portal:outbox_html", kwargs={"project_slug": project.slug, "message_id": message.pk})
        )
        assert html.status_code == 404

    def test_resend_button(self, admin_client, project, settings):
        settings.EMAIL_BACKEND = "tests.support.mail_backends.RejectingBackend"
        message = enqueue(project=project)
        settings.EMAIL_BACKEND = "tests.support.mail_backends.RecordingBackend"
        admin_client.post(
            reverse("portal:outbox_resend", kwargs={"project_slug": project.slug, "message_id": message.pk})
        )
        message.refresh_from_db()
        assert message.status == MessageStatus.SENT


class TestTrackingWebhook:
    """Mailgun's signed tracking webhook (anymail verifies the HMAC) moves a message to bounced."""

    SIGNING_KEY = "key-test-signing-0123456789"

    def post_event(self, settings, payload, *, signing_key=None):
        settings.ANYMAIL = {
            "MAILGUN_WEBHOOK_SIGNING_KEY": self.SIGNING_KEY,
            "WEBHOOK_SECRET": "hook:secret-pass",
        }
        timestamp, token = str(int(time.time())), "f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5"
        signature = hmac.new(
            (signing_key or self.SIGNING_KEY).encode(), f"{timestamp}{token}".encode(), hashlib.sha256
        ).hexdigest()
        body = {
            "signature": {"timestamp": timestamp, "token": token, "signature": signature},
            "event-data": payload,
        }
        import base64

        auth = "Basic " + base64.b64encode(b"hook:secret-pass").decode()
        return Client().post(
            "/anymail/mailgun/tracking/",
            json.dumps(body),
            content_type="application/json",
            HTTP_AUTHORIZATION=auth,
        )

    def bounced_payload(self, esp_id):
        # Shape of a real Mailgun "failed/permanent" event (from Mailgun's webhook docs).
        return {
            "event": "failed",
            "id": "G9Bn5sl1TC6nu79C8C0bwg",
            "timestamp": time.time(),
            "severity": "permanent",
            "reason": "bounce",
            "recipient": "alice@example.test",
            "message": {"headers": {"message-id": esp_id, "to": "alice@example.test", "subject": "Welcome"}},
            "delivery-status": {
                "code": 550,
                "message": "5.1.1 The email account does not exist",
                "description": "",
            },
            "flags": {
                "is-routed": False,
                "is-authenticated": True,
                "is-system-test": False,
                "is-test-mode": False,
            },
        }

    def test_bounce_updates_the_message(self, settings):
        message = enqueue()
        # what anymail's Mailgun backend reported at send time (angle brackets included)
        OutboundMessage.objects.filter(pk=message.pk).update(esp_message_id="<20261128.abc@mg.example.test>")
        response = self.post_event(settings, self.bounced_payload("20261128.abc@mg.example.test"))
        assert response.status_code == 200
        message.refresh_from_db()
        assert message.status == MessageStatus.BOUNCED and "does not exist" in message.last_error

    def test_bad_signature_is_refused_and_changes_nothing(self, settings):
        message = enqueue()
        # what anymail's Mailgun backend reported at send time (angle brackets included)
        OutboundMessage.objects.filter(pk=message.pk).update(esp_message_id="<20261128.abc@mg.example.test>")
        response = self.post_event(
            settings, self.bounced_payload("20261128.abc@mg.example.test"), signing_key="wrong"
        )
        assert response.status_code == 400
        message.refresh_from_db()
        assert message.status == MessageStatus.SENT

    def test_late_delivered_does_not_hide_a_bounce(self):
        message = enqueue()
        OutboundMessage.objects.filter(pk=message.pk).update(
            esp_message_id="m1", status=MessageStatus.BOUNCED
        )
        message_track(esp_message_id="m1", event_type="delivered")
        message.refresh_from_db()
        assert message.status == MessageStatus.BOUNCED


def test_outcome_of_a_superseded_claim_is_not_recorded(settings):
    """A send that outlived its claim must not overwrite what the new claim holder recorded."""
    from notifications.delivery import delivery_record_failure

    message = enqueue()  # sent once, normally
    late_claim = timezone.now() - timedelta(hours=1)
    OutboundMessage.objects.filter(pk=message.pk).update(
        status=MessageStatus.SENDING, claimed_at=timezone.now()
    )
    delivery_record_failure(
        kind="email",
        record=OutboundMessage.objects.get(pk=message.pk),
        exc=RuntimeError("late worker"),
        claim=late_claim,
    )
    message.refresh_from_db()
    assert message.status == MessageStatus.SENDING and message.last_error == ""
