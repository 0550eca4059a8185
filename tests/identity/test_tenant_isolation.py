"""Tenant isolation through every project route (hostile review, #12 item 6).

The URL resolver is walked: every route under /portal/<project_slug>/… and
/api/v1/projects/<project_id>/… is requested by an admin of project A only, with its path filled
with project B's objects — all of them, and one at a time beside A's own (A's identity provider
with B's domain claim, A's endpoint with B's event, …) — with GET, POST, PUT, PATCH and DELETE.
Every answer must be 404 (405 where the route has no such method), and nothing of B may change.
A control request with A's own objects must not be a 404, so a parameter filled wrongly cannot
pass for isolation. A new route under these prefixes is covered without touching this file; a new
path parameter must be given values below (the test names it). Routes under the prefixes that
take no project are listed in NOT_PROJECT_SCOPED with the reason.
"""

from __future__ import annotations

import json
import uuid

import pytest
from django.apps import apps
from django.core import serializers
from django.db import transaction
from django.test import Client, override_settings
from django.urls import reverse

from accounts.models import BulkInvite
from accounts.services.invitations import InviteInput, invitation_create
from audit.context import Actor
from notifications.models import OutboundMessage
from tests.factories import AccessPolicyFactory, AccessPolicyRuleFactory, MembershipFactory, ProjectFactory
from tests.support.site_pages import Route, named_routes

pytestmark = pytest.mark.django_db


def project_routes() -> list[Route]:
    """The portal's and the project API's named routes (the one URL walker: tests/support/site_pages.py)."""
    return [route for route in named_routes() if route.pattern.startswith(("portal/", "api/v1/projects/"))]


# Routes under the prefixes without a project in their path, and why.
NOT_PROJECT_SCOPED = {
    "portal:home": "lists the signed-in user's own projects (test_home_and_project_list_show_only_own_projects)",
    "portal:switch": "redirects to a project page, which the gate checks (test_open_redirects.py)",
    "portal:project_create": "operators (superusers) create a project here; it names none yet",
    "api-projects": "lists the caller's own projects (test_home_and_project_list_show_only_own_projects)",
}

# Object parameters and the model each names (the project's own parameter is handled apart).
PROJECT_PARAMS = ("project_slug", "project_id")
METHODS = ("get", "post", "put", "patch", "delete")
# A body that would change something if the object were found.
BODY = {
    "name": "Taken over",
    "display_name": "Taken over",
    "role": "owner",
    "is_active": False,
    "email": "attacker@evil.test",
    "url": "https://evil.test/hook",
    "events": ["user.invited"],
    "domain": "evil.test",
    "rules": [{"resource_type": "Patient", "interactions": "cruds", "criteria": ""}],
}


