"""The receiving URL, scheme by scheme: a valid request is stored (200), and every way of failing
verification is the same 401 (bad signature, stale or future timestamp, missing header, wrong
credentials); a replayed event id is a 200 with one stored event; an oversized body is a 413;
a malformed verified body is a 400. Stripe signatures come from the `stripe` library's own
signing helper; the Standard Webhooks known-answer vector is from security.md §6."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
import stripe

from identity.clock import clock as app_clock
from tests.webhooks.conftest import OKTA_SECRET, STANDARD_SECRET, STRIPE_SECRET, okta_body, okta_event
from webhooks.constants import MAX_BODY_BYTES, TIMESTAMP_TOLERANCE_SECONDS
from webhooks.models import InboundEvent
from webhooks.schemes.standard import sign as standard_sign

pytestmark = pytest.mark.django_db

NOT_VERIFIED = {
    "error": {"code": "not_authenticated", "message": "The request could not be verified.", "fields": {}}
}


def now_ts() -> int:
    return int(app_clock.now().timestamp())


def assert_refused(response) -> None:
    """401, with the one answer that does not say what failed; nothing stored."""
    assert response.status_code == 401, response.content
    assert response.json() == NOT_VERIFIED
    assert not InboundEvent.objects.exists()


# --- Stripe ------------------------------------------------------------------------------------------

STRIPE_EVENT = json.dumps({"id": "evt_1PqR2sT3uV", "object": "event", "type": "customer.created", "data": {}})


def stripe_header(
    body: str = STRIPE_EVENT, secret: str = STRIPE_SECRET, timestamp: int | None = None
) -> dict:
    return {
        "Stripe-Signature": stripe.WebhookSignature.generate_signature_header(
            body, secret, timestamp or now_ts()
        )
    }


class TestStripe:
    @pytest.fixture
    def made(self, make_endpoint):
        return make_endpoint("stripe")

    def test_valid_signature_is_stored_once(self, sender, made, clock):
        response = sender.post(made.path, STRIPE_EVENT, stripe_header())
        assert response.status_code == 200 and response.json() == {"received": 1, "duplicates": 0}
        event = InboundEvent.objects.get()
        assert (event.event_id, event.event_type, event.body) == (
            "evt_1PqR2sT3uV",
            "customer.created",
            STRIPE_EVENT,
        )
        assert event.status == "sent" and event.outcome  # processed after commit (generic handler)
        assert "stripe-signature" not in event.headers and event.headers["content-type"] == "application/json"

    def test_the_library_verifies_what_we_accept(self, made, clock):
        """Our header reading and the library's agree (the library's verify_header, with a tolerance)."""
        header = stripe_header()["Stripe-Signature"]
        stripe.WebhookSignature.verify_header(STRIPE_EVENT, header, STRIPE_SECRET, tolerance=300)

    def test_bad_signature(self, sender, made, clock):
        assert_refused(
            sender.post(made.path, STRIPE_EVENT, stripe_header(secret="whsec_someone_elses_secret_000"))
        )

    def test_body_changed_after_signing(self, sender, made, clock):
        assert_refused(sender.post(made.path, STRIPE_EVENT.replace("customer", "charge"), stripe_header()))

    @pytest.mark.parametrize("offset", [-(TIMESTAMP_TOLERANCE_SECONDS + 1), TIMESTAMP_TOLERANCE_SECONDS + 1])
    def test_stale_and_future_timestamps(self, sender, made, clock, offset):
        assert_refused(sender.post(made.path, STRIPE_EVENT, stripe_header(timestamp=now_ts() + offset)))

    def test_timestamps_at_the_edge_of_the_tolerance_pass(self, sender, made, clock):
        clock.freeze(datetime.fromtimestamp(now_ts(), tz=UTC))  # a whole second: the edge is exact
        for offset in (-TIMESTAMP_TOLERANCE_SECONDS, TIMESTAMP_TOLERANCE_SECONDS):
            body = STRIPE_EVENT.replace("evt_1PqR2sT3uV", f"evt_{offset + 1000}")
            assert (
                sender.post(made.path, body, stripe_header(body, timestamp=now_ts() + offset)).status_code
                == 200
            )

    def test_missing_header(self, sender, made, clock):
        assert_refused(sender.post(made.path, STRIPE_EVENT))

    @pytest.mark.parametrize(
        "header",
        ["garbage", "t=,v1=", "v1=abc", "t=123", "t=1,t=2,v1=abc", "t=abc,v1=def", "t=1;v1=2"],
    )
    def test_malformed_header(self, sender, made, clock, header):
        assert_refused(sender.post(made.path, STRIPE_EVENT, {"Stripe-Signature": header}))

    def test_only_v0_is_not_enough(self, sender, made, clock):
        good = stripe_header()["Stripe-Signature"]
        assert_refused(sender.post(made.path, STRIPE_EVENT, {"Stripe-Signature": good.replace("v1=", "v0=")}))

    def test_one_valid_v1_among_several(self, sender, made, clock):
        good = stripe_header()["Stripe-Signature"]
        t, v1 = good.split(",")
        header = f"{t},v1={'0' * 64},{v1},v0={'1' * 64}"
        assert sender.post(made.path, STRIPE_EVENT, {"Stripe-Signature": header}).status_code == 200

    def test_replayed_event_id_is_200_and_stored_once(self, sender, made, clock):
        first = sender.post(made.path, STRIPE_EVENT, stripe_header())
        app_clock.advance(timedelta(seconds=30))
        again = sender.post(made.path, STRIPE_EVENT, stripe_header())  # Stripe's retry: signed anew
        assert first.status_code == again.status_code == 200
        assert again.json() == {"received": 0, "duplicates": 1}
        event = InboundEvent.objects.get()
        assert event.attempts == 1  # processed once

    def test_raw_bytes_are_verified_not_a_reparsed_body(self, sender, made, clock):
        spaced = '{"id":  "evt_spaced",   "type": "x"}'
        assert sender.post(made.path, spaced, stripe_header(spaced)).status_code == 200
        assert InboundEvent.objects.get().body == spaced

    def test_verified_body_without_an_id_is_400(self, sender, made, clock):
        body = json.dumps({"type": "customer.created"})
        response = sender.post(made.path, body, stripe_header(body))
        assert response.status_code == 400 and response.json()["error"]["code"] == "validation_failed"
        not_json = "not json"
        assert sender.post(made.path, not_json, stripe_header(not_json)).status_code == 400

    def test_unverified_malformed_body_is_401_not_400(self, sender, made, clock):
        assert_refused(sender.post(made.path, "not json", stripe_header(secret="whsec_wrong_wrong_wrong_1")))

    def test_without_a_secret_nothing_verifies(self, sender, make_endpoint, clock):
        made = make_endpoint("stripe", secret=None)
        assert made.endpoint.secret == "" and made.secret is None
        assert_refused(sender.post(made.path, STRIPE_EVENT, stripe_header()))


# --- Standard Webhooks ---------------------------------------------------------------------------------

KAT = {
    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
    "timestamp": 1614265330,
    "body": '{"test": 2432232314}',
    "signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
}


def standard_headers(
    body: str, *, msg_id: str = "msg_1", timestamp: int | None = None, secret=STANDARD_SECRET
):
    timestamp = now_ts() if timestamp is None else timestamp
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": standard_sign(
            secret=secret, msg_id=msg_id, timestamp=timestamp, body=body.encode()
        ),
    }


class TestStandardWebhooks:
    BODY = json.dumps({"type": "invoice.paid", "timestamp": "2024-05-01T10:00:00Z", "data": {"id": 1}})

    @pytest.fixture
    def made(self, make_endpoint):
        return make_endpoint("standard")

    def test_known_answer_vector(self):
        assert (
            standard_sign(
                secret=KAT["secret"], msg_id=KAT["id"], timestamp=KAT["timestamp"], body=KAT["body"].encode()
            )
            == KAT["signature"]
        )

    def test_known_answer_vector_through_the_endpoint(self, sender, made, clock):
        clock.freeze(datetime.fromtimestamp(KAT["timestamp"], tz=UTC))
        headers = {
            "webhook-id": KAT["id"],
            "webhook-timestamp": str(KAT["timestamp"]),
            "webhook-signature": KAT["signature"],
        }
        response = sender.post(made.path, KAT["body"], headers)
        assert response.status_code == 200, response.content
        event = InboundEvent.objects.get()
        assert event.event_id == KAT["id"] and event.headers["webhook-id"] == KAT["id"]
        assert "webhook-signature" not in event.headers

    def test_valid(self, sender, made, clock):
        response = sender.post(made.path, self.BODY, standard_headers(self.BODY))
        assert response.status_code == 200
        event = InboundEvent.objects.get()
        assert (event.event_id, event.event_type, event.status) == ("msg_1", "invoice.paid", "sent")

    def test_bad_signature(self, sender, made, clock):
        other = "whsec_" + base64.b64encode(b"x" * 32).decode()
        assert_refused(sender.post(made.path, self.BODY, standard_headers(self.BODY, secret=other)))

    def test_signature_of_another_message_id(self, sender, made, clock):
        headers = standard_headers(self.BODY)
        headers["webhook-id"] = "msg_2"
        assert_refused(sender.post(made.path, self.BODY, headers))

    @pytest.mark.parametrize("offset", [-(TIMESTAMP_TOLERANCE_SECONDS + 1), TIMESTAMP_TOLERANCE_SECONDS + 1])
    def test_stale_and_future_timestamps(self, sender, made, clock, offset):
        assert_refused(
            sender.post(made.path, self.BODY, standard_headers(self.BODY, timestamp=now_ts() + offset))
        )

    @pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
    def test_missing_header(self, sender, made, clock, missing):
        headers = standard_headers(self.BODY)
        del headers[missing]
        assert_refused(sender.post(made.path, self.BODY, headers))

    def test_several_signatures_one_valid_and_other_versions_ignored(self, sender, made, clock):
        headers = standard_headers(self.BODY)
        valid = headers["webhook-signature"]
        headers["webhook-signature"] = f"v1,{base64.b64encode(b'0' * 32).decode()} v1a,AAAA v2,zzz {valid}"
        assert sender.post(made.path, self.BODY, headers).status_code == 200

    def test_only_a_v1a_entry_is_refused(self, sender, made, clock):
        headers = standard_headers(self.BODY)
        headers["webhook-signature"] = headers["webhook-signature"].replace("v1,", "v1a,")
        assert_refused(sender.post(made.path, self.BODY, headers))

    def test_non_numeric_timestamp(self, sender, made, clock):
        headers = standard_headers(self.BODY)
        headers["webhook-timestamp"] = "2024-05-01T10:00:00Z"
        assert_refused(sender.post(made.path, self.BODY, headers))

    def test_replayed_webhook_id_is_one_event(self, sender, made, clock):
        assert sender.post(made.path, self.BODY, standard_headers(self.BODY)).json()["received"] == 1
        again = sender.post(made.path, self.BODY, standard_headers(self.BODY))
        assert again.status_code == 200 and again.json() == {"received": 0, "duplicates": 1}
        assert InboundEvent.objects.count() == 1

    def test_verified_but_not_json_is_400(self, sender, made, clock):
        response = sender.post(made.path, "plain text", standard_headers("plain text"))
        assert response.status_code == 400 and not InboundEvent.objects.exists()

    def test_overlong_webhook_id_is_400(self, sender, made, clock):
        long_id = "m" * 300
        response = sender.post(made.path, self.BODY, standard_headers(self.BODY, msg_id=long_id))
        assert response.status_code == 400

    def test_rotation_keeps_the_previous_secret_for_24_hours(self, sender, made, clock, actor):
        from webhooks.services import endpoint_rotate_secret

        new_secret = endpoint_rotate_secret(endpoint=made.endpoint, actor=actor)
        assert new_secret.startswith("whsec_") and new_secret != STANDARD_SECRET
        old = standard_headers(self.BODY, msg_id="old-1")
        assert sender.post(made.path, self.BODY, old).status_code == 200
        new = standard_headers(self.BODY, msg_id="new-1", secret=new_secret)
        assert sender.post(made.path, self.BODY, new).status_code == 200
        clock.advance(timedelta(hours=24, seconds=1))
        assert (
            sender.post(made.path, self.BODY, standard_headers(self.BODY, msg_id="old-2")).status_code == 401
        )
        new = standard_headers(self.BODY, msg_id="new-2", secret=new_secret)
        assert sender.post(made.path, self.BODY, new).status_code == 200


# --- Okta event hooks -----------------------------------------------------------------------------------


class TestOkta:
    @pytest.fixture
    def made(self, make_endpoint):
        return make_endpoint("okta")

    def test_one_time_verification_challenge(self, sender, made):
        response = sender.get(
            made.path, {"Authorization": OKTA_SECRET, "X-Okta-Verification-Challenge": "chal-7aBc_9"}
        )
        assert response.status_code == 200 and response.json() == {"verification": "chal-7aBc_9"}
        assert response["Content-Type"] == "application/json"
        assert not InboundEvent.objects.exists()

    def test_challenge_needs_the_authorization_header(self, sender, made):
        for headers in ({}, {"Authorization": "wrong-value-wrong-value"}):
            response = sender.get(made.path, {**headers, "X-Okta-Verification-Challenge": "chal"})
            assert response.status_code == 401 and response.json() == NOT_VERIFIED

    def test_get_without_a_challenge_is_400(self, sender, made):
        assert sender.get(made.path, {"Authorization": OKTA_SECRET}).status_code == 400

    def test_each_event_of_a_delivery_is_stored(self, sender, made):
        first, second = okta_event("user.lifecycle.create"), okta_event("user.session.start")
        response = sender.post(made.path, okta_body(first, second), {"Authorization": OKTA_SECRET})
        assert response.status_code == 200 and response.json() == {"received": 2, "duplicates": 0}
        stored = {event.event_id: event for event in InboundEvent.objects.all()}
        assert set(stored) == {first["uuid"], second["uuid"]}
        assert json.loads(stored[first["uuid"]].body) == first
        assert stored[second["uuid"]].event_type == "user.session.start"
        assert all("authorization" not in event.headers for event in stored.values())

    def test_bad_or_missing_authorization(self, sender, made):
        body = okta_body(okta_event("user.lifecycle.create"))
        assert_refused(sender.post(made.path, body))
        assert_refused(sender.post(made.path, body, {"Authorization": OKTA_SECRET + "x"}))
        assert_refused(sender.post(made.path, body, {"Authorization": OKTA_SECRET[:-1]}))
        assert_refused(sender.post(made.path, body, {"Authorization": f"Bearer {OKTA_SECRET}"}))

    def test_a_redelivered_uuid_is_stored_once(self, sender, made):
        event = okta_event("user.lifecycle.create")
        sender.post(made.path, okta_body(event), {"Authorization": OKTA_SECRET})
        new = okta_event("user.lifecycle.create")
        again = sender.post(made.path, okta_body(event, new), {"Authorization": OKTA_SECRET})
        assert again.json() == {"received": 1, "duplicates": 1}
        assert InboundEvent.objects.count() == 2

    @pytest.mark.parametrize(
        "body",
        [
            "[]",
            "{}",
            json.dumps({"data": {"events": "nope"}}),
            json.dumps({"data": {"events": [{"eventType": "x"}]}}),  # no uuid
            json.dumps({"data": {"events": [1, 2]}}),
            "{" * 100_000,
        ],
    )
    def test_malformed_bodies_are_400(self, sender, made, body):
        response = sender.post(made.path, body, {"Authorization": OKTA_SECRET})
        assert response.status_code == 400 and not InboundEvent.objects.exists()


# --- HTTP Basic with an OAuth client -----------------------------------------------------------------------


def basic(client_id: str, secret: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


class TestBasic:
    @pytest.fixture
    def made(self, make_endpoint, oauth_client):
        return make_endpoint("basic", client_id=oauth_client.client_id)

    def test_valid_credentials(self, sender, made, oauth_client):
        body = '{"hello": "world"}'
        response = sender.post(made.path, body, basic(oauth_client.client_id, oauth_client.plain_secret))
        assert response.status_code == 200
        event = InboundEvent.objects.get()
        assert len(event.event_id) == 64 and event.body == body  # the body's SHA-256
        assert "authorization" not in event.headers

    def test_wrong_secret_wrong_id_or_no_header(self, sender, made, oauth_client, project):
        from tests.factories import ProjectFactory

        body = "{}"
        for headers in (
            basic(oauth_client.client_id, "wrong"),
            basic("another-client", oauth_client.plain_secret),
            {},
            {"Authorization": "Basic !!!"},
            {"Authorization": f"Bearer {oauth_client.plain_secret}"},
        ):
            response = sender.post(made.path, body, headers)
            assert_refused(response)
            assert response["WWW-Authenticate"] == 'Basic realm="webhook"'
        assert ProjectFactory  # another project's client is covered by the service tests

    def test_a_disabled_client_cannot_authenticate(self, sender, made, oauth_client):
        from oauth.models import Client

        Client.objects.filter(pk=oauth_client.pk).update(is_active=False)
        assert_refused(sender.post(made.path, "{}", basic(oauth_client.client_id, oauth_client.plain_secret)))

    def test_the_clients_rotated_secret_works_during_its_grace_period(self, sender, made, oauth_client):
        from audit.context import Actor
        from oauth.services import client_rotate_secret

        new = client_rotate_secret(client=oauth_client, actor=Actor.system())
        assert sender.post(made.path, '{"n": 1}', basic(oauth_client.client_id, new)).status_code == 200
        old = basic(oauth_client.client_id, oauth_client.plain_secret)
        assert sender.post(made.path, '{"n": 2}', old).status_code == 200

    def test_the_same_body_twice_is_one_event(self, sender, made, oauth_client):
        headers = basic(oauth_client.client_id, oauth_client.plain_secret)
        sender.post(made.path, '{"n": 1}', headers)
        assert sender.post(made.path, '{"n": 1}', headers).json() == {"received": 0, "duplicates": 1}

    def test_any_utf8_body_is_accepted_but_not_other_bytes(self, sender, made, oauth_client):
        headers = basic(oauth_client.client_id, oauth_client.plain_secret)
        assert sender.post(made.path, "a=1&b=2", headers, content_type="text/plain").status_code == 200
        assert (
            sender.post(made.path, b"\xff\xfe", headers, content_type="application/octet-stream").status_code
            == 400
        )


# --- For every scheme -----------------------------------------------------------------------------------


@pytest.fixture
def any_endpoint(request, make_endpoint):
    """An endpoint of the scheme named by the test's `scheme` parameter, and valid credentials for it."""

    def make(scheme: str):
        if scheme == "basic":
            client = request.getfixturevalue("oauth_client")
            return make_endpoint("basic", client_id=client.client_id), basic(
                client.client_id, client.plain_secret
            )
        return make_endpoint(scheme), {"Authorization": OKTA_SECRET}

    return make


