"""Malformed input found by the API fuzzing (tests/identity/test_api_fuzz.py), kept as plain
regression tests: each once answered 500; now the API's error envelope (or the page) answers."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from tests.identity.test_tenant_isolation import NOT_PROJECT_SCOPED, project_routes, tenants  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "since",
    [
        "2202-06-17T20:50:42.426-17:26",  # an offset PostgreSQL does not take (±15:59 at most)
        "9999-12-31T23:59:59-10:00",  # no such moment in UTC
        "0001-01-01T00:00:00+10:00",
    ],
)
def test_audit_filters_with_a_moment_postgresql_cannot_store(admin_client, project, since):
    api = admin_client.get(reverse("api-audit-events", args=[project.pk]), {"since": since})
    assert api.status_code in (200, 400), api.content[:300]
    if api.status_code == 400:
        assert api.json()["error"]["fields"].get("since"), api.json()
    export = admin_client.get(reverse("api-audit-events-export", args=[project.pk]), {"until": since})
    assert export.status_code in (200, 400)
    page = admin_client.get(reverse("portal:audit", args=[project.slug]), {"since": since})
    assert page.status_code in (200, 400)


HOSTILE_QUERY = {
    "q": "\x00' OR 1=1 --",
    "page": "-1",
    "page_size": "99999999999999999999",
    "status": "\x00",
    "kind": "<script>",
    "role": "nobody",
    "sort": "-password",
    "since": "2202-06-17T20:50:42-17:26",
    "until": "not a date",
    "actor": "\x00",
    "target": "\x00",
    "action": "\x00",
    "outcome": "\x00",
    "member": "not-a-uuid",
    "client": "\x00",
    "section": "\x00",
}


# Every field name a portal form has, with values no form expects.
HOSTILE_FORM = {
    **HOSTILE_QUERY,
    "email": "\x00@x",
    "name": "\x00",
    "identity_id": "\x00",
    "membership": "\x00",
    "access_policy": "\x00",
    "default_access_policy": "not-a-uuid",
    "grant_types": ["\x00", "authorization_code"],
    "redirect_uris": "javascript:alert(1)\nhttps://\x00",
    "scopes": "\x00",
    "scope": "openid \x00",
    "rules-TOTAL_FORMS": "99999999999",
    "rules-INITIAL_FORMS": "-1",
    "rules-0-resource_type": "\x00",
    "url": "http://[::1",
    "events": ["\x00"],
    "domain": "\x00.com",
    "csv": "\x00",
    "role": "owner",
    "is_active": "maybe",
    "session_idle_minutes": "99999999999999999999999",
    "access_token_lifetime": "-99999999999999999999",
}


def test_every_page_and_list_answers_hostile_query_strings_without_a_server_error(tenants):  # noqa: F811
    """Every portal page and every API route of a project, GET with query parameters that are
    NUL bytes, wrong types and huge numbers, and every portal page POSTed such form fields:
    never a 5xx."""
    mine, _ = tenants
    browser = Client(raise_request_exception=False)
    browser.force_login(mine["admin"])
    errors = []
    for route in project_routes():
        if route.name in NOT_PROJECT_SCOPED:
            continue
        url = reverse(route.name, kwargs={p: mine["values"][p] for p in route.params})
        response = browser.get(url, HOSTILE_QUERY)
        if response.status_code >= 500:
            errors.append(f"GET {url}: {response.status_code}")
        if route.name.startswith("portal:"):
            response = browser.post(url, HOSTILE_FORM)
            if response.status_code >= 500:
                errors.append(f"POST {url}: {response.status_code}")
    assert not errors, "\n".join(errors)


def test_a_nul_in_the_query_string_is_a_400(admin_client, project):
    api = admin_client.get(reverse("api-clients", args=[project.pk]), {"q": "a\x00b"})
    assert api.status_code == 400 and api.json()["error"]["fields"] == {
        "q": ["The address may not contain NUL characters."]
    }
    page = admin_client.get(reverse("portal:clients", args=[project.slug]), {"q": "a\x00b"})
    assert page.status_code == 400
    assert "Content-Security-Policy" in page.headers  # the headers middleware saw the answer


def test_webhooks_of_email_providers_not_configured_here_are_404s(client, settings):
    """anymail mounts a webhook for every provider; one this deployment did not configure
    answered every request with a 500 (AnymailConfigurationError)."""
    settings.ANYMAIL = {}
    for path in ("/anymail/mailgun/tracking/", "/anymail/mailgun/inbound/", "/anymail/amazon_ses/tracking/"):
        response = client.post(path, data="{}", content_type="application/json")
        assert response.status_code == 404, (path, response.status_code)
    # providers that need no key parsed anyone's body: not JSON was a 500
    for path in ("/anymail/postmark/tracking/", "/anymail/sendgrid/tracking/", "/anymail/resend/tracking/"):
        response = client.post(path, data="not json", content_type="text/plain")
        assert response.status_code == 404, (path, response.status_code)


def test_the_webhook_of_the_provider_in_use_refuses_a_body_it_cannot_read(client, settings):
    settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
    settings.ANYMAIL = {"POSTMARK_SERVER_TOKEN": "x"}
    response = client.post("/anymail/postmark/tracking/", data="not json", content_type="text/plain")
    assert response.status_code == 400
    assert (
        client.post("/anymail/sendgrid/tracking/", data="not json", content_type="text/plain").status_code
        == 404
    )


# The fields the API's inputs have (an unknown one is ignored, so all are sent at once).
API_FIELDS = (
    "name", "display_name", "email", "role", "access_policy", "default_access_policy", "grant_types",
    "redirect_uris", "scopes", "access_token_lifetime", "refresh_token_lifetime", "session_idle_minutes",
    "session_absolute_hours", "url", "events", "domain", "rules", "client_id", "membership_id", "scope",
    "patient", "is_active", "external_id", "first_name", "last_name", "access_parameters", "jwks",
)  # fmt: skip
HOSTILE_VALUES = [10**30, -(10**30), "\x00", {"nested": ["x"]}, ["\x00"], None, 1.5e308, "9" * 5000]


def test_every_api_write_answers_hostile_json_without_a_server_error(tenants):  # noqa: F811
    """Every project API route, POST/PUT/PATCH with each field a huge number, a NUL, an object,
    a list, null, a float or a long string: the error envelope, never a 5xx."""
    mine, _ = tenants
    browser = Client(raise_request_exception=False)
    browser.force_login(mine["admin"])
    errors = []
    for route in project_routes():
        if not route.name.startswith("api-") or route.name in NOT_PROJECT_SCOPED:
            continue
        url = reverse(route.name, kwargs={p: mine["values"][p] for p in route.params})
        for value in HOSTILE_VALUES:
            body = json.dumps(dict.fromkeys(API_FIELDS, value))
            for method in ("post", "put", "patch"):
                response = getattr(browser, method)(url, data=body, content_type="application/json")
                if response.status_code >= 500:
                    errors.append(f"{method.upper()} {url} with {str(value)[:20]!r}: {response.status_code}")
    assert not errors, "\n".join(errors)


def test_a_project_name_with_line_breaks_does_not_stop_its_emails(
    project, owner, mailoutbox, django_capture_on_commit_callbacks
):
    """A display name with CR/LF (the settings API takes it) was put in the From header as is:
    Django refused every email of the project (BadHeaderError, the message dead at once)."""
    browser = Client()
    browser.force_login(owner)
    hostile = "Clinic\r\nBcc: evil@evil.test"
    changed = browser.patch(
        reverse("api-project-settings", args=[project.pk]),
        data=json.dumps({"display_name": hostile}),
        content_type="application/json",
    )
    assert changed.status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        invited = browser.post(
            reverse("api-invites", args=[project.pk]),
            data=json.dumps({"email": "joiner@example.test"}),
            content_type="application/json",
        )
    assert invited.status_code == 201
    assert len(mailoutbox) == 1
    sent = mailoutbox[0].message()
    assert "\n" not in sent["From"] and "Bcc" not in sent and not mailoutbox[0].bcc


def test_a_nul_in_the_path_or_in_an_oauth_client_id_is_not_a_server_error(client):
    """/accounts/oidc/%00/login/ looked the provider up in PostgreSQL (500); /o/revoke with a
    token and a NUL client_id looked the client up (500)."""
    for path in ("/accounts/oidc/%00/login/", "/accounts/oidc/%00/login/callback/"):
        assert client.get(path).status_code == 400, path
    revoked = client.post("/o/revoke/", {"token": "abc", "client_id": "\x00"})
    assert revoked.status_code == 401 and revoked.json()["error"] == "invalid_client"
    token = client.post(
        "/o/token/", {"grant_type": "client_credentials", "client_id": "\x00", "client_secret": "x"}
    )
    assert token.status_code == 401 and token.json()["error"] == "invalid_client"


def test_every_route_answers_hostile_requests_without_a_server_error(tenants):  # noqa: F811
    """Every route of the site (the Django admin aside), anonymous and signed in, GET with hostile
    query strings and POST with hostile form fields (OAuth's fields among them): never a 5xx."""
    from tests.identity.test_csrf import SKIPPED_PREFIXES, VALUES, all_routes, concrete

    mine, _ = tenants
    values = {**VALUES, **mine["values"]}
    form = {
        **HOSTILE_FORM,
        "client_id": "\x00",
        "client_secret": "\x00",
        "token": "\x00",
        "grant_type": "client_credentials",
        "code": "\x00",
        "refresh_token": "\x00",
        "redirect_uri": "\x00",
        "login": "\x00",
        "password": "\x00",
        "password1": "\x00",
        "id_token_hint": "a.b.c",
    }
    errors = []
    for signed_in in (False, True):
        browser = Client(raise_request_exception=False)
        if signed_in:
            browser.force_login(mine["admin"])
        for pattern, _params, _callback in all_routes():
            if pattern.startswith(SKIPPED_PREFIXES):
                continue
            url = concrete(pattern, values)
            for method, data in (
                ("get", {k: v for k, v in HOSTILE_QUERY.items() if k != "q"}),
                ("post", form),
            ):
                response = getattr(browser, method)(url, data)
                if response.status_code >= 500:
                    errors.append(
                        f"{method.upper()} {url} ({'signed in' if signed_in else 'anonymous'}): {response.status_code}"
                    )
    assert not errors, "\n".join(errors)
