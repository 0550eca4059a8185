"""/api/v1/projects/{id}/webhook-endpoints/: create (URL and generated secret once), list, read,
update, rotate, delete; events with status, errors and attempts; replay; tenant isolation."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEvent
from tests.webhooks.conftest import OKTA_SECRET, okta_body, okta_event
from webhooks.models import InboundEvent, WebhookEndpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(admin_user):
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


def url(project, endpoint=None, suffix=""):
    base = f"/api/v1/projects/{project.pk}/webhook-endpoints/"
    return f"{base}{endpoint.pk}/{suffix}" if endpoint is not None else base


def test_create_shows_the_url_and_a_generated_secret_once(api, project, settings):
    settings.APP_BASE_URL = "https://id.example.com"
    response = api.post(
        url(project), {"name": "Okta prod", "scheme": "okta", "handler": "okta_user_lifecycle"}
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert response["Cache-Control"] == "no-store"
    endpoint = WebhookEndpoint.objects.get(pk=body["id"])
    assert body["url"].startswith("https://id.example.com/webhooks/in/") and body["url"].endswith("/")
    token = body["url"].rstrip("/").rsplit("/", 1)[1]
    assert len(token) >= 40 and token not in str(vars(endpoint))
    assert body["secret"] and endpoint.secret == body["secret"]
    assert body["url_prefix"] == f"https://id.example.com/webhooks/in/{token[:6]}…"
    assert body["has_secret"] is True and body["client_id"] is None
    assert AuditEvent.objects.filter(action="webhook_endpoint.created", project=project).exists()
    # never again
    again = api.get(url(project, endpoint)).json()
    assert "url" not in again and "secret" not in again and body["secret"] not in str(again)
    listed = api.get(url(project))
    assert listed.json()["count"] == 1 and body["secret"] not in listed.content.decode()


def test_a_given_secret_is_kept_and_not_echoed(api, project):
    secret = "whsec_" + "A" * 40
    response = api.post(
        url(project), {"name": "S", "scheme": "standard", "handler": "generic", "secret": secret}
    )
    assert response.status_code == 201 and response.json()["secret"] is None
    assert WebhookEndpoint.objects.get().secret == secret


def test_stripe_endpoint_gets_its_secret_later(api, project):
    created = api.post(url(project), {"name": "Stripe", "scheme": "stripe", "handler": "generic"}).json()
    assert created["secret"] is None and created["has_secret"] is False
    endpoint = WebhookEndpoint.objects.get()
    bad = api.patch(url(project, endpoint), {"secret": "sk_live_not_a_signing_secret"}, format="json")
    assert bad.status_code == 400 and "secret" in bad.json()["error"]["fields"]
    ok = api.patch(url(project, endpoint), {"secret": "whsec_0123456789abcdefABCDEF"}, format="json")
    assert ok.status_code == 200 and ok.json()["has_secret"] is True


def test_validation_errors_have_fields(api, project, oauth_client):
    cases = [
        ({"name": "X", "scheme": "hmac", "handler": "generic"}, "scheme"),
        ({"name": "X", "scheme": "okta", "handler": "nope"}, "handler"),
        ({"name": "X", "scheme": "stripe", "handler": "okta_user_lifecycle"}, "handler"),
        ({"name": "X", "scheme": "basic", "handler": "generic"}, "client_id"),
        ({"name": "X", "scheme": "basic", "handler": "generic", "client_id": "unknown"}, "client_id"),
        (
            {"name": "X", "scheme": "okta", "handler": "generic", "client_id": oauth_client.client_id},
            "client_id",
        ),
        (
            {
                "name": "X",
                "scheme": "basic",
                "handler": "generic",
                "client_id": oauth_client.client_id,
                "secret": "s",
            },
            "secret",
        ),
        ({"name": "X", "scheme": "standard", "handler": "generic", "secret": "whsec_short"}, "secret"),
        ({"name": "X", "scheme": "okta", "handler": "generic", "secret": "short"}, "secret"),
        ({"scheme": "okta", "handler": "generic"}, "name"),
    ]
    for data, field in cases:
        response = api.post(url(project), data, format="json")
        assert response.status_code == 400, (data, response.json())
        assert response.json()["error"]["code"] == "validation_failed"
        assert field in response.json()["error"]["fields"], (data, response.json())
    assert not WebhookEndpoint.objects.exists()


def test_basic_endpoint_names_one_of_the_projects_clients(api, project, oauth_client, other_project):
    from audit.context import Actor
    from oauth.services import ClientInput, client_create

    response = api.post(
        url(project),
        {"name": "Lab", "scheme": "basic", "handler": "generic", "client_id": oauth_client.client_id},
    )
    assert response.status_code == 201 and response.json()["client_id"] == oauth_client.client_id
    assert response.json()["secret"] is None
    foreign = client_create(
        project=other_project,
        actor=Actor.system(),
        data=ClientInput(name="Theirs", grant_types=["client_credentials"]),
    ).client
    refused = api.post(
        url(project),
        {"name": "Lab 2", "scheme": "basic", "handler": "generic", "client_id": foreign.client_id},
    )
    assert refused.status_code == 400 and "client_id" in refused.json()["error"]["fields"]


def test_names_are_unique_per_project(api, project, make_endpoint):
    make_endpoint("okta", name="Okta")
    response = api.post(url(project), {"name": "Okta", "scheme": "okta", "handler": "generic"})
    assert response.status_code == 409 and response.json()["error"]["fields"] == {
        "name": ["Already used in this project."]
    }


def test_patch_changes_only_what_is_sent(api, project, make_endpoint):
    made = make_endpoint("okta", name="Okta")
    response = api.patch(url(project, made.endpoint), {"is_active": False, "handler": "okta_user_lifecycle"})
    assert response.status_code == 200, response.json()
    endpoint = WebhookEndpoint.objects.get()
    assert not endpoint.is_active and endpoint.handler == "okta_user_lifecycle" and endpoint.name == "Okta"
    assert endpoint.secret == OKTA_SECRET  # kept
    refused = api.patch(url(project, made.endpoint), {"scheme": "stripe"}, format="json")
    assert refused.status_code == 400 and "scheme" in refused.json()["error"]["fields"]
    audit = AuditEvent.objects.filter(action="webhook_endpoint.updated").first()
    assert audit.details == {"changed": ["handler", "is_active"]}


def test_rotate_secret(api, project, make_endpoint, oauth_client):
    made = make_endpoint("standard")
    response = api.post(url(project, made.endpoint, "rotate-secret/"))
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["secret"].startswith("whsec_") and body["endpoint"]["previous_secret_expires_at"]
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret == body["secret"] and endpoint.previous_secret == made.secret
    stripe = make_endpoint("stripe")
    needs_one = api.post(url(project, stripe.endpoint, "rotate-secret/"))
    assert needs_one.status_code == 400 and "secret" in needs_one.json()["error"]["fields"]
    given = api.post(url(project, stripe.endpoint, "rotate-secret/"), {"secret": "whsec_newnewnewnewnewnew"})
    assert given.status_code == 200 and given.json()["secret"] is None
    basic = make_endpoint("basic", client_id=oauth_client.client_id)
    assert api.post(url(project, basic.endpoint, "rotate-secret/")).status_code == 409


def test_delete(api, project, make_endpoint, sender):
    made = make_endpoint("okta")
    assert api.delete(url(project, made.endpoint)).status_code == 204
    assert not WebhookEndpoint.objects.exists()
    assert sender.post(made.path, okta_body(), {"Authorization": OKTA_SECRET}).status_code == 404
    assert AuditEvent.objects.filter(action="webhook_endpoint.deleted").exists()


def test_events_list_detail_and_replay(api, project, make_endpoint, sender):
    made = make_endpoint("okta", handler="okta_user_lifecycle")
    deactivate = okta_event("user.lifecycle.deactivate", okta_id="00uOWNER")
    from accounts.models import Membership

    Membership.objects.filter(project=project, role="owner").update(external_id="00uOWNER")
    sender.post(
        made.path, okta_body(deactivate, okta_event("user.session.start")), {"Authorization": OKTA_SECRET}
    )
    listed = api.get(url(project, made.endpoint, "events/"))
    assert listed.status_code == 200 and listed.json()["count"] == 2
    dead = api.get(url(project, made.endpoint, "events/"), {"status": "dead"}).json()["results"]
    assert len(dead) == 1
    assert dead[0]["event_id"] == deactivate["uuid"] and dead[0]["attempts"] == 1
    assert dead[0]["last_error"].startswith("Refused: Only an owner") and "body" not in dead[0]
    detail = api.get(url(project, made.endpoint, f"events/{dead[0]['id']}/"))
    assert detail.status_code == 200 and detail["Cache-Control"] == "no-store"
    assert deactivate["uuid"] in detail.json()["body"] and "authorization" not in detail.json()["headers"]

    replay = api.post(url(project, made.endpoint, f"events/{dead[0]['id']}/replay/"))
    assert replay.status_code == 202 and replay.json()["attempts"] == 0
    event = InboundEvent.objects.get(pk=dead[0]["id"])
    assert AuditEvent.objects.filter(action="webhook_event.replayed", target_id=str(event.pk)).exists()
    assert event.status == "queued"  # the engine runs it once the request commits (next test)


def test_replay_runs_the_handler_again(
    api, project, make_endpoint, sender, django_capture_on_commit_callbacks
):
    from accounts.models import Membership

    made = make_endpoint("okta", handler="okta_user_lifecycle")
    owner = Membership.objects.get(project=project, role="owner")
    Membership.objects.filter(pk=owner.pk).update(external_id="00uOWNER")
    sender.post(
        made.path,
        okta_body(okta_event("user.lifecycle.deactivate", okta_id="00uOWNER")),
        {"Authorization": OKTA_SECRET},
    )
    event = InboundEvent.objects.get()
    assert event.status == "dead"
    Membership.objects.filter(pk=owner.pk).update(role="member")  # the admin fixed the cause
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(url(project, made.endpoint, f"events/{event.pk}/replay/")).status_code == 202
    event.refresh_from_db()
    assert event.status == "sent" and event.attempts == 1 and "Deactivated" in event.outcome
    assert not Membership.objects.get(pk=owner.pk).is_active
    again = api.post(url(project, made.endpoint, f"events/{event.pk}/replay/"))
    assert again.status_code == 202  # a processed event may be replayed too (handlers are idempotent)
    assert api.post(url(project, made.endpoint, f"events/{event.pk}/replay/")).status_code == 409  # queued


def test_another_projects_endpoint_is_a_404(api, project, other_project, make_endpoint, sender):
    foreign = make_endpoint("okta", project=other_project, name="Theirs")
    sender.post(foreign.path, okta_body(okta_event("x")), {"Authorization": OKTA_SECRET})
    event = InboundEvent.objects.get()
    assert api.get(url(project, foreign.endpoint)).status_code == 404
    assert api.patch(url(project, foreign.endpoint), {"name": "Mine"}, format="json").status_code == 404
    assert api.delete(url(project, foreign.endpoint)).status_code == 404
    assert api.post(url(project, foreign.endpoint, "rotate-secret/")).status_code == 404
    assert api.get(url(project, foreign.endpoint, "events/")).status_code == 404
    assert api.get(url(project, foreign.endpoint, f"events/{event.pk}/")).status_code == 404
    assert api.post(url(project, foreign.endpoint, f"events/{event.pk}/replay/")).status_code == 404
    assert api.get(url(other_project)).status_code == 404
    # an event of another endpoint under one's own endpoint
    mine = make_endpoint("okta", name="Mine")
    assert api.get(url(project, mine.endpoint, f"events/{event.pk}/")).status_code == 404
    assert api.post(url(project, mine.endpoint, f"events/{event.pk}/replay/")).status_code == 404
    assert WebhookEndpoint.objects.get(pk=foreign.endpoint.pk).name == "Theirs"


def test_members_are_refused_and_anonymous_callers_are_401(member_membership, project, make_endpoint):
    made = make_endpoint("okta")
    client = APIClient()
    client.force_authenticate(member_membership.user)
    assert client.get(url(project)).status_code == 403
    assert client.get(url(project, made.endpoint)).status_code == 403
    assert APIClient().get(url(project)).status_code == 401