def tenant(project) -> dict:
    """One project with one of everything a project route names; the values of the path."""
    from federation.services import IdentityProviderInput, identity_provider_create
    from federation.services.domains import domain_claim_create
    from oauth.services import ClientInput, client_create
    from webhooks import services as webhook_services
    from webhooks import subscriptions
    from webhooks.models import EventDelivery, InboundEvent

    admin = MembershipFactory(project=project, role="owner").user
    actor = Actor(user=admin, ip_address="203.0.113.7", user_agent="pytest")
    member = MembershipFactory(project=project, role="member")
    tag = project.slug
    invited = invitation_create(project=project, actor=actor, data=InviteInput(email=f"joiner@{tag}.test"))
    client = client_create(
        project=project,
        actor=actor,
        data=ClientInput(
            name="Web app", grant_types=["authorization_code"], redirect_uris=["https://app.test/cb"]
        ),
    ).client
    idp = identity_provider_create(
        project=project,
        actor=actor,
        data=IdentityProviderInput(
            kind="okta", name="Okta", org_domain=f"{tag}.okta.com", client_id="0oa1", client_secret="s" * 20
        ),
    )
    domain = domain_claim_create(identity_provider=idp, actor=actor, domain=f"{tag}-health.com")
    endpoint = webhook_services.endpoint_create(
        project=project,
        actor=actor,
        name="Okta",
        scheme="standard",
        handler="generic",
        secret="whsec_" + "A" * 32,
    ).endpoint
    event = InboundEvent.objects.create(
        endpoint=endpoint,
        event_id="evt-1",
        body="{}",
        status="dead",
        idempotency_key=f"isolation:{uuid.uuid4()}",
    )
    subscription = subscriptions.subscription_create(
        project=project, actor=actor, url="https://127.0.0.1:9/hook", events=["user.invited"]
    ).subscription
    delivery = EventDelivery.objects.create(
        subscription=subscription,
        event_type="user.invited",
        audit_event_id=uuid.uuid4(),
        payload="{}",
        status="dead",
        idempotency_key=f"isolation:{uuid.uuid4()}",
    )
    job = BulkInvite.objects.create(project=project, created_by=admin, content_hash=uuid.uuid4().hex * 2)
    policy = AccessPolicyFactory(project=project, name="Nurses")
    AccessPolicyRuleFactory(policy=policy)
    return {
        "project": project,
        "admin": admin,
        "objects": [
            member,
            invited.invitation,
            client,
            idp,
            domain,
            endpoint,
            event,
            subscription,
            delivery,
            job,
            policy,
        ],
        "values": {
            "project_slug": project.slug,
            "project_id": project.pk,
            "membership_id": member.pk,
            "policy_id": policy.pk,
            "message_id": OutboundMessage.objects.filter(project=project).latest("created_at").pk,
            "job_id": job.pk,
            "invitation_id": invited.invitation.pk,
            "client_pk": client.pk,
            "idp_id": idp.pk,
            "domain_id": domain.pk,
            "endpoint_id": endpoint.pk,
            "event_pk": event.pk,
            "subscription_id": subscription.pk,
            "delivery_id": delivery.pk,
        },
    }


def snapshot(project, objects) -> str:
    """Everything of project B a request could change: its objects' rows and its rows' counts."""
    rows = [type(obj)._default_manager.filter(pk=obj.pk).first() for obj in objects]
    counted = {}
    for model in apps.get_models():
        names = {f.name for f in model._meta.get_fields()}
        if "project" in names and model._meta.get_field("project").is_relation:
            counted[model._meta.label] = model._default_manager.filter(project=project).count()
    return serializers.serialize("json", [project, *[r for r in rows if r is not None]]) + json.dumps(counted)


def send(client: Client, method: str, url: str):
    if method in ("get", "delete"):
        return getattr(client, method)(url)
    if url.startswith("/api/"):
        return getattr(client, method)(url, data=json.dumps(BODY), content_type="application/json")
    return getattr(client, method)(url, data={k: v for k, v in BODY.items() if isinstance(v, str)})


