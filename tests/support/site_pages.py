"""Every page of the site, for tests that visit them all (tests/identity/test_security_headers.py,
tests/e2e/test_csp.py, tests/e2e/test_accessibility.py): the URL resolver walked for its named routes, and one project with one of
everything a parametrised route needs, made by the services and factories.

A new route is covered without touching this module; a new parameter name must be given a value
in `build_site` (kwargs_for names it).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from urllib.parse import urlparse

from django.apps import apps
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.models import BulkInvite
from accounts.services.invitations import InviteInput, invitation_create
from audit.context import Actor
from notifications.models import OutboundMessage
from tests.factories import MembershipFactory, UserFactory


@dataclass(frozen=True)
class Route:
    name: str  # namespaced, e.g. "portal:membership"
    pattern: str
    params: tuple[str, ...]


def named_routes() -> list[Route]:
    routes: dict[str, Route] = {}

    def walk(resolver: URLResolver, prefix: str, namespace: str, params: tuple[str, ...]) -> None:
        for entry in resolver.url_patterns:
            own = tuple(entry.pattern.regex.groupindex)
            if isinstance(entry, URLResolver):
                inner = namespace
                if entry.namespace:
                    inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
                walk(entry, prefix + str(entry.pattern), inner, params + own)
            elif isinstance(entry, URLPattern) and entry.name:
                name = f"{namespace}:{entry.name}" if namespace else entry.name
                # the first route of a name wins, as in reverse()
                routes.setdefault(name, Route(name, prefix + str(entry.pattern), tuple(sorted(params + own))))

    walk(get_resolver(), "", "", ())
    return sorted(routes.values(), key=lambda route: route.name)


# Routes that are not pages: the catch-all of the admin and anymail's ESP webhooks need a body
# (still fetched: their answers must carry the headers too).
SKIP = {"admin:view_on_site"}
# Routes allowed to answer 500 in the page walks: none (the ESP webhooks of providers not configured
# here, which did, are 404s since notifications/urls.py).
KNOWN_SERVER_ERRORS: tuple[str, ...] = ()


def build_site(*, settings, project, admin_user, sent_links) -> dict:
    """One project with one of everything a parametrised page shows, and who looks at it."""
    from federation.services import IdentityProviderInput, identity_provider_create
    from federation.services.domains import domain_claim_create
    from oauth.services import ClientInput, client_create
    from webhooks import services as webhook_services
    from webhooks import subscriptions

    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    actor = Actor(user=admin_user, ip_address="203.0.113.7", user_agent="pytest")
    member = MembershipFactory(project=project, role="member")
    invited = invitation_create(project=project, actor=actor, data=InviteInput(email="joiner@example.test"))
    link = urlparse(sent_links()[-1]).path.strip("/").split("/")
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
            kind="okta",
            name="Acme Okta",
            org_domain="acme.okta.com",
            client_id="0oa1",
            client_secret="s" * 20,
        ),
    )
    domain = domain_claim_create(identity_provider=idp, actor=actor, domain="acme-health.com")
    endpoint = webhook_services.endpoint_create(
        project=project,
        actor=actor,
        name="Okta",
        scheme="standard",
        handler="generic",
        secret="whsec_" + "A" * 32,
    ).endpoint
    subscription = subscriptions.subscription_create(
        project=project, actor=actor, url="https://127.0.0.1:9/hook", events=["user.invited"]
    ).subscription
    job = BulkInvite.objects.create(project=project, created_by=admin_user, content_hash="0" * 64)
    policy_model = apps.get_model("accounts", "AccessPolicy")
    policy = policy_model.objects.create(project=project, name="Nurses")
    superuser = UserFactory(is_staff=True, is_superuser=True)
    values = {
        "project_slug": project.slug,
        "slug": project.slug,
        "project_id": project.pk,
        "membership_id": member.pk,
        "policy_id": policy.pk,
        "message_id": OutboundMessage.objects.filter(project=project).latest("created_at").pk,
        "job_id": job.pk,
        "invitation_id": invited.invitation.pk,
        "client_pk": client.pk,
        "client_id": client.client_id,
        "idp_id": idp.pk,
        "domain_id": domain.pk,
        "endpoint_id": endpoint.pk,
        "subscription_id": subscription.pk,
        "request_id": link[1],
        "secret": link[2],
        "provider_id": idp.provider_id,
        # no real object: the page answers 404 (or its own error page), still with the headers
        "delivery_id": uuid.uuid4(),
        "event_pk": uuid.uuid4(),
        "session_id": "nosuchsession",
        "sid": "nosuchsession",
        "identity_id": 999999,
        "token": "nosuchtoken",
        "key": "nosuchkey",
        "uidb36": "zz",
        "pk": 999999,
        "app_label": "accounts",
    }
    return {"values": values, "admin": admin_user, "member": member.user, "superuser": superuser}


def kwargs_for(route: Route, world: dict) -> dict:
    values = dict(world["values"])
    if route.name.startswith("admin:") and "object_id" in route.params:
        # admin:<app>_<model>_<view>: the first object of that model
        app_label, _, rest = route.name.removeprefix("admin:").partition("_")
        model = next(
            (
                m
                for m in apps.get_app_config(app_label).get_models()
                if rest.startswith(m._meta.model_name + "_")
            ),
            None,
        )
        first = model._default_manager.first() if model else None
        values["object_id"] = first.pk if first else "0"
    if route.name.startswith("admin:") and "id" in route.params:  # a user's password form
        values["id"] = world["member"].pk
    missing = [param for param in route.params if param not in values]
    assert not missing, f"{route.name}: give {missing} a value in build_site()"
    return {param: values[param] for param in route.params}


def viewer_for(route: Route, world: dict):
    """Who looks at a page: the superuser (Django admin), the project's admin (portal, API), a
    member (account pages), or nobody (public pages)."""
    if route.name.startswith("admin:"):
        return world["superuser"]
    if route.name.startswith(("portal:", "api-")) or route.pattern.startswith("api/"):
        return world["admin"]
    if route.pattern.startswith(("account/", "accounts/", "o/")):
        return world["member"]
    return None


def url_for(route: Route, world: dict) -> str:
    return reverse(route.name, kwargs=kwargs_for(route, world) or None)


def client_for(route: Route, world: dict) -> Client:
    client = Client(raise_request_exception=False)
    viewer = viewer_for(route, world)
    if viewer is not None:
        client.force_login(viewer)
    return client


def is_page(route: Route) -> bool:
    """JSON APIs (not the API docs page) and ESP webhooks render no HTML; the Django admin's
    history and delete confirmations share one template per view with the pages visited."""
    return not (
        route.name in SKIP
        or route.name.startswith("anymail:")
        or route.pattern.startswith("api/v1/")
        or route.name == "api-schema"
        or (route.name.startswith("admin:") and route.name.endswith(("_history", "_delete")))
    )


def html_pages(world: dict, *, include=lambda route: True) -> list[tuple[str, object]]:
    """(url, viewer) of every route that renders an HTML page (200, text/html) for the person who
    would see it; `include` narrows the routes (e.g. leave out the Django admin)."""
    pages = []
    for route in named_routes():
        if not is_page(route) or not include(route):
            continue
        url = url_for(route, world)
        response = client_for(route, world).get(url)
        if response.status_code == 200 and response.headers.get("Content-Type", "").startswith("text/html"):
            pages.append((url, viewer_for(route, world)))
    return pages
