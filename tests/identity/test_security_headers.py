"""Every page answers with the browser security headers (identity/middleware.py, docs/SECURITY.md).

The URL resolver is walked: every named route is fetched with GET, the parametrised ones with
real objects of one project (made by the services and factories), portal and API pages as that
project's admin, account pages as a signed-in user, the Django admin as a superuser, and every
route anonymously too (tests/support/site_pages.py). A new route is covered without touching this
file; a new parameter name must be given a value there (the test names it). Production cookies: `__Host-` names, Secure,
HttpOnly, SameSite, checked in a production-configured process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import SecurityRequest
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.support.site_pages import KNOWN_SERVER_ERRORS, SKIP, build_site, client_for, named_routes, url_for

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def world(settings, project, admin_user, sent_links):
    return build_site(settings=settings, project=project, admin_user=admin_user, sent_links=sent_links)


def assert_security_headers(response, where: str) -> None:
    headers = response.headers
    csp = headers.get("Content-Security-Policy", "")
    directives = dict((part.strip().split(" ", 1) + [""])[:2] for part in csp.split(";") if part.strip())
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, where
    assert directives.get("frame-ancestors") == "'none'", where
    if "sandbox" in directives:  # an email's HTML (outbox preview): own origin, no scripts at all
        assert directives.get("default-src") == "'none'" and "script-src" not in directives, where
        assert "allow-scripts" not in directives["sandbox"], where
    else:
        assert directives.get("script-src") == "'self'", where
        assert directives.get("style-src") == "'self'", where
        assert directives.get("default-src") == "'self'", where
    policy = headers.get("Permissions-Policy", "")
    for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()"):
        assert feature in policy, f"{where}: Permissions-Policy lacks {feature}"
    assert "publickey-credentials-get=(self)" in policy, where
    assert headers.get("Cross-Origin-Opener-Policy") == "same-origin", where
    assert headers.get("Cross-Origin-Resource-Policy") == "same-origin", where
    assert headers.get("Referrer-Policy") == "same-origin", where
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("X-Frame-Options") == "DENY", where


def test_every_route_answers_with_the_security_headers(world):
    routes = [route for route in named_routes() if route.name not in SKIP]
    assert len(routes) > 150  # the walk found the whole site, not one include
    answers: dict[str, int] = {}
    server_errors: list[str] = []
    missing: list[str] = []
    for route in routes:
        url = url_for(route, world)
        for who, client in (
            ("signed in", client_for(route, world)),
            ("anonymous", Client(raise_request_exception=False)),
        ):
            response = client.get(url)
            where = f"GET {url} ({route.name}, {who}) -> {response.status_code}"
            if response.status_code >= 500 and not route.name.startswith(KNOWN_SERVER_ERRORS):
                server_errors.append(where)
            try:
                assert_security_headers(response, where)
            except AssertionError as error:
                missing.append(f"{where}: {error}")
            if who == "signed in":
                answers[route.name] = response.status_code
    assert not missing, "\n".join(missing)
    assert not server_errors, "\n".join(server_errors)
    # the parametrised pages were fetched with real objects: they rendered
    for name in (
        "set_password",
        "portal:users",
        "portal:membership",
        "portal:policy",
        "portal:outbox_message",
        "portal:bulk_invite",
        "portal:client",
        "portal:idp",
        "portal:webhook",
        "portal:event_subscription",
        "api-membership",
        "api-client",
        "api-docs",
        "account_change_password",
        "connected_apps",
        "admin:accounts_project_change",
    ):
        assert answers[name] == 200, f"{name} answered {answers[name]}"
    assert SecurityRequest.objects.filter(used_at__isnull=True).exists()  # fetching used no link


def test_a_view_may_not_weaken_the_policy_by_accident():
    """The middleware only fills in missing headers; the policy has no inline escape hatch."""
    from identity.middleware import CONTENT_SECURITY_POLICY, PERMISSIONS_POLICY

    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY and "'unsafe-eval'" not in CONTENT_SECURITY_POLICY
    assert "nonce-" not in CONTENT_SECURITY_POLICY
    assert "camera=()" in PERMISSIONS_POLICY


def test_production_cookies_are_host_only_secure_httponly_samesite():
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(
        APP_ENV="production",
        SECRET_KEY="x" * 60,
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/identity_unused",
        ALLOWED_HOSTS="portal.example.com",
        APP_BASE_URL="https://portal.example.com",
        DJANGO_SETTINGS_MODULE="identity.settings",
    )
    script = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({k: getattr(s, k) for k in ("
        "'SESSION_COOKIE_NAME','SESSION_COOKIE_SECURE','SESSION_COOKIE_HTTPONLY','SESSION_COOKIE_SAMESITE',"
        "'SESSION_COOKIE_DOMAIN','SESSION_COOKIE_PATH','CSRF_COOKIE_NAME','CSRF_COOKIE_SECURE',"
        "'CSRF_COOKIE_HTTPONLY','CSRF_COOKIE_SAMESITE','CSRF_COOKIE_DOMAIN','CSRF_COOKIE_PATH',"
        "'SECURE_HSTS_SECONDS','SECURE_CROSS_ORIGIN_OPENER_POLICY')}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    # __Host-: Secure, no Domain, Path=/ (browsers refuse the cookie otherwise)
    for prefix in ("SESSION", "CSRF"):
        assert values[f"{prefix}_COOKIE_NAME"].startswith("__Host-")
        assert values[f"{prefix}_COOKIE_SECURE"] is True
        assert values[f"{prefix}_COOKIE_HTTPONLY"] is True
        assert values[f"{prefix}_COOKIE_SAMESITE"] == "Lax"
        assert values[f"{prefix}_COOKIE_DOMAIN"] is None
        assert values[f"{prefix}_COOKIE_PATH"] == "/"
    assert values["SECURE_HSTS_SECONDS"] >= 31536000
    assert values["SECURE_CROSS_ORIGIN_OPENER_POLICY"] == "same-origin"


def test_cookies_set_by_pages_carry_the_flags(client, settings):
    """What the browser receives (here with the production flags switched on in-process)."""
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    user = UserFactory()
    response = client.post(reverse("account_login"), {"login": user.email})  # email step sets CSRF
    page = client.get(reverse("account_login"))
    cookies = {**response.cookies, **page.cookies}
    csrf = cookies[settings.CSRF_COOKIE_NAME]
    assert csrf["secure"] and csrf["httponly"] and csrf["samesite"] == "Lax"
    signed_in = client.post(reverse("account_login"), {"login": user.email, "password": DEFAULT_PASSWORD})
    assert signed_in.status_code == 302
    session = signed_in.cookies[settings.SESSION_COOKIE_NAME]
    assert session["secure"] and session["httponly"] and session["samesite"] == "Lax"
