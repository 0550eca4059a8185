"""Email backends for tests that send through real code paths, including a Celery worker process.

Each successful send is recorded (X-Outbox-Id header) in Django's locmem outbox and, when
TEST_MAIL_REDIS_URL is set, pushed onto the Redis list TEST_MAIL_LIST. Importing this module
(the worker does, at its first send) also records every *final outcome* the outbox writes
(`sent:<id>`, `dead:<id>`) on TEST_MAIL_LIST + ":finished", after the status is in the
database, so a test can block on it (BLPOP) instead of polling or sleeping.
"""

from __future__ import annotations

import os
import smtplib

from django.core.mail.backends.locmem import EmailBackend as LocmemBackend

from notifications.signals import delivery_finished, message_finished

SENT_LIST = "test:mail:sent"


def _push(message_ids: list[str]) -> None:
    url = os.environ.get("TEST_MAIL_REDIS_URL")
    if url and message_ids:
        import redis

        redis.Redis.from_url(url).rpush(os.environ.get("TEST_MAIL_LIST", SENT_LIST), *message_ids)


def _record_finished(sender, message_id, status, **kwargs) -> None:
    url = os.environ.get("TEST_MAIL_REDIS_URL")
    if url:
        import redis

        redis.Redis.from_url(url).rpush(
            os.environ.get("TEST_MAIL_LIST", SENT_LIST) + ":finished", f"{status}:{message_id}"
        )


message_finished.connect(_record_finished, dispatch_uid="tests_record_finished")


def _record_delivery_finished(sender, kind, record_id, status, **kwargs) -> None:
    """Any kind's final outcome (`<kind>:<status>:<id>`) on TEST_MAIL_LIST + ":deliveries"."""
    url = os.environ.get("TEST_MAIL_REDIS_URL")
    if url:
        import redis

        redis.Redis.from_url(url).rpush(
            os.environ.get("TEST_MAIL_LIST", SENT_LIST) + ":deliveries", f"{kind}:{status}:{record_id}"
        )


delivery_finished.connect(_record_delivery_finished, dispatch_uid="tests_record_delivery_finished")


class RecordingBackend(LocmemBackend):
    def send_messages(self, messages):
        sent = super().send_messages(messages)
        _push([m.extra_headers.get("X-Outbox-Id", "") for m in messages])
        return sent


class FlakyBackend(RecordingBackend):
    """Fails transiently (the server hung up) on the first TEST_MAIL_FAILURES attempts (default 1)
    of every message, counted per X-Outbox-Id in TEST_MAIL_REDIS_URL (shared by worker processes).

    Deterministic: a test knows exactly how many attempts each message needs.
    """

    def send_messages(self, messages):
        import redis

        client = redis.Redis.from_url(os.environ["TEST_MAIL_REDIS_URL"])
        failures = int(os.environ.get("TEST_MAIL_FAILURES", "1"))
        base = os.environ.get("TEST_MAIL_LIST", SENT_LIST) + ":attempts:"
        for message in messages:
            if client.incr(base + message.extra_headers.get("X-Outbox-Id", "")) <= failures:
                raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed (simulated)")
        return super().send_messages(messages)


class RejectingBackend(RecordingBackend):
    """Every recipient is refused: a permanent error."""

    def send_messages(self, messages):
        raise smtplib.SMTPRecipientsRefused({m.to[0]: (550, b"5.1.1 User unknown") for m in messages})


class AlwaysDownBackend(RecordingBackend):
    def send_messages(self, messages):
        raise smtplib.SMTPConnectError(421, "Service not available (simulated)")
