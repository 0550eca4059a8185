"""The durable inbox: an event is stored on receipt and handed to the delivery engine only after
commit; handlers are retried with backoff or given up on (dead), never lost; a replay goes through
the engine's requeue; the relay picks up events whose publish failed."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, ClassVar

import pytest
from django.db import transaction

from notifications.delivery import delivery_attempt, delivery_relay
from tests.webhooks.conftest import OKTA_SECRET, okta_body, okta_event
from webhooks.handlers import HandlerRefused, WebhookHandler, register_handler, unregister_handler
from webhooks.models import InboundEvent
from webhooks.schemes import ParsedEvent
from webhooks.services import event_replay, inbound_receive

pytestmark = pytest.mark.django_db


class ScriptedHandler(WebhookHandler):
    """Does what the test scripts: raise the next exception in `outcomes`, else succeed."""

    name = "test_scripted"
    label = "Scripted (tests)"
    schemes: ClassVar[tuple[str, ...] | None] = None

    def __init__(self) -> None:
        self.outcomes: list[BaseException | None] = []
        self.handled: list[str] = []

    def handle(self, *, event, payload: Any, actor) -> str:
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if outcome is not None:
            raise outcome
        self.handled.append(event.event_id)
        return f"handled {event.event_id}"


@pytest.fixture
def scripted():
    handler = register_handler(ScriptedHandler())
    yield handler
    unregister_handler(handler.name)


@pytest.fixture
def endpoint(make_endpoint, scripted):
    return make_endpoint("okta", handler=scripted.name)


def parsed(event_id: str = "evt_1") -> ParsedEvent:
    return ParsedEvent(event_id=event_id, event_type="test.event", body=json.dumps({"id": event_id}))


def test_stored_on_receipt_and_processed_only_after_commit(
    endpoint, scripted, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        receipt = inbound_receive(endpoint=endpoint.endpoint, events=[parsed()], headers={}, remote_addr=None)
    assert (receipt.received, receipt.duplicates) == (1, 0)
    event = InboundEvent.objects.get()
    assert event.status == "queued" and scripted.handled == [] and len(callbacks) == 1
    callbacks[0]()  # the commit publishes; in-process Celery runs the task
    event.refresh_from_db()
    assert event.status == "sent" and event.outcome == "handled evt_1" and event.attempts == 1


def test_a_rolled_back_receipt_leaves_nothing(endpoint, scripted, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            inbound_receive(endpoint=endpoint.endpoint, events=[parsed()], headers={}, remote_addr=None)
            raise RuntimeError("the request failed after storing")
    assert callbacks == [] and not InboundEvent.objects.exists() and scripted.handled == []


def test_transient_failures_are_retried_with_backoff(sender, endpoint, scripted, clock):
    scripted.outcomes = [ConnectionError("database of the SaaS away"), ConnectionError("still away")]
    sender.post(endpoint.path, okta_body(okta_event("x")), {"Authorization": OKTA_SECRET})
    event = InboundEvent.objects.get()
    assert event.status == "failed" and event.attempts == 1 and "ConnectionError" in event.last_error
    assert event.next_attempt_at > clock.now()
    assert delivery_attempt(kind="webhooks_inbound", record_id=event.pk).status == "failed"  # not due yet
    clock.advance(timedelta(seconds=10))
    assert delivery_attempt(kind="webhooks_inbound", record_id=event.pk).status == "failed"
    clock.advance(timedelta(seconds=20))
    assert delivery_attempt(kind="webhooks_inbound", record_id=event.pk).status == "sent"
    event.refresh_from_db()
    assert event.attempts == 3 and event.last_error == "" and scripted.handled == [event.event_id]


def test_a_refused_event_is_dead_at_once_and_replay_runs_it_again(sender, endpoint, scripted, actor):
    scripted.outcomes = [HandlerRefused("the payload names no account")]
    sender.post(endpoint.path, okta_body(okta_event("x")), {"Authorization": OKTA_SECRET})
    event = InboundEvent.objects.get()
    assert event.status == "dead" and event.attempts == 1
    assert event.last_error == "Refused: the payload names no account"
    event_replay(event=event, actor=actor)
    event.refresh_from_db()
    assert event.status == "queued" and event.attempts == 0 and event.last_error == ""
    assert delivery_attempt(kind="webhooks_inbound", record_id=event.pk).status == "sent"
    event.refresh_from_db()
    assert event.attempts == 1 and scripted.handled == [event.event_id]


def test_replay_is_refused_while_the_event_is_on_its_way(endpoint, actor):
    from identity.errors import ApplicationError

    inbound_receive(endpoint=endpoint.endpoint, events=[parsed()], headers={}, remote_addr=None)
    event = InboundEvent.objects.get()  # queued: its publish waits for a commit that never comes here
    with pytest.raises(ApplicationError) as refused:
        event_replay(event=event, actor=actor)
    assert refused.value.status == 409


def test_a_handler_that_is_no_longer_installed_makes_the_event_dead(sender, endpoint, scripted):
    unregister_handler(scripted.name)
    sender.post(endpoint.path, okta_body(okta_event("x")), {"Authorization": OKTA_SECRET})
    event = InboundEvent.objects.get()
    assert event.status == "dead" and "no handler named" in event.last_error


def test_duplicates_inside_one_delivery_and_across_deliveries(endpoint, scripted):
    first = inbound_receive(
        endpoint=endpoint.endpoint,
        events=[parsed("a"), parsed("a"), parsed("b")],
        headers={},
        remote_addr=None,
    )
    again = inbound_receive(endpoint=endpoint.endpoint, events=[parsed("b")], headers={}, remote_addr=None)
    assert (first.received, first.duplicates, again.received, again.duplicates) == (2, 1, 0, 1)
    assert InboundEvent.objects.count() == 2


def test_the_same_event_id_at_two_endpoints_is_two_events(make_endpoint, scripted):
    one, two = make_endpoint("okta", handler=scripted.name), make_endpoint("okta", handler=scripted.name)
    for made in (one, two):
        inbound_receive(endpoint=made.endpoint, events=[parsed("same")], headers={}, remote_addr=None)
    assert InboundEvent.objects.filter(event_id="same").count() == 2


def test_broker_down_the_request_succeeds_and_the_relay_processes_later(sender, endpoint, scripted):
    from tests.support.services import broker_unreachable

    with broker_unreachable():
        response = sender.post(endpoint.path, okta_body(okta_event("x")), {"Authorization": OKTA_SECRET})
        assert response.status_code == 200
        assert InboundEvent.objects.get().status == "queued" and scripted.handled == []
    assert delivery_relay() >= 1
    assert InboundEvent.objects.get().status == "sent" and len(scripted.handled) == 1


def test_the_body_is_encrypted_at_rest(endpoint):
    from django.db import connection

    inbound_receive(
        endpoint=endpoint.endpoint, events=[parsed("evt_secret_body")], headers={}, remote_addr=None
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT body FROM webhooks_inboundevent")
        (stored,) = cursor.fetchone()
    assert "evt_secret_body" not in stored
    assert InboundEvent.objects.get().body == '{"id": "evt_secret_body"}'


def test_endpoint_secrets_are_encrypted_at_rest(make_endpoint):
    from django.db import connection

    made = make_endpoint("okta")
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM webhooks_webhookendpoint")
        (stored,) = cursor.fetchone()
    assert OKTA_SECRET not in stored and made.endpoint.secret == OKTA_SECRET
