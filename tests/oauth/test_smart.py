"""SMART on FHIR: the project's FHIR base URL (settings API and page), `aud`, `fhirUser`, and
/.well-known/smart-configuration."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from audit.context import Actor
from oauth.services import ClientInput, client_create
from tests.factories import MembershipFactory, ProjectFactory

pytestmark = pytest.mark.django_db

FHIR = "https://fhir.example.com/r4"
REDIRECT = "https://app.example/cb"

# SMART App Launch 2, conformance.md: REQUIRED, and CONDITIONAL for what we claim.
REQUIRED = {"grant_types_supported", "token_endpoint", "capabilities", "code_challenge_methods_supported"}
CONDITIONAL = {"issuer", "jwks_uri", "authorization_endpoint"}  # sso-openid-connect, launch-*
RECOMMENDED_WE_SUPPORT = {
    "scopes_supported",
    "response_types_supported",
    "introspection_endpoint",
    "revocation_endpoint",
}
KNOWN_CAPABILITIES = {
    "launch-ehr", "launch-standalone", "authorize-post", "client-public", "client-confidential-symmetric",
    "client-confidential-asymmetric", "sso-openid-connect", "context-banner", "context-style",
    "context-ehr-patient", "context-ehr-encounter", "context-standalone-patient", "context-standalone-encounter",
    "permission-offline", "permission-online", "permission-patient", "permission-user", "permission-v1",
    "permission-v2", "smart-app-state",
}  # fmt: skip


def test_smart_configuration_has_every_required_field_as_json_whatever_is_accepted(client, settings):
    settings.ISSUER_URL = "https://id.example.com"
    response = client.get("/.well-known/smart-configuration", HTTP_ACCEPT="text/html")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert response["Access-Control-Allow-Origin"] == "*"
    document = response.json()
    assert REQUIRED | CONDITIONAL | RECOMMENDED_WE_SUPPORT <= set(document)
    assert document["code_challenge_methods_supported"] == ["S256"]  # plain never offered
    assert all(isinstance(c, str) for c in document["capabilities"])
    assert set(document["capabilities"]) <= KNOWN_CAPABILITIES
    assert {"sso-openid-connect", "permission-v2", "permission-v1", "launch-standalone"} <= set(
        document["capabilities"]
    )
    for name in (
        "token_endpoint",
        "jwks_uri",
        "authorization_endpoint",
        "introspection_endpoint",
        "revocation_endpoint",
    ):
        assert document[name].startswith("https://id.example.com/"), name  # absolute URLs
    assert document["issuer"] == "https://id.example.com"
    assert "authorization_code" in document["grant_types_supported"]


@pytest.fixture
def fhir_project():
    return ProjectFactory(fhir_base_url=FHIR + "/")  # the trailing slash is dropped


@pytest.fixture
def app(fhir_project):
    issued = client_create(
        project=fhir_project,
        actor=Actor.system(),
        data=ClientInput(
            name="SMART app",
            grant_types=["authorization_code"],
            redirect_uris=[REDIRECT],
            scopes=["openid", "fhirUser", "profile"],
        ),
    )
    issued.client.plain_secret = issued.client_secret
    return issued.client


def _authorize(client, app, **extra):
    params = {
        "response_type": "code", "client_id": app.client_id, "redirect_uri": REDIRECT,
        "scope": "openid fhirUser", "state": "s1", "nonce": "n1",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method": "S256",
        **extra,
    }  # fmt: skip
    return client.get("/o/authorize/?" + urlencode({k: v for k, v in params.items() if v is not None}))


def test_aud_is_required_and_must_be_the_projects_fhir_server(client, fhir_project, app):
    user = MembershipFactory(project=fhir_project).user
    client.force_login(user)
    for aud, text in ((None, "aud is required"), ("https://other.example/fhir", "is not this project")):
        response = _authorize(client, app, aud=aud)
        query = parse_qs(urlsplit(response["Location"]).query)
        assert query["error"] == ["invalid_request"] and text in query["error_description"][0]
    response = _authorize(client, app, aud=FHIR)
    assert response.status_code == 200  # the consent page


def _consented_tokens(client, app) -> dict:
    """Consent in the signed-in browser, then exchange the code (the PKCE pair of _authorize)."""
    response = _authorize(client, app, aud=FHIR, prompt="consent")
    form = {k: v for k, v in response.context["form"].initial.items() if v is not None}
    response = client.post("/o/authorize/", {**form, "consent": "1", "allow": "Authorize"})
    code = parse_qs(urlsplit(response["Location"]).query)["code"][0]
    return client.post(
        "/o/token/",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            "client_id": app.client_id,
            "client_secret": app.plain_secret,
        },  # fmt: skip
    ).json()


def test_tokens_carry_aud_and_the_id_token_fhir_user(client, fhir_project, app):
    user = MembershipFactory(project=fhir_project, profile="Practitioner/42").user
    client.force_login(user)
    token = _consented_tokens(client, app)
    assert _claims(token["access_token"])["aud"] == FHIR
    assert _claims(token["id_token"])["fhirUser"] == f"{FHIR}/Practitioner/42"
    userinfo = client.get("/o/userinfo/", HTTP_AUTHORIZATION=f"Bearer {token['access_token']}").json()
    assert userinfo["fhirUser"] == f"{FHIR}/Practitioner/42"


def test_no_fhir_user_claim_without_a_profile(client, fhir_project, app):
    user = MembershipFactory(project=fhir_project, profile="").user
    client.force_login(user)
    token = _consented_tokens(client, app)
    assert "fhirUser" not in _claims(token["id_token"])


def _claims(jwt: str) -> dict:
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


# --- the project's settings: API and portal page ---------------------------------------------------


def test_settings_api_sets_the_fhir_base_url_and_refuses_bad_ones(project, admin_user, member_membership):
    api = APIClient()
    api.force_authenticate(admin_user)
    url = f"/api/v1/projects/{project.pk}/settings/"
    response = api.patch(url, {"fhir_base_url": "https://fhir.example.com/r4/"}, format="json")
    assert response.status_code == 200 and response.json()["fhir_base_url"] == "https://fhir.example.com/r4"
    response = api.patch(url, {"fhir_base_url": "ftp://fhir.example.com"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["fhir_base_url"]
    response = api.patch(url, {"allowed_sign_in_methods": []}, format="json")
    assert response.status_code == 400
    member_api = APIClient()
    member_api.force_authenticate(member_membership.user)
    assert member_api.patch(url, {"fhir_base_url": ""}, format="json").status_code == 403


def test_settings_page_saves_and_shows_field_errors(admin_client, project):
    url = reverse("portal:project_settings", kwargs={"project_slug": project.slug})
    page = admin_client.get(url)
    assert page.status_code == 200 and "FHIR base URL" in page.content.decode()
    form = {"name": project.name, "allowed_sign_in_methods": ["password"], "fhir_base_url": "not a url"}
    response = admin_client.post(url, form)
    assert response.status_code == 400 and "https URL" in response.content.decode()
    response = admin_client.post(url, {**form, "fhir_base_url": FHIR})
    assert response.status_code == 303
    project.refresh_from_db()
    assert project.fhir_base_url == FHIR
