"""Webhook pages: list, create (URL and secret shown once), detail with the endpoint's recent events
(paginated, filtered by status; error and attempts visible), an event's page, replay, rotate,
settings, delete with confirmation, tenant isolation. No JavaScript needed."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from accounts.models import Membership
from audit.models import AuditEvent
from tests.webhooks.conftest import OKTA_SECRET, okta_body, okta_event
from webhooks.models import InboundEvent, WebhookEndpoint

pytestmark = pytest.mark.django_db


def page(name, project, **kwargs):
    return reverse(f"portal:{name}", kwargs={"project_slug": project.slug, **kwargs})


def test_the_section_is_no_longer_coming_soon(admin_client, project, make_endpoint):
    make_endpoint("okta", name="Okta prod")
    html = admin_client.get(page("webhooks", project)).content.decode()
    assert "Coming: this section" not in html
    assert "Okta prod" in html and "New endpoint" in html


def test_create_shows_the_url_and_secret_once(admin_client, project, settings):
    settings.APP_BASE_URL = "https://id.example.com"
    response = admin_client.post(
        page("webhook_create", project),
        {"name": "Okta prod", "scheme": "okta", "handler": "okta_user_lifecycle", "is_active": "on"},
    )
    endpoint = WebhookEndpoint.objects.get(project=project)
    # post/redirect/get: the URL and secret wait in the session for one GET
    assert response.status_code == 303
    assert response["Location"] == page("webhook_secret", project, endpoint_id=endpoint.pk)
    response = admin_client.get(response["Location"])
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    html = response.content.decode()
    url = re.search(
        r'<code id="webhook-url">(https://id\.example\.com/webhooks/in/[A-Za-z0-9_-]+/)</code>', html
    )
    secret = re.search(r'<code id="webhook-secret">([^<]+)</code>', html)
    assert url and secret and secret.group(1) == endpoint.secret
    assert "shown only once" in html
    detail = admin_client.get(page("webhook", project, endpoint_id=endpoint.pk)).content.decode()
    assert url.group(1) not in detail and endpoint.secret not in detail
    assert "stored (never shown)" in detail and url.group(1)[:-38] in detail  # the prefix only
    reload = admin_client.get(page("webhook_secret", project, endpoint_id=endpoint.pk), follow=True)
    assert endpoint.secret not in reload.content.decode() and "shown once" in reload.content.decode()
    assert WebhookEndpoint.objects.filter(project=project).count() == 1


def test_stripe_create_then_paste_the_secret(admin_client, project):
    response = admin_client.post(
        page("webhook_create", project),
        {"name": "Stripe", "scheme": "stripe", "handler": "generic", "is_active": "on"},
        follow=True,
    )
    assert response.status_code == 200 and "paste Stripe" in response.content.decode()
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret == ""
    saved = admin_client.post(
        page("webhook", project, endpoint_id=endpoint.pk),
        {"name": "Stripe", "handler": "generic", "secret": "whsec_0123456789abcdefABCDEF", "is_active": "on"},
    )
    assert saved.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.secret == "whsec_0123456789abcdefABCDEF"


def test_create_shows_field_errors(admin_client, project):
    response = admin_client.post(
        page("webhook_create", project),
        {"name": "Lab", "scheme": "basic", "handler": "generic", "is_active": "on"},
    )
    assert response.status_code == 400
    assert "Choose the OAuth client" in response.content.decode()
    wrong = admin_client.post(
        page("webhook_create", project),
        {
            "name": "X",
            "scheme": "stripe",
            "handler": "okta_user_lifecycle",
            "secret": "whsec_0123456789abcdefABCDEF",
        },
    )
    html = wrong.content.decode()
    assert wrong.status_code == 400 and "does not read stripe events" in html
    assert "whsec_0123456789abcdefABCDEF" not in html  # the secret is not rendered back
    assert not WebhookEndpoint.objects.exists()


def test_detail_lists_recent_events_with_status_error_attempts_and_replay(
    admin_client, project, make_endpoint, sender
):
    made = make_endpoint("okta", handler="okta_user_lifecycle", name="Okta prod")
    Membership.objects.filter(project=project, role="owner").update(external_id="00uOWNER")
    refused = okta_event("user.lifecycle.deactivate", okta_id="00uOWNER")
    sender.post(
        made.path, okta_body(refused, okta_event("user.session.start")), {"Authorization": OKTA_SECRET}
    )
    html = admin_client.get(page("webhook", project, endpoint_id=made.endpoint.pk)).content.decode()
    assert "user.lifecycle.deactivate" in html and "user.session.start" in html
    assert "Dead (gave up)" in html and "Processed" in html
    assert "Refused: Only an owner can deactivate" in html and "not handled" in html
    event = InboundEvent.objects.get(event_id=refused["uuid"])
    replay = page("webhook_event_replay", project, endpoint_id=made.endpoint.pk, event_pk=event.pk)
    assert f'action="{replay}"' in html
    dead_only = admin_client.get(
        page("webhook", project, endpoint_id=made.endpoint.pk) + "?status=dead"
    ).content.decode()
    assert "user.lifecycle.deactivate" in dead_only and "user.session.start" not in dead_only

    response = admin_client.post(replay, follow=True)
    assert "is queued to be processed again" in response.content.decode()
    event.refresh_from_db()
    assert event.status == "queued" and event.attempts == 0
    assert AuditEvent.objects.filter(action="webhook_event.replayed").count() == 1
    again = admin_client.post(replay, follow=True).content.decode()
    assert "already waiting to be processed" in again


def test_events_are_paginated(admin_client, project, make_endpoint, settings):
    from webhooks.schemes import ParsedEvent
    from webhooks.services import inbound_receive

    settings.PORTAL_PAGE_SIZE = 5
    made = make_endpoint("okta")
    inbound_receive(
        endpoint=made.endpoint,
        events=[ParsedEvent(event_id=f"e{n}", event_type=f"type.{n}", body="{}") for n in range(12)],
        headers={},
        remote_addr=None,
    )
    first = admin_client.get(page("webhook", project, endpoint_id=made.endpoint.pk)).content.decode()
    assert "Page 1 of 3 (12 in all)" in first and first.count("type.") == 5
    last = admin_client.get(
        page("webhook", project, endpoint_id=made.endpoint.pk) + "?page=3"
    ).content.decode()
    assert last.count("type.") == 2


def test_event_page_shows_headers_and_body_and_replays_back_to_itself(
    admin_client, project, make_endpoint, sender
):
    made = make_endpoint("okta")
    event_body = okta_event("user.session.start")
    sender.post(
        made.path, okta_body(event_body), {"Authorization": OKTA_SECRET, "User-Agent": "Okta Event Hooks"}
    )
    event = InboundEvent.objects.get()
    url = page("webhook_event", project, endpoint_id=made.endpoint.pk, event_pk=event.pk)
    response = admin_client.get(url)
    html = response.content.decode()
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert event_body["uuid"] in html and "Okta Event Hooks" in html and OKTA_SECRET not in html
    replayed = admin_client.post(
        page("webhook_event_replay", project, endpoint_id=made.endpoint.pk, event_pk=event.pk),
        {"next": "event"},
    )
    assert replayed.status_code == 302 and replayed["Location"] == url


def test_rotate_secret_shows_the_new_one_once(admin_client, project, make_endpoint):
    made = make_endpoint("standard")
    response = admin_client.post(
        page("webhook_rotate_secret", project, endpoint_id=made.endpoint.pk), follow=True
    )
    html = response.content.decode()
    endpoint = WebhookEndpoint.objects.get()
    assert response.status_code == 200 and f'<code id="webhook-secret">{endpoint.secret}</code>' in html
    assert "previous secret keeps working until" in html and 'id="webhook-url"' not in html
    stripe = make_endpoint("stripe")
    refused = admin_client.post(page("webhook_rotate_secret", project, endpoint_id=stripe.endpoint.pk))
    assert refused.status_code == 400 and "Paste the new signing secret" in refused.content.decode()
    pasted = admin_client.post(
        page("webhook_rotate_secret", project, endpoint_id=stripe.endpoint.pk),
        {"secret": "whsec_rolledrolledrolled00"},
        follow=True,
    )
    assert "still works for 24 hours" in pasted.content.decode()


def test_settings_and_delete(admin_client, project, make_endpoint):
    made = make_endpoint("okta", name="Okta")
    detail = page("webhook", project, endpoint_id=made.endpoint.pk)
    saved = admin_client.post(detail, {"name": "Okta (prod)", "handler": "okta_user_lifecycle"}, follow=True)
    assert "Saved Okta (prod)." in saved.content.decode()
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.name == "Okta (prod)" and not endpoint.is_active and endpoint.secret == OKTA_SECRET
    confirm = admin_client.get(page("webhook_delete", project, endpoint_id=endpoint.pk))
    assert confirm.status_code == 200 and "cannot be undone" in confirm.content.decode()
    deleted = admin_client.post(page("webhook_delete", project, endpoint_id=endpoint.pk), follow=True)
    assert "Deleted Okta (prod)" in deleted.content.decode() and not WebhookEndpoint.objects.exists()


def test_another_projects_endpoint_is_a_404(admin_client, project, other_project, make_endpoint, sender):
    foreign = make_endpoint("okta", project=other_project)
    sender.post(foreign.path, okta_body(okta_event("x")), {"Authorization": OKTA_SECRET})
    event = InboundEvent.objects.get()
    for name, method in (
        ("webhook", "get"),
        ("webhook", "post"),
        ("webhook_delete", "get"),
        ("webhook_delete", "post"),
        ("webhook_rotate_secret", "post"),
    ):
        response = getattr(admin_client, method)(page(name, project, endpoint_id=foreign.endpoint.pk))
        assert response.status_code == 404, name
    for name in ("webhook_event", "webhook_event_replay"):
        method = admin_client.get if name == "webhook_event" else admin_client.post
        assert (
            method(page(name, project, endpoint_id=foreign.endpoint.pk, event_pk=event.pk)).status_code == 404
        )
    assert admin_client.get(page("webhooks", other_project)).status_code == 404
    assert WebhookEndpoint.objects.filter(pk=foreign.endpoint.pk).exists()


def test_members_get_403(member_client, project, make_endpoint):
    made = make_endpoint("okta")
    assert member_client.get(page("webhooks", project)).status_code == 403
    assert member_client.get(page("webhook", project, endpoint_id=made.endpoint.pk)).status_code == 403
