"""The OAuth error vocabulary (oauth/errors.py): each endpoint's errors, exactly as clients see them.

RFC 6749 §5.2 (token endpoint: JSON, no-store), RFC 6750 §3 (bearer errors: WWW-Authenticate),
RFC 6749 §4.1.2.1 + RFC 9207 (authorization errors: a redirect with error, error_description,
state and iss).
"""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from django.test import Client as HttpClient

from oauth import errors
from oauth.app_settings import app_settings
from tests.oauth.conftest import REDIRECT, authorize_params

pytestmark = pytest.mark.django_db(transaction=True)


def basic(client) -> str:
    return "Basic " + base64.b64encode(f"{client.client_id}:{client.plain_secret}".encode()).decode()


def assert_no_store(response) -> None:
    assert "no-store" in response["Cache-Control"].split(", ") and response["Pragma"] == "no-cache"


def test_unsupported_grant_type(m2m_client):
    response = HttpClient().post(
        "/o/token/",
        {"grant_type": "password", "username": "a", "password": "b"},
        HTTP_AUTHORIZATION=basic(m2m_client),
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": "unsupported_grant_type",
        "error_description": "This server supports authorization_code, client_credentials and refresh_token only.",
    }
    assert_no_store(response)


def test_token_in_the_query_string_is_a_bearer_invalid_request():
    response = HttpClient().get("/o/userinfo/?access_token=abc")
    description = "Send the access token in the Authorization header or the POST body."
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request", "error_description": description}
    assert (
        response["WWW-Authenticate"] == f'Bearer error="invalid_request", error_description="{description}"'
    )
    assert response["Cache-Control"] == "no-store"


def test_a_token_without_a_user_is_a_bearer_invalid_token(m2m_client):
    token = (
        HttpClient()
        .post("/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic(m2m_client))
        .json()["access_token"]
    )
    response = HttpClient().get("/o/userinfo/", HTTP_AUTHORIZATION=f"Bearer {token}")
    description = "This token was not issued to a user."
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_token", "error_description": description}
    assert response["WWW-Authenticate"] == f'Bearer error="invalid_token", error_description="{description}"'
    assert response["Cache-Control"] == "no-store"


def test_introspection_without_client_authentication_is_invalid_client():
    response = HttpClient().post("/o/introspect/", {"token": "abc"})
    assert response.status_code == 401
    assert response.json() == {
        "error": "invalid_client",
        "error_description": "Client authentication failed (unknown client, wrong secret or disabled client).",
    }
    assert response["WWW-Authenticate"] == 'Basic realm="oauth", error="invalid_client"'
    assert_no_store(response)


def test_introspection_without_a_token_is_invalid_request(m2m_client):
    response = HttpClient().post("/o/introspect/", {}, HTTP_AUTHORIZATION=basic(m2m_client))
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "The token parameter is missing.",
    }
    assert_no_store(response)


@pytest.mark.parametrize(
    ("extra", "error", "description"),
    [
        (
            {"request": "eyJhbGciOiJub25lIn0.e30."},
            "request_not_supported",
            "The request parameter is not supported.",
        ),
        (
            {"request_uri": "https://rp.example/r"},
            "request_uri_not_supported",
            "The request_uri parameter is not supported.",
        ),
        ({"prompt": "none", "max_age": "0"}, "login_required", "The user must sign in again."),
        ({"prompt": "none"}, "consent_required", "The user has not approved this application."),
    ],
)
def test_authorization_errors_redirect_with_state_and_issuer(browser, web_client, extra, error, description):
    params = authorize_params(web_client, **extra)
    params.pop("_verifier")
    response = browser.get("/o/authorize/?" + urlencode(params))
    assert response.status_code == 302
    location = urlparse(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    assert parse_qs(location.query) == {
        "error": [error],
        "error_description": [description],
        "iss": [app_settings.ISSUER],
        "state": [params["state"]],
    }


def test_an_inactive_member_is_access_denied_at_the_client(browser, web_client, member):
    member.memberships.update(is_active=False)
    params = authorize_params(web_client)
    params.pop("_verifier")
    query = parse_qs(urlparse(browser.get("/o/authorize/?" + urlencode(params))["Location"]).query)
    assert query["error"] == ["access_denied"]
    assert query["error_description"] == ["This account may not use this application."]
    assert query["state"] == [params["state"]] and query["iss"] == [app_settings.ISSUER]


def _all_subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_subclasses(sub)


def test_every_error_class_carries_its_rfc_code_status_and_description():
    concrete = [cls for cls in _all_subclasses(errors.OAuthError) if cls.error]
    assert len(concrete) >= 15
    for cls in concrete:
        assert cls.status in (400, 401, 403, 500) and cls.description, cls
        assert cls().as_dict() == {"error": cls.error, "error_description": cls.description}


def test_a_redirect_keeps_the_clients_own_query():
    url = errors.LoginRequired().redirect_url(
        "https://rp.example/cb?tenant=a", state="s1", issuer="https://op"
    )
    assert url == (
        "https://rp.example/cb?tenant=a&error=login_required"
        "&error_description=The+user+must+sign+in+again.&iss=https%3A%2F%2Fop&state=s1"
    )
