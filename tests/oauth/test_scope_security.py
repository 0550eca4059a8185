"""Scope decisions that must not be bent from the outside (review findings of issue #9)."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlencode, urlparse

import pytest

from audit.context import Actor
from oauth.services import ClientInput, client_create
from tests.factories import AccessPolicyFactory, AccessPolicyRuleFactory, MembershipFactory, ProjectFactory

pytestmark = pytest.mark.django_db

CB = "https://app.example/cb"


@pytest.fixture
def project():
    return ProjectFactory()


def make_app(
    project, scopes, grants=("authorization_code", "refresh_token"), policy=None, client_type="confidential"
):
    issued = client_create(
        project=project,
        actor=Actor.system(),
        data=ClientInput(
            name="App", grant_types=list(grants), redirect_uris=[CB] if "authorization_code" in grants else [],
            scopes=scopes.split(), access_policy=policy, client_type=client_type,
        ),
    )  # fmt: skip
    issued.client.plain_secret = issued.client_secret
    return issued.client


def _pkce():
    verifier = secrets.token_urlsafe(48)
    return verifier, base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(
        b"="
    ).decode()


def _consent(client, app, scope, **extra):
    verifier, challenge = _pkce()
    query = {"response_type": "code", "client_id": app.client_id, "redirect_uri": CB, "scope": scope, "state": "s",
             "code_challenge": challenge, "code_challenge_method": "S256", **extra}  # fmt: skip
    page = client.get("/o/authorize/?" + urlencode(query))
    assert page.status_code == 200, page.get("Location", page.content[:300])
    form = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    return query, verifier, {**form, "consent": "1", "allow": "Authorize"}


def _token(client, app, query, verifier, form) -> dict:
    location = client.post("/o/authorize/?" + urlencode(query), form)["Location"]
    code = parse_qs(urlparse(location).query).get("code", [""])[0]
    assert code, location
    return client.post(
        "/o/token/",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CB,
            "code_verifier": verifier,
            "client_id": app.client_id,
            "client_secret": getattr(app, "plain_secret", "") or "",
        },  # fmt: skip
    ).json()


def test_grant_type_in_the_authorize_url_does_not_switch_to_the_clients_policy(client, project):
    own = AccessPolicyFactory(project=project, name="Own")
    AccessPolicyRuleFactory(
        policy=own, resource_type="Observation", interactions="rs", criteria="subject=%patient"
    )
    wide = AccessPolicyFactory(project=project, name="Backend")
    AccessPolicyRuleFactory(policy=wide, resource_type="*", interactions="cruds")
    app = make_app(project, "openid user/*.rs system/*.cruds", grants=("authorization_code",), policy=wide,
                   client_type="public")  # fmt: skip
    client.force_login(MembershipFactory(project=project, access_policy=own, profile="Patient/1").user)
    query, verifier, form = _consent(client, app, "openid", grant_type="client_credentials")
    form["scope"] = "openid system/*.cruds"  # the person edits the hidden field
    location = client.post("/o/authorize/?" + urlencode(query), form)["Location"]
    assert "code=" not in location or "system/" not in _token_from(client, app, location, verifier).get(
        "scope", ""
    )


def _token_from(client, app, location, verifier):
    code = parse_qs(urlparse(location).query)["code"][0]
    return client.post(
        "/o/token/",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CB,
            "code_verifier": verifier,
            "client_id": app.client_id,
        },  # fmt: skip
    ).json()


def test_policy_criteria_in_the_rule_editors_format_authorize(client, project):
    policy = AccessPolicyFactory(project=project, name="Org")
    AccessPolicyRuleFactory(
        policy=policy, resource_type="Patient", interactions="rs", criteria="Patient?organization=%org"
    )
    app = make_app(project, "openid user/*.rs")
    client.force_login(
        MembershipFactory(
            project=project, access_policy=policy, access_parameters={"org": "Organization/7"}
        ).user
    )
    token = _token(client, app, *_consent(client, app, "openid user/*.rs"))
    assert "user/Patient.rs?organization=Organization/7" in token["scope"].split()


def test_a_criteria_that_does_not_parse_grants_nothing(client, project):
    policy = AccessPolicyFactory(project=project, name="Broken")
    AccessPolicyRuleFactory(policy=policy, resource_type="Observation", interactions="rs", criteria="subject")
    app = make_app(project, "openid user/*.rs")
    client.force_login(MembershipFactory(project=project, access_policy=policy).user)
    token = _token(client, app, *_consent(client, app, "openid user/*.rs"))
    assert token["scope"].split() == ["openid"]  # the condition cannot be read: no access, never all


def test_refresh_parameters_cannot_pose_as_server_state(client, project):
    policy = AccessPolicyFactory(project=project, name="All")
    AccessPolicyRuleFactory(policy=policy, resource_type="*", interactions="rs")
    app = make_app(project, "openid offline_access user/*.rs")
    client.force_login(MembershipFactory(project=project, access_policy=policy).user)
    token = _token(client, app, *_consent(client, app, "openid offline_access user/*.rs"))
    response = client.post(
        "/o/token/",
        {
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
            "grace_refresh_token": "1",
            "grace_scopes": "portal.write",
            "scope": "portal.write",
            "client_id": app.client_id,
            "client_secret": app.plain_secret,
        },  # fmt: skip
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_scope"


def test_a_narrowed_policy_applies_to_refreshed_tokens(client, project):
    policy = AccessPolicyFactory(project=project, name="Chart")
    AccessPolicyRuleFactory(policy=policy, resource_type="Observation", interactions="rs")
    patient_rule = AccessPolicyRuleFactory(policy=policy, resource_type="Patient", interactions="rs")
    app = make_app(project, "openid offline_access user/*.rs")
    client.force_login(MembershipFactory(project=project, access_policy=policy).user)
    token = _token(client, app, *_consent(client, app, "openid offline_access user/*.rs"))
    assert "user/Patient.rs" in token["scope"].split()
    patient_rule.delete()
    refreshed = client.post(
        "/o/token/",
        {
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
            "client_id": app.client_id,
            "client_secret": app.plain_secret,
        },  # fmt: skip
    ).json()
    assert (
        "user/Patient.rs" not in refreshed["scope"].split()
        and "user/Observation.rs" in refreshed["scope"].split()
    )


def test_a_conflicting_query_is_not_granted(client, project):
    policy = AccessPolicyFactory(project=project, name="Own")
    AccessPolicyRuleFactory(
        policy=policy, resource_type="Observation", interactions="rs", criteria="subject=%patient"
    )
    app = make_app(project, "openid launch/patient patient/*.rs")
    client.force_login(MembershipFactory(project=project, access_policy=policy, profile="Patient/1").user)
    token = _token(
        client,
        app,
        *_consent(
            client,
            app,
            "openid launch/patient patient/Observation.rs?subject=Patient/999 patient/Observation.s",
        ),
    )
    assert token["scope"].split() == ["openid", "launch/patient", "patient/Observation.s?subject=Patient/1"]


def test_result_parameters_are_not_scopes(client, project):
    from oauth.scopes import scope_is_known

    assert not scope_is_known("patient/Observation.rs?_revinclude=Provenance:target")
    assert not scope_is_known("user/Patient.rs?_include=Patient:organization")


def test_patient_scopes_need_a_launch_even_for_a_patient(client, project):
    policy = AccessPolicyFactory(project=project, name="Own")
    AccessPolicyRuleFactory(policy=policy, resource_type="*", interactions="rs")
    app = make_app(project, "openid launch/patient launch/encounter patient/*.rs")
    client.force_login(MembershipFactory(project=project, access_policy=policy, profile="Patient/1").user)
    verifier, challenge = _pkce()
    response = client.get(
        "/o/authorize/?"
        + urlencode(
            {
                "response_type": "code",
                "client_id": app.client_id,
                "redirect_uri": CB,
                "scope": "openid patient/*.rs",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
                "state": "s",
            }
        )  # fmt: skip
    )
    assert response.status_code == 200  # openid only: patient/*.rs dropped, with the reason
    assert "launch/patient" in response.content.decode()
    token = _token(client, app, *_consent(client, app, "openid launch/patient launch/encounter patient/*.rs"))
    assert token["patient"] == "1" and "launch/encounter" not in token["scope"].split()


def test_too_many_scopes_are_refused_quickly(client, project):
    app = make_app(project, "openid", grants=("client_credentials",))
    response = client.post(
        "/o/token/",
        {
            "grant_type": "client_credentials",
            "scope": " ".join(["openid"] * 5000),
            "client_id": app.client_id,
            "client_secret": app.plain_secret,
        },  # fmt: skip
    )
    assert response.status_code == 400 and "too many scopes" in response.json()["error_description"]
