"""Outbound event subscriptions: the API, events made from the audit log, Standard Webhooks
signatures (checked by an independent verifier, itself checked against the spec's known-answer
vector), retries driven by the application clock and the relay (no sleeps), 410 / 429 / a day of
failures, the private-target rule at save and at connect time, tenant isolation and replay.

A real HTTP endpoint on 127.0.0.1 receives the deliveries (WEBHOOK_ALLOW_PRIVATE_TARGETS on).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from rest_framework.test import APIClient

from accounts.services.invitations import InviteInput, invitation_create
from audit.context import Actor
from audit.models import AuditEvent
from notifications.delivery import DeliveryStatus, delivery_relay
from notifications.models import OutboundMessage
from tests.factories import MembershipFactory
from webhooks import subscriptions
from webhooks.models import EventDelivery, EventSubscription
from webhooks.outbound import host_addresses_problem

# Imported at collection time: a test that closes the Celery app (test_integration) would keep a
# task module imported later from registering its shared task.
from webhooks.tasks import purge_webhook_records

pytestmark = pytest.mark.django_db(transaction=True)


# --- an independent Standard Webhooks verifier ---------------------------------------------------


def standard_webhooks_valid(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """Written from the spec, sharing no code with webhooks/schemes/standard.py."""
    key = base64.b64decode(secret.split("_", 1)[1])
    content = b".".join([headers["webhook-id"].encode(), headers["webhook-timestamp"].encode(), body])
    expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
    return any(
        part.startswith("v1,") and hmac.compare_digest(part[3:], expected)
        for part in headers["webhook-signature"].split(" ")
    )


def test_the_verifier_agrees_with_the_known_answer_vector():
    headers = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    assert standard_webhooks_valid(secret, headers, b'{"test": 2432232314}')
    assert not standard_webhooks_valid(secret, headers, b'{"test": 2432232315}')


# --- a receiver ----------------------------------------------------------------------------------


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    base: str
    received: list[Received] = field(default_factory=list)
    answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"{self.base}/hooks"


@pytest.fixture
def receiver(settings) -> Iterator[Receiver]:
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    receiver: Receiver
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with lock:
                receiver.received.append(Received({k.lower(): v for k, v in self.headers.items()}, body))
                status, headers = receiver.answers.pop(0) if receiver.answers else (200, {})
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver = Receiver(f"http://127.0.0.1:{server.server_port}")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def api(admin_user):
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


def base(project) -> str:
    return f"/api/v1/projects/{project.pk}/event-subscriptions/"


def subscribe(project, url: str, events=("user.invited",)) -> tuple[EventSubscription, str]:
    issued = subscriptions.subscription_create(
        project=project, actor=Actor.system(), url=url, events=list(events)
    )
    return issued.subscription, issued.secret


def invite(project, email: str = "grace@acme.test"):
    return invitation_create(project=project, actor=Actor.system(), data=InviteInput(email=email))


# --- tests ---------------------------------------------------------------------------------------


def test_creating_a_subscription_shows_the_secret_once(api, project, receiver):
    response = api.post(
        base(project), {"url": receiver.url, "events": ["user.invited", "client.created"]}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert response["Cache-Control"] == "no-store"
    assert body["secret"].startswith("whsec_") and len(base64.b64decode(body["secret"][6:])) >= 24
    subscription = EventSubscription.objects.get(pk=body["id"])
    assert subscription.secret == body["secret"]
    raw = EventSubscription.objects.filter(pk=subscription.pk).values_list("secret", flat=True)
    # encrypted at rest: the column does not hold the secret
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("select secret from webhooks_eventsubscription where id = %s", [subscription.pk])
        assert body["secret"] not in cursor.fetchone()[0]
    assert list(raw)  # readable through the field
    assert body["events"] == ["user.invited", "client.created"] and body["is_active"] is True
    assert AuditEvent.objects.filter(action="event_subscription.created", project=project).exists()
    again = api.get(f"{base(project)}{subscription.pk}/").json()
    assert "secret" not in again and body["secret"] not in json.dumps(api.get(base(project)).json())
    bad = api.post(base(project), {"url": receiver.url, "events": ["nope"]}, format="json")
    assert bad.status_code == 400


def test_an_invitation_is_delivered_signed(project, receiver, clock):
    subscription, secret = subscribe(project, receiver.url)
    invite(project)
    assert len(receiver.received) == 1
    got = receiver.received[0]
    assert standard_webhooks_valid(secret, got.headers, got.body)
    delivery = EventDelivery.objects.get()
    assert got.headers["webhook-id"] == str(delivery.pk)
    assert got.headers["webhook-timestamp"] == str(int(clock.now().timestamp()))
    assert got.headers["content-type"] == "application/json"
    payload = got.json
    assert payload["type"] == "user.invited" and set(payload) == {"type", "timestamp", "data"}
    assert payload["data"]["project_id"] == str(project.pk)
    assert payload["data"]["action"] == "invitation.created"
    assert "grace@acme.test" in payload["data"]["target"]["label"] or payload["data"]["target"]["id"]
    assert "ip_address" not in json.dumps(payload) and "user_agent" not in json.dumps(payload)
    assert delivery.status == DeliveryStatus.SENT and delivery.last_response_code == 200
    assert delivery.event_type == "user.invited"


def test_only_subscribed_types_and_only_active_subscriptions(project, receiver):
    subscribe(project, receiver.url, events=["client.created"])
    off, _ = subscribe(project, receiver.url + "/off")
    EventSubscription.objects.filter(pk=off.pk).update(is_active=False)
    invite(project)
    assert receiver.received == [] and not EventDelivery.objects.exists()


def test_a_500_is_retried_later_with_the_same_webhook_id(project, receiver, clock):
    receiver.answers = [(500, {})]
    subscribe(project, receiver.url)
    invite(project)
    delivery = EventDelivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED and delivery.last_response_code == 500
    assert "HTTP 500" in delivery.last_error
    assert delivery.next_attempt_at > clock.now()
    assert delivery_relay() == 0 and len(receiver.received) == 1  # not due yet
    clock.advance(delivery.next_attempt_at - clock.now())
    assert delivery_relay() == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 2
    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == str(delivery.pk)
    assert first.body == second.body
    assert EventSubscription.objects.get().failing_since is None  # a success clears the failures


def test_a_429_retry_after_is_honoured(project, receiver, clock):
    receiver.answers = [(429, {"Retry-After": "120"})]
    subscribe(project, receiver.url)
    invite(project)
    delivery = EventDelivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.next_attempt_at == clock.now() + timedelta(seconds=120)
    clock.advance(timedelta(seconds=119))
    assert delivery_relay() == 0
    clock.advance(timedelta(seconds=1))
    assert delivery_relay() == 1 and len(receiver.received) == 2


def test_a_410_disables_the_subscription_and_tells_the_owners(project, owner, receiver):
    receiver.answers = [(410, {})]
    subscription, _ = subscribe(project, receiver.url)
    invite(project)
    delivery = EventDelivery.objects.get()
    assert delivery.status == DeliveryStatus.DEAD and delivery.last_response_code == 410
    subscription.refresh_from_db()
    assert not subscription.is_active and "410" in subscription.disabled_reason
    assert OutboundMessage.objects.filter(to_email=owner.email, subject__icontains="disabled").exists()
    invite(project, "second@acme.test")
    assert len(receiver.received) == 1  # nothing more is sent


def test_another_4xx_is_dead_at_once(project, receiver):
    receiver.answers = [(400, {})]
    subscription, _ = subscribe(project, receiver.url)
    invite(project)
    assert EventDelivery.objects.get().status == DeliveryStatus.DEAD
    subscription.refresh_from_db()
    assert subscription.is_active  # one refused event does not disable the subscription


def test_a_day_of_failures_disables_the_subscription(project, owner, receiver, clock):
    receiver.answers = [(503, {})] * 100
    subscription, _ = subscribe(project, receiver.url)
    invite(project)
    delivery = EventDelivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    for _ in range(60):  # bounded: 45 attempts at most
        if not EventSubscription.objects.get(pk=subscription.pk).is_active:
            break
        clock.advance(max(EventDelivery.objects.get().next_attempt_at - clock.now(), timedelta(0)))
        delivery_relay()
    subscription.refresh_from_db()
    assert not subscription.is_active and "about a day" in subscription.disabled_reason
    # a full day, or the delivery's whole retry window (16-32 h with the jitter)
    assert timedelta(hours=15) < clock.now() - subscription.failing_since < timedelta(days=1, hours=1)
    assert OutboundMessage.objects.filter(to_email=owner.email).exists()


def test_private_targets_are_refused_without_the_setting(api, project, settings, receiver):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    for url in (
        receiver.url,
        "https://127.0.0.1/hooks",
        "https://10.0.0.5/hooks",
        "https://169.254.169.254/latest",
        "https://[::1]/x",
        "https://localhost/x",
        "http://example.com/hooks",
    ):
        response = api.post(base(project), {"url": url, "events": ["user.invited"]}, format="json")
        assert response.status_code == 400, url
        assert "url" in response.json()["error"]["fields"]
    assert (
        api.post(
            base(project), {"url": "https://example.com/hooks", "events": ["user.invited"]}, format="json"
        ).status_code
        == 201
    )
    # A name resolving to an internal address is refused at connect time.
    assert host_addresses_problem("localhost", 443)


def test_a_saved_private_target_is_refused_at_connect_time(project, settings, receiver):
    subscription, _ = subscribe(project, receiver.url)  # allowed while the setting is on
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    invite(project)
    delivery = EventDelivery.objects.get()
    assert receiver.received == []
    assert delivery.status == DeliveryStatus.DEAD and "internal" in delivery.last_error


def test_the_connected_peer_is_checked_too(project, settings, receiver, monkeypatch):
    """DNS rebinding: the name looked public when resolved, the connection went to 127.0.0.1."""
    import webhooks.outbound as outbound

    subscribe(project, receiver.url)
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    monkeypatch.setattr(outbound, "host_addresses_problem", lambda host, port: "")
    monkeypatch.setattr(outbound, "host_is_internal", lambda host: False)
    invite(project)
    delivery = EventDelivery.objects.get()
    assert receiver.received == [] and delivery.status == DeliveryStatus.DEAD
    assert "internal" in delivery.last_error


def test_own_server_is_refused(project, settings, receiver):
    settings.APP_BASE_URL = receiver.base
    with pytest.raises(Exception, match="not valid"):
        subscribe(project, receiver.url)


def test_tenant_isolation(api, project, other_project, receiver):
    mine, _ = subscribe(project, receiver.url)
    theirs, _ = subscribe(other_project, receiver.url + "/other")
    assert api.get(f"{base(other_project)}{theirs.pk}/").status_code == 404
    assert api.get(f"{base(project)}{theirs.pk}/").status_code == 404
    assert api.get(f"{base(project)}{theirs.pk}/deliveries/").status_code == 404
    assert [row["id"] for row in api.get(base(project)).json()["results"]] == [str(mine.pk)]
    invite(other_project)
    assert [got.headers["webhook-id"] for got in receiver.received] == [
        str(EventDelivery.objects.get(subscription=theirs).pk)
    ]
    delivery = EventDelivery.objects.get()
    assert api.post(f"{base(project)}{mine.pk}/deliveries/{delivery.pk}/replay/").status_code == 404
    member = MembershipFactory(project=project, role="member").user
    client = APIClient()
    client.force_authenticate(member)
    assert client.get(base(project)).status_code == 403


def test_delivery_log_and_replay(api, project, receiver):
    receiver.answers = [(400, {})]
    subscription, secret = subscribe(project, receiver.url)
    invite(project)
    log = api.get(f"{base(project)}{subscription.pk}/deliveries/").json()
    assert log["count"] == 1
    row = log["results"][0]
    assert row["event_type"] == "user.invited" and row["status"] == "dead"
    assert row["attempts"] == 1 and row["last_response_code"] == 400 and "HTTP 400" in row["last_error"]
    response = api.post(f"{base(project)}{subscription.pk}/deliveries/{row['id']}/replay/")
    assert response.status_code == 202
    delivery = EventDelivery.objects.get()
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 1
    assert len(receiver.received) == 2 and receiver.received[1].headers["webhook-id"] == row["id"]
    assert standard_webhooks_valid(secret, receiver.received[1].headers, receiver.received[1].body)
    assert AuditEvent.objects.filter(action="event_delivery.replayed", project=project).exists()


def test_patch_and_delete(api, project, receiver):
    subscription, _ = subscribe(project, receiver.url)
    EventSubscription.objects.filter(pk=subscription.pk).update(is_active=False, disabled_reason="x")
    response = api.patch(
        f"{base(project)}{subscription.pk}/", {"is_active": True, "events": ["login.failed"]}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["is_active"] and response.json()["disabled_reason"] == ""
    assert response.json()["events"] == ["login.failed"]
    assert api.delete(f"{base(project)}{subscription.pk}/").status_code == 204
    assert not EventSubscription.objects.exists()


def test_a_received_inbound_event_is_an_outbound_event(project, receiver, make_endpoint, sender):
    from webhooks.schemes.standard import sign

    subscribe(project, receiver.url, events=["webhook.received"])
    made = make_endpoint("standard")
    body = b'{"type": "thing.happened"}'
    from identity.clock import clock as app_clock

    ts = int(app_clock.now().timestamp())
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(ts),
        "webhook-signature": sign(secret=made.secret, msg_id="msg_1", timestamp=ts, body=body),
    }
    assert sender.post(made.path, body, headers=headers).status_code == 200
    assert [got.json["type"] for got in receiver.received] == ["webhook.received"]
    assert receiver.received[0].json["data"]["details"]["event_type"] == "thing.happened"


# --- portal --------------------------------------------------------------------------------------


@pytest.fixture
def browser(client, admin_user):
    client.force_login(admin_user)
    return client


def test_portal_create_shows_the_secret_once_and_the_log_replays(browser, project, other_project, receiver):
    pages = f"/portal/{project.slug}/webhooks/subscriptions/"
    assert browser.get(f"/portal/{project.slug}/webhooks/").content.decode().count(pages) == 1
    assert browser.get(pages).status_code == 200
    refused = browser.post(pages, {"url": "ftp://x", "events": ["user.invited"], "is_active": "on"})
    assert refused.status_code == 400
    response = browser.post(pages, {"url": receiver.url, "events": ["user.invited"], "is_active": "on"})
    subscription = EventSubscription.objects.get()
    # post/redirect/get: the secret waits in the session for one GET; a reload shows it no more
    assert response.status_code == 303 and response["Location"] == f"{pages}{subscription.pk}/secret/"
    shown = browser.get(response["Location"])
    assert shown["Cache-Control"] == "no-store" and subscription.secret in shown.content.decode()
    again = browser.get(response["Location"], follow=True)
    assert subscription.secret not in again.content.decode() and "shown once" in again.content.decode()
    assert EventSubscription.objects.count() == 1
    receiver.answers = [(400, {})]
    invite(project)
    detail = browser.get(f"{pages}{subscription.pk}/")
    page = detail.content.decode()
    assert detail.status_code == 200 and subscription.secret not in page
    assert "user.invited" in page and "HTTP 400" in page and "Replay" in page
    delivery = EventDelivery.objects.get()
    replayed = browser.post(f"{pages}{subscription.pk}/deliveries/{delivery.pk}/replay/")
    assert replayed.status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT
    theirs, _ = subscribe(other_project, receiver.url + "/x")
    assert browser.get(f"{pages}{theirs.pk}/").status_code == 404
    assert browser.post(f"{pages}{subscription.pk}/delete/").status_code == 302
    assert not EventSubscription.objects.filter(project=project).exists()


def test_django_admin_is_view_only_without_secrets_or_payloads(project, receiver):
    from django.test import Client

    from tests.factories import UserFactory

    subscription, secret = subscribe(project, receiver.url)
    invite(project, "hidden.person@acme.test")
    operator = Client()
    operator.force_login(UserFactory(is_staff=True, is_superuser=True))
    delivery = EventDelivery.objects.get()
    for url in (
        "/admin/webhooks/eventsubscription/",
        f"/admin/webhooks/eventsubscription/{subscription.pk}/change/",
        "/admin/webhooks/eventdelivery/",
        f"/admin/webhooks/eventdelivery/{delivery.pk}/change/",
    ):
        response = operator.get(url)
        assert response.status_code == 200, url
        assert secret not in response.content.decode() and delivery.payload not in response.content.decode()
    assert operator.get("/admin/webhooks/eventsubscription/add/").status_code == 403


# --- the standardwebhooks library, secret rotation, sign-in failures, retention ------------------


def library_verifies(secret: str, got: Received) -> bool:
    """The `standardwebhooks` library's own verification (it also checks the timestamp)."""
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError

    try:
        Webhook(secret).verify(got.body, got.headers)
    except WebhookVerificationError:
        return False
    return True


