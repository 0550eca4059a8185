"""Delivery with the real parts: PostgreSQL, a Redis broker, a Celery worker process (not eager).

(a) 200 invites through the API → 200 sent, none twice; (b) Redis stopped while 50 invites are
made → every invite succeeds, and once Redis is back all 50 are sent exactly once; (c) a backend
failing every message's first two attempts → all sent on the third; (d) a permanent failure →
`dead`, visible in the outbox; (e) a bulk invite whose publish failed is finished by the relay.
"""

from __future__ import annotations

import os
import shutil
import uuid

import pytest
import redis
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import BulkInvite, BulkInviteStatus
from identity.celery import app as celery_app
from notifications.models import MessageStatus, OutboundMessage
from tests.conftest import require_service
from tests.support.mail_backends import SENT_LIST
from tests.support.services import CeleryWorker, RedisServer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]


@pytest.fixture
def services_ready(redis_url):
    require_service(
        connection.vendor == "postgresql",
        "needs PostgreSQL (set DATABASE_URL): a worker process must share the database",
    )
    binary = shutil.which("redis-server")
    require_service(bool(binary), "needs redis-server to run a private broker")
    return binary


@pytest.fixture
def broker(services_ready, tmp_path):
    server = RedisServer(services_ready, tmp_path)
    server.start()
    celery_app.conf.update(broker_url=server.url, task_always_eager=False)
    celery_app.close()
    yield server
    celery_app.conf.update(broker_url="memory://", task_always_eager=True)
    celery_app.close()
    server.stop()


@pytest.fixture
def mail_log(redis_url):
    """Where the worker's test backend records each send (the suite's own Redis, not the broker)."""
    client = redis.Redis.from_url(redis_url)
    key = f"{SENT_LIST}:{uuid.uuid4()}"
    yield client, key
    client.delete(key, f"{key}:finished", *client.scan_iter(f"{key}:attempts:*"))


@pytest.fixture
def start_worker(broker, mail_log, tmp_path, settings):
    workers = []

    def start(backend: str, **extra_env: str) -> CeleryWorker:
        db = connection.settings_dict
        env = {
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
            "REDIS_URL": broker.url,
            "EMAIL_BACKEND": f"tests.support.mail_backends.{backend}",
            "TEST_MAIL_REDIS_URL": os.environ["REDIS_URL"],
            "TEST_MAIL_LIST": mail_log[1],
            "OUTBOX_RELAY_SECONDS": "1",
            "OUTBOX_BACKOFF_BASE_SECONDS": "0.1",
            "OUTBOX_BACKOFF_MAX_SECONDS": "0.5",
            "OUTBOX_MAX_ATTEMPTS": "40",
            **extra_env,
        }
        worker = CeleryWorker(env=env, workdir=tmp_path)
        worker.start()
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


@pytest.fixture
def api(admin_user):
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


def invite_many(api, project, count: int, prefix: str) -> list[str]:
    emails = [f"{prefix}{n}@example.test" for n in range(count)]
    for email in emails:
        response = api.post(f"/api/v1/projects/{project.pk}/invites/", {"email": email}, format="json")
        assert response.status_code == 201, response.content
    return emails


def await_finished(mail_log, count: int, timeout: float = 90) -> dict[str, str]:
    """Block until the outbox recorded `count` final outcomes; return {message_id: status}.

    The worker pushes an outcome only after it is in the database (notifications' signal), so
    once this returns the rows can be asserted directly.
    """
    client, key = mail_log
    outcomes: dict[str, str] = {}
    for _ in range(count):
        item = client.blpop([f"{key}:finished"], timeout=timeout)
        assert item is not None, f"only {len(outcomes)} of {count} messages finished"
        status, message_id = item[1].decode().split(":", 1)
        assert message_id not in outcomes, f"message {message_id} finished twice"
        outcomes[message_id] = status
    return outcomes


def assert_sent_exactly_once(mail_log, emails) -> None:
    outcomes = await_finished(mail_log, len(emails))
    assert set(outcomes.values()) == {"sent"}
    rows = OutboundMessage.objects.filter(to_email__in=emails)
    assert {str(pk) for pk in rows.values_list("pk", flat=True)} == set(outcomes)
    assert rows.filter(status=MessageStatus.SENT).count() == len(emails)
    # every row is `sent`, so nothing can claim it again: the list of sends is final
    client, key = mail_log
    sends = [item.decode() for item in client.lrange(key, 0, -1)]
    assert sorted(sends) == sorted(outcomes), "an email was sent more than once (or not at all)"


def test_200_invites_are_sent_exactly_once(api, project, start_worker, mail_log):
    start_worker("RecordingBackend")
    emails = invite_many(api, project, 200, "bulk")
    assert_sent_exactly_once(mail_log, emails)
    assert set(OutboundMessage.objects.filter(to_email__in=emails).values_list("attempts", flat=True)) == {1}


def test_redis_down_while_inviting_then_everything_sent_once(api, project, broker, start_worker, mail_log):
    start_worker("RecordingBackend")
    broker.stop()
    emails = invite_many(api, project, 50, "down")  # every request succeeds without the broker
    assert OutboundMessage.objects.filter(to_email__in=emails, status=MessageStatus.QUEUED).count() == 50
    broker.start()  # same port: the worker and its beat reconnect, the relay publishes the backlog
    assert_sent_exactly_once(mail_log, emails)


def test_transient_failures_are_retried_until_sent(api, project, start_worker, mail_log):
    start_worker("FlakyBackend", TEST_MAIL_FAILURES="2")  # every message fails twice, then goes
    emails = invite_many(api, project, 60, "flaky")
    assert_sent_exactly_once(mail_log, emails)
    attempts = set(OutboundMessage.objects.filter(to_email__in=emails).values_list("attempts", flat=True))
    assert attempts == {3}


def test_permanent_failure_is_dead_and_visible(api, project, start_worker, admin_client, mail_log):
    start_worker("RejectingBackend")
    [email] = invite_many(api, project, 1, "rejected")
    message = OutboundMessage.objects.get(to_email=email)
    assert await_finished(mail_log, 1, timeout=60) == {str(message.pk): "dead"}
    message.refresh_from_db()
    assert message.status == MessageStatus.DEAD
    assert message.attempts == 1 and "User unknown" in message.last_error
    page = admin_client.get(f"/portal/{project.slug}/outbox/?status=dead").content.decode()
    assert email in page and "Dead" in page


def test_bulk_invite_queued_while_redis_is_down_is_finished_by_the_relay(
    api, project, broker, start_worker, mail_log
):
    start_worker("RecordingBackend", BULK_INVITE_STALL_SECONDS="1")
    broker.stop()
    rows = [{"email": f"bulkdown{n}@example.test"} for n in range(5)]
    response = api.post(f"/api/v1/projects/{project.pk}/invites/bulk/", {"rows": rows}, format="json")
    assert response.status_code == 202, response.content  # accepted although the publish failed
    job = BulkInvite.objects.get(pk=response.json()["id"])
    assert job.status == BulkInviteStatus.QUEUED and job.processed == 0
    broker.start()  # the beat's relay pass finds the stalled job and publishes it again
    assert_sent_exactly_once(mail_log, [row["email"] for row in rows])
    job.refresh_from_db()
    assert job.processed == job.total == 5  # committed with the invitations, before their emails
