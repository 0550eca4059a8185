"""SMART launch context end to end, with an independent client (authlib against the live server):
an EHR launch registered through the API by the project's resource server, and a standalone
launch/patient; the token response, refresh and introspection carry the context."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
import requests

from accounts.models import AccessPolicy, AccessPolicyRule
from oauth.models import LaunchContext
from tests.factories import MembershipFactory, UserFactory
from tests.oauth.conftest import get_code, session_for

pytestmark = pytest.mark.django_db(transaction=True)

FHIR = "https://fhir.clinic.example/r4"


@pytest.fixture
def smart_project(oauth_project):
    oauth_project.fhir_base_url = FHIR
    oauth_project.save()
    policy = AccessPolicy.objects.create(project=oauth_project, name="Chart access")
    AccessPolicyRule.objects.create(policy=policy, resource_type="*", interactions="rs")
    oauth_project.chart_policy = policy
    return oauth_project


@pytest.fixture
def ehr(issuer, make_client, smart_project):
    """The project's resource server: an admin automation client."""
    client = make_client(
        name="EHR", grant_types=["client_credentials"], redirect_uris=[], scopes=["portal.read", "portal.write"],
        role="admin",
    )  # fmt: skip
    token = requests.post(
        f"{issuer}/o/token/",
        data={"grant_type": "client_credentials", "scope": "portal.write"},
        auth=(client.client_id, client.plain_secret),
        timeout=10,
    ).json()["access_token"]

    def register(**context) -> requests.Response:
        return requests.post(
            f"{issuer}/api/v1/projects/{smart_project.pk}/launch-contexts/",
            json=context,
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )

    return register


@pytest.fixture
def smart_app(make_client):
    return make_client(
        name="Chart viewer",
        scopes=[
            "openid",
            "fhirUser",
            "launch",
            "launch/patient",
            "offline_access",
            "patient/*.rs",
            "user/*.rs",
        ],
    )


@pytest.fixture
def clinician(smart_project):
    user = UserFactory(email="dr@clinic.test")
    MembershipFactory(
        user=user, project=smart_project, access_policy=smart_project.chart_policy, profile="Practitioner/7"
    )
    return user


def _exchange(client, code, params, issuer):
    return session_for(client).fetch_token(
        f"{issuer}/o/token/", grant_type="authorization_code", code=code, code_verifier=params["_verifier"]
    )


def test_ehr_launch_registered_through_the_api_reaches_the_token_response(
    issuer, ehr, smart_app, clinician, browser_for
):
    registered = ehr(patient="123", encounter="enc-9")
    assert registered.status_code == 201, registered.text
    launch = registered.json()["launch"]
    assert LaunchContext.objects.get().launch_checksum != launch  # only a hash is kept

    browser = browser_for(clinician)
    code, params = get_code(
        browser,
        smart_app,
        scope="openid fhirUser launch patient/*.rs offline_access",
        launch=launch,
        aud=FHIR,
    )
    token = _exchange(smart_app, code, params, issuer)
    assert (token["patient"], token["encounter"], token["need_patient_banner"]) == ("123", "enc-9", False)
    assert token["smart_style_url"] == f"{issuer}/smart-style.json"
    assert set(token["scope"].split()) >= {"launch", "patient/*.rs"}

    refreshed = session_for(smart_app).refresh_token(
        f"{issuer}/o/token/", refresh_token=token["refresh_token"]
    )
    assert refreshed["patient"] == "123"

    caller = smart_app
    introspected = requests.post(
        f"{issuer}/o/introspect/",
        data={"token": refreshed["access_token"]},
        auth=(caller.client_id, caller.plain_secret),
        timeout=10,
    ).json()
    assert (
        introspected["active"] and introspected["patient"] == "123" and introspected["encounter"] == "enc-9"
    )
    assert introspected["aud"] == FHIR and introspected["fhirUser"] == f"{FHIR}/Practitioner/7"


def test_a_launch_is_single_use_and_needed_with_the_launch_scope(
    issuer, ehr, smart_app, clinician, browser_for
):
    launch = ehr(patient="123").json()["launch"]
    browser = browser_for(clinician)
    code, params = get_code(browser, smart_app, scope="openid launch patient/*.rs", launch=launch, aud=FHIR)
    for replay in (launch, None, "made-up"):
        response = browser.get(
            "/o/authorize/?"
            + requests.compat.urlencode(
                {k: v for k, v in {**_params(smart_app), "launch": replay}.items() if v is not None}
            )
        )
        error = parse_qs(urlparse(response["Location"]).query)
        assert error["error"] == ["invalid_request"], replay


def _params(client):
    return {
        "response_type": "code", "client_id": client.client_id, "redirect_uri": "https://app.example/cb",
        "scope": "openid launch patient/*.rs", "aud": FHIR, "state": "s", "code_challenge": "x" * 43,
        "code_challenge_method": "S256",
    }  # fmt: skip


def test_the_launch_contexts_api_checks_its_input(ehr):
    response = ehr(patient="", encounter="")
    assert response.status_code == 400 and "patient" in response.json()["error"]["fields"]
    response = ehr(patient="not valid!")
    assert response.status_code == 400


def test_standalone_launch_patient_uses_the_users_own_patient(issuer, smart_project, smart_app, browser_for):
    patient_user = UserFactory(email="pat@clinic.test")
    MembershipFactory(
        user=patient_user,
        project=smart_project,
        access_policy=smart_project.chart_policy,
        profile="Patient/55",
    )
    browser = browser_for(patient_user)
    code, params = get_code(browser, smart_app, scope="openid launch/patient patient/*.rs", aud=FHIR)
    token = _exchange(smart_app, code, params, issuer)
    assert (token["patient"], token["need_patient_banner"]) == ("55", True)


def test_standalone_launch_patient_without_any_patient_is_invalid_scope(smart_app, clinician, browser_for):
    browser = browser_for(clinician)
    response = browser.get(
        "/o/authorize/?"
        + requests.compat.urlencode({**_params(smart_app), "scope": "openid launch/patient patient/*.rs"})
    )
    assert parse_qs(urlparse(response["Location"]).query)["error"] == ["invalid_scope"]


@pytest.fixture
def browser_for():
    from django.test import Client as BrowserClient

    def make(user):
        browser = BrowserClient()
        browser.force_login(user)
        return browser

    return make