def signed(scheme: str, body: str, credentials: dict) -> dict:
    if scheme == "stripe":
        return stripe_header(body)
    if scheme == "standard":
        return standard_headers(body)
    return credentials


@pytest.mark.parametrize("scheme", ["basic", "stripe", "standard", "okta"])
def test_an_oversized_body_is_413(sender, any_endpoint, scheme, clock):
    made, credentials = any_endpoint(scheme)
    body = '{"id": "evt_big", "x": "' + "a" * MAX_BODY_BYTES + '"}'
    response = sender.post(made.path, body, signed(scheme, body, credentials))
    assert response.status_code == 413 and response.json()["error"]["code"] == "payload_too_large"
    assert not InboundEvent.objects.exists()


@pytest.mark.parametrize("scheme", ["basic", "stripe", "standard", "okta"])
def test_a_body_of_exactly_the_limit_is_read(sender, any_endpoint, scheme, clock):
    made, credentials = any_endpoint(scheme)
    head = '{"id": "evt_edge", "data": {"events": []}, "x": "'
    body = head + "a" * (MAX_BODY_BYTES - len(head) - 2) + '"}'
    assert len(body.encode()) == MAX_BODY_BYTES
    response = sender.post(made.path, body, signed(scheme, body, credentials))
    assert response.status_code == 200, response.content


