"""CSRF on every POST (hostile review, #12 item 6).

The URL resolver is walked and every route is POSTed to by a signed-in admin's browser that
enforces CSRF checks, without a token: each answer must be 403. The routes exempt from the check
are machines' endpoints (no cookies: the client authenticates itself, or the sender signs the
body) and are listed in CSRF_EXEMPT with the reason; the test also fails when a view becomes
exempt without being listed. The REST API is exempt at Django's level (DRF) but refuses a session
without the token itself (also tested here); bearer tokens need none.
"""

from __future__ import annotations

import re
import uuid

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.identity.test_tenant_isolation import tenants  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db

# Views exempt from CSRF by design, and why (module.qualname prefixes).
CSRF_EXEMPT = {
    "oauth.views.TokenView": "OAuth token endpoint: the client authenticates itself (RFC 6749)",
    "oauth.views.IntrospectView": "RFC 7662: the resource server authenticates itself",
    "oauth.views.RevokeView": "RFC 7009: the client authenticates itself",
    "oauth.views.UserInfoView": "OIDC UserInfo: bearer token, no cookies",
    "webhooks.views_inbound.receive": "inbound webhooks: the sender signs the body (webhooks/schemes/)",
    "anymail.webhooks.": "ESP tracking/inbound webhooks: anymail verifies the sender's credentials",
    "identity.health.": "probes, no state changes",
}
# Exempt for the requests other sites may send by POST (authorization and logout requests, which
# are answered as a GET), but our own forms posted to them (consent, logout confirmation) are
# CSRF-checked by the view: posted without a token, with these fields, they must be refused.
SELF_CHECKED = {
    "oauth.views.AuthorizeView": {"consent": "1", "allow": "Authorize", "client_id": "x"},
    "oauth.views_logout.LogoutView": {"confirm": "1", "logout": "1"},
}
# DRF: csrf_exempt for Django, CSRF enforced by SessionAuthentication for session callers.
API_PREFIX = "api/"
# Routes that are not the portal's own (Django's admin keeps its own CSRF checks; it is view-only).
SKIPPED_PREFIXES = ("admin/",)

VALUES = {
    "request_id": str(uuid.uuid4()),
    "secret": "x" * 30,
    "provider_id": "okta-1",
    "session_id": "nosuchsession",
    "token": "nosuchtoken",
    "key": "nosuchkey",
    "uidb36": "zz",
    "pk": 1,
    "client_id": "nosuchclient",
}


def all_routes():
    def walk(resolver: URLResolver, prefix: str, params: tuple[str, ...]):
        for entry in resolver.url_patterns:
            own = tuple(entry.pattern.regex.groupindex)
            if isinstance(entry, URLResolver):
                yield from walk(entry, prefix + str(entry.pattern), params + own)
            elif isinstance(entry, URLPattern):
                yield prefix + str(entry.pattern), params + own, entry.callback

    yield from walk(get_resolver(), "", ())


def view_name(callback) -> str:
    target = getattr(callback, "view_class", None) or getattr(callback, "cls", None) or callback
    return f"{target.__module__}.{target.__qualname__}"


def concrete(pattern: str, values: dict) -> str:
    """The route's pattern with its parameters filled (path converters and regex groups)."""
    pattern = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: str(values[m.group(1)]), pattern)
    by_converter = {"uuid": uuid.uuid4(), "int": 1, "slug": "x", "str": "x", "path": "x", None: "x"}
    pattern = re.sub(
        r"<(?:(\w+):)?(\w+)>", lambda m: str(values.get(m.group(2), by_converter[m.group(1)])), pattern
    )
    pattern = re.sub(r"\(([^)]*)\)\?", "", pattern)  # optional groups: left out
    return "/" + pattern.replace("^", "").replace("$", "").replace("/?", "/")


def test_every_post_without_a_token_is_refused(tenants):  # noqa: F811
    mine, _ = tenants
    values = {**VALUES, **mine["values"]}
    browser = Client(enforce_csrf_checks=True, raise_request_exception=False)
    browser.force_login(mine["admin"])
    exempt_seen, failures, posted = set(), [], 0
    for pattern, _params, callback in all_routes():
        if pattern.startswith(SKIPPED_PREFIXES):
            continue
        name = view_name(callback)
        reason = next((why for prefix, why in CSRF_EXEMPT.items() if name.startswith(prefix)), None)
        exempt = getattr(callback, "csrf_exempt", False)
        if reason:
            exempt_seen.add(name)
            continue
        data = SELF_CHECKED.get(name, {"name": "x"})
        if exempt and name in SELF_CHECKED:
            exempt_seen.add(name)
        elif exempt and not pattern.startswith(API_PREFIX):
            failures.append(f"{pattern}: {name} is csrf_exempt; list it in CSRF_EXEMPT with the reason")
            continue
        url = concrete(pattern, values)
        response = browser.post(url, data)
        posted += 1
        if response.status_code != 403:
            failures.append(f"POST {url} ({name}) without a CSRF token answered {response.status_code}")
        elif pattern.startswith("api/v1/"):
            assert response.json()["error"]["code"] == "permission_denied", url
    assert not failures, "\n".join(failures)
    assert posted > 100
    assert {"oauth.views.TokenView", "webhooks.views_inbound.receive", *SELF_CHECKED} <= exempt_seen


def test_the_same_post_with_a_token_is_accepted(tenants):  # noqa: F811
    """The 403s above are CSRF's: with the token the same browser gets through."""
    mine, _ = tenants
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(mine["admin"])
    browser.get("/account/sessions/")
    token = browser.cookies["csrftoken"].value
    url = f"/portal/{mine['values']['project_slug']}/policies/{mine['values']['policy_id']}/delete/"
    assert browser.post(url, {"csrfmiddlewaretoken": token}).status_code != 403
