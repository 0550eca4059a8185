"""Stored XSS (hostile review, #12 item 6): names an admin or a user types — people's names,
the project's name and display name, clients, access policies, webhook endpoints, identity
providers — carry script, and every page and email that shows them must show them as text.

Every portal page of the project (the URL resolver walked, as in test_tenant_isolation.py) is
rendered as its admin, plus the sign-in page with the project's branding, the consent page,
connected apps, the audit log and the emails; no answer may contain a payload's raw markup.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import AccessPolicy, Project, User
from accounts.services.invitations import InviteInput, invitation_create
from audit.context import Actor
from audit.services import audit_record
from federation.models import IdentityProvider
from oauth.models import Client as OAuthClient
from tests.factories import MembershipFactory, ProjectFactory, UserFactory
from tests.identity.test_tenant_isolation import project_routes, tenant
from webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db

PAYLOADS = ["<script>alert(1)</script>", '"><img src=x onerror=alert(2)>', "'><svg onload=alert(3)>"]
RAW = ("<script>alert(1)", "<img src=x onerror", "<svg onload")
NAME = " ".join(PAYLOADS)


def assert_escaped(body: str, where: str) -> None:
    for raw in RAW:
        assert raw not in body, f"{where}: {raw!r} unescaped"


@pytest.fixture
def hostile(settings):
    """A project whose every name is hostile, with one of everything a page shows."""
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    project = ProjectFactory(name=NAME[:100])
    world = tenant(project)
    Project.objects.filter(pk=project.pk).update(display_name=NAME[:100])
    User.objects.filter(memberships__project=project).update(first_name=PAYLOADS[0], last_name=PAYLOADS[1])
    for model in (AccessPolicy, OAuthClient, WebhookEndpoint, IdentityProvider):
        model._default_manager.filter(project=project).update(name=NAME[:100])
    project.refresh_from_db()
    # the audit log shows labels and details as they were written (a name before a rename, a user agent)
    audit_record(
        action="access_policy.updated",
        actor=Actor(user=world["admin"], ip_address="203.0.113.7", user_agent=PAYLOADS[2]),
        project=project,
        target=world["objects"][-1],
        target_label=NAME[:255],
        details={"name": PAYLOADS[0], "changes": {"name": [PAYLOADS[1], PAYLOADS[0]]}},
    )
    return project, world


def test_every_portal_page_escapes_hostile_names(hostile):
    project, world = hostile
    browser = Client(raise_request_exception=False)
    browser.force_login(world["admin"])
    seen = 0
    for route in project_routes():
        if not {"project_slug"} <= set(route.params):
            continue
        url = reverse(route.name, kwargs={p: world["values"][p] for p in route.params})
        response = browser.get(url)
        if response.status_code != 200 or not response.get("Content-Type", "").startswith("text/html"):
            continue
        body = response.content.decode()
        assert_escaped(body, url)
        seen += "&lt;script&gt;alert(1)" in body
    assert seen >= 10, f"only {seen} pages showed a hostile name: the test no longer looks"


def test_sign_in_consent_and_account_pages_escape_hostile_names(hostile, django_capture_on_commit_callbacks):
    project, world = hostile
    client = next(obj for obj in world["objects"] if isinstance(obj, OAuthClient))
    login = Client().get(reverse("account_login") + "?" + urlencode({"project": project.slug}))
    assert "&lt;script&gt;alert(1)" in login.content.decode()
    assert_escaped(login.content.decode(), "sign-in page")

    member = UserFactory(first_name=PAYLOADS[0], last_name=PAYLOADS[2])
    MembershipFactory(project=project, user=member)
    browser = Client()
    browser.force_login(member)
    query = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": "https://app.test/cb",
        "scope": "openid",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    }
    consent = browser.get("/o/authorize/?" + urlencode(query))
    assert consent.status_code == 200 and "&lt;script&gt;alert(1)" in consent.content.decode()
    assert_escaped(consent.content.decode(), "consent page")
    for name in ("connected_apps", "sessions", "sign_in_methods", "mfa_enrolment_required"):
        assert_escaped(browser.get(reverse(name)).content.decode(), name)


def test_emails_escape_hostile_names(hostile, mailoutbox, django_capture_on_commit_callbacks):
    project, world = hostile
    actor = Actor(user=world["admin"], ip_address="203.0.113.7", user_agent="pytest")
    with django_capture_on_commit_callbacks(execute=True):
        invitation_create(
            project=project,
            actor=actor,
            data=InviteInput(email="victim@example.test", first_name=PAYLOADS[0], last_name=PAYLOADS[1]),
        )
    assert mailoutbox
    for message in mailoutbox:
        html = [
            content for content, mimetype in getattr(message, "alternatives", []) if mimetype == "text/html"
        ]
        assert html, message.subject
        assert "&lt;script&gt;alert(1)" in html[0]
        assert_escaped(html[0], f"email {message.subject!r}")
    # the outbox page and the email's preview in the portal
    browser = Client()
    browser.force_login(world["admin"])
    message_id = world["values"]["message_id"]
    for name in ("portal:outbox_message", "portal:outbox_html"):
        page = browser.get(reverse(name, kwargs={"project_slug": project.slug, "message_id": message_id}))
        assert_escaped(page.content.decode(), name)