def test_deliveries_verify_with_the_standardwebhooks_library(project, receiver, clock):
    subscription, secret = subscribe(project, receiver.url)
    invite(project)
    (got,) = receiver.received
    assert library_verifies(secret, got)
    assert not library_verifies(subscriptions.secret_generate(), got)
    tampered = Received(got.headers, got.body.replace(b"user.invited", b"user.invitee"))
    assert not library_verifies(secret, tampered)


def test_rotating_the_secret_signs_with_both_for_a_day(api, project, other_project, receiver, clock):
    subscription, old_secret = subscribe(project, receiver.url)
    response = api.post(f"{base(project)}{subscription.pk}/rotate-secret/")
    assert response.status_code == 200, response.json()
    assert response["Cache-Control"] == "no-store"
    new_secret = response.json()["secret"]
    assert new_secret.startswith("whsec_") and new_secret != old_secret
    body = response.json()["subscription"]
    assert body["secret_rotated_at"] and body["previous_secret_expires_at"]
    assert "secret" not in api.get(f"{base(project)}{subscription.pk}/").json()
    event = AuditEvent.objects.get(action="event_subscription.secret_rotated")
    assert event.project == project and new_secret not in json.dumps(event.details)

    invite(project)
    during = receiver.received[-1]
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert library_verifies(new_secret, during) and library_verifies(old_secret, during)

    clock.advance(timedelta(hours=24, seconds=1))
    invite(project, "after.grace@acme.test")
    after = receiver.received[-1]
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    assert standard_webhooks_valid(new_secret, after.headers, after.body)
    assert not standard_webhooks_valid(old_secret, after.headers, after.body)

    theirs, _ = subscribe(other_project, receiver.url + "/other")
    assert api.post(f"{base(project)}{theirs.pk}/rotate-secret/").status_code == 404
    assert api.post(f"{base(other_project)}{theirs.pk}/rotate-secret/").status_code == 404
    assert EventSubscription.objects.get(pk=theirs.pk).secret_rotated_at is None


