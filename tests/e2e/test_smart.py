"""A standalone SMART launch in the browser: the app asks for launch/patient, the person picks
the patient on the consent page, and the token response names that patient."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from playwright.sync_api import expect

from accounts.models import AccessPolicy, AccessPolicyRule
from audit.context import Actor
from oauth.services import ClientInput, client_create
from tests.factories import DEFAULT_PASSWORD, MembershipFactory, ProjectFactory, UserFactory

pytestmark = [pytest.mark.e2e]

FHIR = "https://fhir.family.example/r4"
APP_REDIRECT = "https://app.example/cb"


def test_standalone_launch_patient_picked_on_the_consent_page(page, sign_in, live_server, settings):
    settings.ISSUER_URL = live_server.url
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_ISS_ENDPOINT": live_server.url}
    project = ProjectFactory(name="Family practice", fhir_base_url=FHIR)
    policy = AccessPolicy.objects.create(project=project, name="Carer")
    AccessPolicyRule.objects.create(policy=policy, resource_type="Observation", interactions="rs")
    carer = UserFactory(email="carer@family.test")
    MembershipFactory(
        user=carer,
        project=project,
        access_policy=policy,
        profile="RelatedPerson/3",
        access_parameters={"mother": "Patient/m-1", "child": "Patient/c-2"},
    )
    issued = client_create(
        project=project,
        actor=Actor.system(),
        data=ClientInput(
            name="Growth charts",
            grant_types=["authorization_code"],
            redirect_uris=[APP_REDIRECT],
            scopes=["openid", "launch/patient", "patient/*.rs"],
        ),
    )
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    arrived: list[str] = []
    page.route(
        "https://app.example/**", lambda route: (arrived.append(route.request.url), route.fulfill(body="ok"))
    )

    sign_in("carer@family.test", DEFAULT_PASSWORD)
    page.goto("/o/authorize/?" + urlencode({
        "response_type": "code", "client_id": issued.client.client_id, "redirect_uri": APP_REDIRECT,
        "scope": "openid launch/patient patient/*.rs", "state": "st", "aud": FHIR,
        "code_challenge": challenge, "code_challenge_method": "S256",
    }))  # fmt: skip
    expect(page.get_by_text("Read and search Observation records about the selected patient")).to_be_visible()
    page.get_by_label("Patient/c-2").check()
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(re.compile(r"^https://app\.example/cb"))

    code = parse_qs(urlsplit(arrived[-1]).query)["code"][0]
    token = requests.post(
        f"{live_server.url}/o/token/",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": APP_REDIRECT,
            "code_verifier": verifier,
            "client_id": issued.client.client_id,
            "client_secret": issued.client_secret,
        },  # fmt: skip
        timeout=10,
    ).json()
    assert (token["patient"], token["need_patient_banner"]) == ("c-2", True)
    assert set(token["scope"].split()) == {"openid", "launch/patient", "patient/Observation.rs"}