@pytest.fixture(scope="module")
def tenants(django_db_setup, django_db_blocker):
    """Projects A and B, made once for the module inside a transaction rolled back at its end
    (each test runs in a savepoint of it, so what a test changes is undone too)."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            with override_settings(WEBHOOK_ALLOW_PRIVATE_TARGETS=True):
                mine, theirs = tenant(ProjectFactory()), tenant(ProjectFactory())
            yield mine, theirs
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.mark.parametrize("route", project_routes(), ids=lambda route: route.name)
def test_no_route_reaches_another_projects_objects(route, tenants):
    if route.name in NOT_PROJECT_SCOPED:
        assert not set(route.params) & set(PROJECT_PARAMS), f"{route.name} names a project now: test it"
        return
    assert set(route.params) & set(PROJECT_PARAMS), (
        f"{route.name}: no project in the path; list it with a reason"
    )
    mine, theirs = tenants
    theirs_project = theirs["project"]
    missing = [p for p in route.params if p not in mine["values"]]
    assert not missing, f"{route.name}: give {missing} values in tenant()"

    object_params = [p for p in route.params if p not in PROJECT_PARAMS]
    # all of B; then A's project with B's objects; then A's own with one of B's at a time
    attempts = [{p: theirs["values"][p] for p in route.params}]
    if object_params:
        attempts.append({p: (mine if p in PROJECT_PARAMS else theirs)["values"][p] for p in route.params})
    if len(object_params) > 1:
        for foreign in object_params:
            attempts.append({p: (theirs if p == foreign else mine)["values"][p] for p in route.params})

    client = Client(raise_request_exception=False)
    client.force_login(mine["admin"])
    before = snapshot(theirs_project, theirs["objects"])
    for kwargs in attempts:
        url = reverse(route.name, kwargs=kwargs)
        for method in METHODS:
            response = send(client, method, url)
            assert response.status_code in (404, 405), (
                f"{method.upper()} {url} ({route.name} with {sorted(kwargs)}) answered "
                f"{response.status_code}: {response.content[:300]!r}"
            )
            if url.startswith("/api/") and response.status_code == 404:
                assert response.json()["error"]["code"] == "not_found", url
    assert snapshot(theirs_project, theirs["objects"]) == before, f"{route.name} changed project B"

    # control: A's own objects are found, so the 404s above were about the tenant
    url = reverse(route.name, kwargs={p: mine["values"][p] for p in route.params})
    answered = {}
    for method in METHODS:
        answered[method] = send(client, method, url).status_code
        if answered[method] not in (404, 405):
            break
    assert any(code not in (404, 405) for code in answered.values()), (
        f"{url}: own objects not found {answered}"
    )


def test_home_and_project_list_show_only_own_projects(admin_client, project, other_project):
    page = admin_client.get(reverse("portal:home"), follow=True)
    assert other_project.name not in page.content.decode()
    listed = admin_client.get(reverse("api-projects")).json()
    ids = {item["id"] for item in listed.get("results", listed if isinstance(listed, list) else [])}
    assert str(other_project.pk) not in ids and str(project.pk) in ids


# --- ids in request bodies -----------------------------------------------------------------------


def test_no_body_field_names_another_projects_object(tenants):
    """Ids sent in a body (a policy, a member, a client) of project B are refused by project A's
    API like unknown ones (400 naming the field), and nothing of B is used or changed."""
    mine, theirs = tenants
    project_id = mine["values"]["project_id"]
    their_policy = str(theirs["values"]["policy_id"])
    their_client = next(o for o in theirs["objects"] if o.__class__.__name__ == "Client")
    base = f"/api/v1/projects/{project_id}"
    attempts = [
        ("patch", f"{base}/memberships/{mine['values']['membership_id']}/", {"access_policy": their_policy}),
        ("post", f"{base}/invites/", {"email": "new@example.test", "access_policy": their_policy}),
        (
            "post",
            f"{base}/clients/",
            {"name": "New", "grant_types": ["client_credentials"], "access_policy": their_policy},
        ),
        (
            "put",
            f"{base}/clients/{mine['values']['client_pk']}/",
            {
                "name": "Web app",
                "grant_types": ["authorization_code"],
                "redirect_uris": ["https://app.test/cb"],
                "access_policy": their_policy,
            },
        ),
        ("patch", f"{base}/settings/", {"default_access_policy": their_policy}),
        ("post", f"{base}/access-simulator/", {"membership_id": str(theirs["values"]["membership_id"])}),
        ("post", f"{base}/access-simulator/", {"client_id": their_client.client_id}),
        (
            "post",
            f"{base}/webhook-endpoints/",
            {"name": "Basic", "scheme": "basic", "handler": "generic", "client_id": their_client.client_id},
        ),
    ]
    client = Client()
    client.force_login(mine["admin"])
    before = snapshot(theirs["project"], theirs["objects"])
    for method, url, body in attempts:
        response = getattr(client, method)(url, data=json.dumps(body), content_type="application/json")
        assert response.status_code == 400, (method, url, body, response.content[:300])
        error = response.json()["error"]
        assert error["code"] == "validation_failed" and error["fields"], (url, error)
    assert snapshot(theirs["project"], theirs["objects"]) == before