def test_portal_rotation_shows_the_new_secret_once(browser, project, receiver):
    subscription, old_secret = subscribe(project, receiver.url)
    pages = f"/portal/{project.slug}/webhooks/subscriptions/"
    assert "Rotate secret" in browser.get(f"{pages}{subscription.pk}/").content.decode()
    response = browser.post(f"{pages}{subscription.pk}/rotate-secret/")
    assert response.status_code == 303
    response = browser.get(response["Location"])
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    subscription.refresh_from_db()
    page = response.content.decode()
    assert subscription.secret in page and old_secret not in page and "previous secret" in page
    detail = browser.get(f"{pages}{subscription.pk}/").content.decode()
    assert subscription.secret not in detail and "also signed with the previous secret" in detail


def test_a_failed_sign_in_of_a_member_is_a_login_failed_event_of_their_project(
    project, other_project, receiver
):
    from django.test import Client

    member = MembershipFactory(project=project, role="member").user
    subscribe(project, receiver.url, events=["login.failed"])
    subscribe(other_project, receiver.url + "/other", events=["login.failed"])
    response = Client().post("/accounts/login/", {"login": member.email, "password": "not-the-password-1"})
    assert response.status_code == 200
    (got,) = receiver.received
    assert got.json["type"] == "login.failed"
    assert got.json["data"]["project_id"] == str(project.pk)
    assert got.json["data"]["outcome"] == "failure"
    assert got.json["data"]["target"]["id"] == str(member.pk)
    assert "not-the-password-1" not in got.body.decode()
    # an unknown address concerns no project: recorded once, sent nowhere
    Client().post("/accounts/login/", {"login": "nobody@nowhere.test", "password": "whatever-123456"})
    assert len(receiver.received) == 1
    unknown = AuditEvent.objects.get(action="user.sign_in_failed", target_label="nobody@nowhere.test")
    assert unknown.project is None