def test_the_body_is_read_with_a_cap_whatever_content_length_says():
    """The body is read from the stream with a cap, whatever Content-Length claims."""
    from io import BytesIO

    from webhooks.receiving import BodyTooLarge, body_read

    stream = BytesIO(b"a" * (MAX_BODY_BYTES + 10))
    with pytest.raises(BodyTooLarge):
        body_read(stream.read, "10")
    with pytest.raises(BodyTooLarge):
        body_read(BytesIO(b"").read, str(MAX_BODY_BYTES + 1))
    assert body_read(BytesIO(b"abc").read, "3") == b"abc"


@pytest.mark.parametrize("scheme", ["basic", "stripe", "standard", "okta"])
def test_no_csrf_token_no_session_needed(sender, any_endpoint, scheme, clock):
    made, credentials = any_endpoint(scheme)
    body = json.dumps({"id": "evt_csrf", "data": {"events": [okta_event("user.session.start")]}})
    assert sender.post(made.path, body, signed(scheme, body, credentials)).status_code == 200


def test_unknown_and_disabled_endpoints_are_404(sender, make_endpoint, actor):
    from webhooks.services import endpoint_update

    body = okta_body(okta_event("user.session.start"))
    assert (
        sender.post("/webhooks/in/not-a-real-token/", body, {"Authorization": OKTA_SECRET}).status_code == 404
    )
    made = make_endpoint("okta")
    endpoint_update(endpoint=made.endpoint, actor=actor, is_active=False)
    assert sender.post(made.path, body, {"Authorization": OKTA_SECRET}).status_code == 404
    assert (
        sender.get(
            made.path, {"Authorization": OKTA_SECRET, "X-Okta-Verification-Challenge": "c"}
        ).status_code
        == 404
    )


def test_other_methods_are_405(sender, make_endpoint):
    stripe_made = make_endpoint("stripe")
    assert sender.get(stripe_made.path).status_code == 405
    assert sender.get(stripe_made.path)["Allow"] == "POST"
    okta_made = make_endpoint("okta")
    for method in ("PUT", "DELETE", "PATCH"):
        response = sender.request(method, okta_made.path)
        assert response.status_code == 405 and response["Allow"] == "GET, POST"


def test_answers_are_never_cached(sender, make_endpoint):
    made = make_endpoint("okta")
    response = sender.post(made.path, okta_body(), {"Authorization": OKTA_SECRET})
    assert response.status_code == 200 and "no-cache" in response["Cache-Control"]


def test_the_url_token_is_stored_only_hashed(make_endpoint):
    from oauth.tokens import token_checksum

    made = make_endpoint("okta")
    token = made.path.rstrip("/").rsplit("/", 1)[1]
    assert len(token) >= 40
    assert made.endpoint.token_checksum == token_checksum(token)
    assert token not in {str(value) for value in vars(made.endpoint).values()}
