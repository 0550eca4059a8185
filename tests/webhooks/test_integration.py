"""Inbound webhooks with the real parts: PostgreSQL, a Redis broker, a Celery worker process.

(a) an Okta event hook delivery deactivating a member is answered at once and processed by the
worker: the membership is inactive and the member's tokens are gone; Okta's redelivery has no
second effect; (b) with the broker down the request still succeeds and, once Redis is back, the
relay (beat) has the event processed.
"""

from __future__ import annotations

import os
import secrets
import shutil
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client as HttpClient
from oauth2_provider.models import set_token_value

from accounts.models import Membership
from audit.context import Actor
from identity.celery import app as celery_app
from identity.clock import clock
from oauth.models import AccessToken
from oauth.services import ClientInput, client_create
from tests.conftest import require_service
from tests.factories import MembershipFactory, UserFactory
from tests.support.services import CeleryWorker, RedisServer
from tests.webhooks.conftest import OKTA_SECRET, okta_body, okta_event
from webhooks.models import InboundEvent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]


@pytest.fixture
def broker(redis_url, tmp_path):
    require_service(
        connection.vendor == "postgresql",
        "needs PostgreSQL (set DATABASE_URL): a worker process must share the database",
    )
    binary = shutil.which("redis-server")
    require_service(bool(binary), "needs redis-server to run a private broker")
    server = RedisServer(binary, tmp_path)
    server.start()
    celery_app.conf.update(broker_url=server.url, task_always_eager=False)
    celery_app.close()
    yield server
    celery_app.conf.update(broker_url="memory://", task_always_eager=True)
    celery_app.close()
    server.stop()


@pytest.fixture
def worker(broker, tmp_path, redis_url, monkeypatch):
    monkeypatch.setenv("TEST_MAIL_REDIS_URL", redis_url)
    monkeypatch.setenv("TEST_MAIL_LIST", f"test:webhooks:{secrets.token_hex(6)}")
    db = connection.settings_dict
    started = CeleryWorker(
        env={
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
            "REDIS_URL": broker.url,
            "OUTBOX_RELAY_SECONDS": "1",
            "TEST_MAIL_REDIS_URL": redis_url,
            "TEST_MAIL_LIST": os.environ["TEST_MAIL_LIST"],
        },
        workdir=tmp_path,
    )
    started.start()
    yield started
    started.stop()


def finished(event_ids: list[str], timeout: float = 60) -> dict[str, InboundEvent]:
    """Block until the worker recorded a final outcome (sent or dead) for every event: the
    engine's `delivery_finished`, pushed to Redis by tests/support/mail_backends.py (BLPOP, no
    polling)."""
    import redis

    client = redis.Redis.from_url(os.environ["TEST_MAIL_REDIS_URL"])
    key = os.environ["TEST_MAIL_LIST"] + ":deliveries"
    pending = {
        str(pk) for pk in InboundEvent.objects.filter(event_id__in=event_ids).values_list("pk", flat=True)
    }
    assert len(pending) == len(event_ids), "the events were not stored"
    while pending:
        item = client.blpop([key], timeout=timeout)
        if item is None:
            raise AssertionError(
                f"events not processed in {timeout}s: {list(InboundEvent.objects.values('event_id', 'status'))}"
            )
        kind, _, record_id = item[1].decode().split(":", 2)
        if kind == "webhooks_inbound":
            pending.discard(record_id)
    return {e.event_id: e for e in InboundEvent.objects.filter(event_id__in=event_ids)}


@pytest.fixture
def member(project):
    user = UserFactory(email="ada@acme.test")
    membership = MembershipFactory(user=user, project=project, external_id="00uADA")
    client = client_create(
        project=project,
        actor=Actor.system(),
        data=ClientInput(name="App", redirect_uris=["https://app.example/cb"]),
    ).client
    token = AccessToken(
        user=user, application=client, scope="openid", expires=clock.now() + timedelta(hours=1)
    )
    set_token_value(token, secrets.token_urlsafe(32))
    token.save()
    return membership


def test_a_deactivation_is_processed_by_the_worker_once(make_endpoint, member, worker):
    made = make_endpoint("okta", handler="okta_user_lifecycle")
    event = okta_event("user.lifecycle.deactivate", okta_id="00uADA")
    sender = HttpClient()
    response = sender.post(
        made.path, okta_body(event), content_type="application/json", HTTP_AUTHORIZATION=OKTA_SECRET
    )
    assert response.status_code == 200  # answered at once: processing happens in the worker
    processed = finished([event["uuid"]])[event["uuid"]]
    assert processed.status == "sent" and processed.attempts == 1, processed.last_error
    assert not Membership.objects.get(pk=member.pk).is_active
    assert not AccessToken.objects.filter(user=member.user).exists()

    Membership.objects.filter(pk=member.pk).update(is_active=True)
    again = sender.post(
        made.path, okta_body(event), content_type="application/json", HTTP_AUTHORIZATION=OKTA_SECRET
    )
    assert again.json() == {"received": 0, "duplicates": 1}
    from notifications.delivery import delivery_relay

    delivery_relay()  # a relay pass: nothing is due, so nothing is published to run again
    assert Membership.objects.get(pk=member.pk).is_active
    assert InboundEvent.objects.get().attempts == 1


def test_broker_down_then_the_relay_processes_the_event(make_endpoint, member, broker, worker):
    made = make_endpoint("okta", handler="okta_user_lifecycle")
    event = okta_event("user.lifecycle.suspend", okta_id="00uADA")
    broker.stop()
    response = HttpClient().post(
        made.path, okta_body(event), content_type="application/json", HTTP_AUTHORIZATION=OKTA_SECRET
    )
    assert response.status_code == 200
    assert InboundEvent.objects.get().status == "queued"
    broker.start()  # same port: the worker and its beat reconnect; the relay publishes the event
    assert finished([event["uuid"]], timeout=90)[event["uuid"]].status == "sent"
    assert not Membership.objects.get(pk=member.pk).is_active