def test_finished_inbox_events_and_deliveries_are_purged_after_the_retention(
    project, receiver, settings, clock, make_endpoint, sender
):
    from django.core.management import call_command

    from webhooks.models import InboundEvent

    receiver.answers = [(200, {}), (500, {})]
    subscribe(project, receiver.url)
    invite(project, "old@acme.test")  # sent
    invite(project, "failing@acme.test")  # failed, will retry: stays
    from webhooks.schemes.standard import sign

    made = make_endpoint("standard")
    body, ts = b'{"type": "thing.happened"}', int(clock.now().timestamp())
    signature = sign(secret=made.secret, msg_id="msg_old", timestamp=ts, body=body)
    headers = {"webhook-id": "msg_old", "webhook-timestamp": str(ts), "webhook-signature": signature}
    assert sender.post(made.path, body, headers=headers).status_code == 200
    assert InboundEvent.objects.get().status == DeliveryStatus.SENT
    assert purge_webhook_records() == 0  # default: keep everything
    settings.WEBHOOK_RETENTION_DAYS = 30
    clock.advance(timedelta(days=31))
    kept_before = set(EventDelivery.objects.exclude(status=DeliveryStatus.SENT).values_list("pk", flat=True))
    assert purge_webhook_records() == 2  # the sent delivery and the processed inbox event
    assert set(EventDelivery.objects.values_list("pk", flat=True)) == kept_before
    assert not InboundEvent.objects.filter(status__in=[DeliveryStatus.SENT, DeliveryStatus.DEAD]).exists()
    settings.WEBHOOK_RETENTION_DAYS = 3
    with pytest.raises(Exception, match="webhooks.W001"):
        call_command("check", fail_level="WARNING")
