"""The access simulator (oauth/simulator.py): what a member or a client would be granted and why,
through its API (POST /api/v1/projects/{id}/access-simulator/) and its portal page."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from audit.context import Actor
from oauth.constants import GrantType
from oauth.services import ClientInput, client_create
from oauth.simulator import access_simulate
from tests.factories import AccessPolicyFactory, AccessPolicyRuleFactory, MembershipFactory

pytestmark = pytest.mark.django_db

CODE = GrantType.AUTHORIZATION_CODE
MACHINE = GrantType.CLIENT_CREDENTIALS


@pytest.fixture
def api(admin_user) -> APIClient:
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


def url(project) -> str:
    return f"/api/v1/projects/{project.pk}/access-simulator/"


@pytest.fixture
def own_data_policy(project):
    policy = AccessPolicyFactory(project=project, name="Own data")
    AccessPolicyRuleFactory(
        policy=policy, resource_type="Observation", interactions="rs", criteria="subject=%patient"
    )
    AccessPolicyRuleFactory(
        policy=policy, resource_type="Encounter", interactions="rs", criteria="location=%site"
    )
    return policy


@pytest.fixture
def patient(project, own_data_policy):
    return MembershipFactory(project=project, access_policy=own_data_policy, profile="Patient/123")


@pytest.fixture
def clinician_policy(project):
    policy = AccessPolicyFactory(project=project, name="Clinician")
    AccessPolicyRuleFactory(policy=policy, resource_type="Observation", interactions="rs", position=0)
    AccessPolicyRuleFactory(policy=policy, resource_type="Patient", interactions="crus", position=1)
    return policy


def make_client(project, *, scopes, grants=(CODE,), policy=None, name="App"):
    return client_create(
        project=project,
        actor=Actor.system(),
        data=ClientInput(
            name=name,
            grant_types=list(grants),
            redirect_uris=["https://app.example/cb"] if CODE in grants else [],
            scopes=scopes.split(),
            access_policy=policy,
        ),
    ).client


# --- the API ----------------------------------------------------------------------------------------


def test_a_member_with_a_parameterised_policy_is_narrowed_and_told_why(api, project, patient):
    response = api.post(
        url(project), {"membership_id": str(patient.pk), "scope": "openid user/*.rs"}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["grant_type"] == CODE and body["any_app"] is True and body["client"] is None
    assert [g["scope"] for g in body["granted"]] == ["openid", "user/Observation.rs?subject=Patient/123"]
    openid, fhir = body["outcomes"]
    assert openid["reason"] == "" and openid["granted"][0]["description"] == "Sign you in with your account"
    assert fhir["requested"] == "user/*.rs"
    assert fhir["granted"] == [
        {
            "scope": "user/Observation.rs?subject=Patient/123",
            "description": "Read and search Observation records that you can see where subject is Patient/123",
        }
    ]
    assert "Own data" in fhir["reason"] and "narrowed" in fhir["reason"]
    policy = body["policy"]
    assert policy["held_by"] == "membership" and policy["name"] == "Own data"
    assert policy["scopes"] == ["*/Observation.rs?subject=Patient/123"]
    assert policy["summary"] == "Observation: read, search where subject=Patient/123"
    assert policy["unfilled_rules"] == [{"rule": "Encounter.rs?location=%site", "missing": ["site"]}]
    assert body["notes"] == [] and body["membership"]["id"] == str(patient.pk)


def test_a_member_signing_in_to_a_given_app_meets_the_apps_limits_too(api, project, patient):
    app = make_client(project, scopes="openid")
    response = api.post(
        url(project),
        {"membership_id": str(patient.pk), "client_id": app.client_id, "scope": "openid user/*.rs"},
        format="json",
    )
    body = response.json()
    assert response.status_code == 200 and body["any_app"] is False
    assert body["client"]["client_id"] == app.client_id
    assert [g["scope"] for g in body["granted"]] == ["openid"]
    assert body["outcomes"][1]["reason"] == "this app is not allowed to ask for it"


def test_a_client_alone_is_simulated_with_client_credentials_under_its_own_policy(
    api, project, clinician_policy
):
    backend = make_client(project, scopes="system/*.cruds", grants=(MACHINE,), policy=clinician_policy)
    response = api.post(
        url(project), {"client_id": backend.client_id, "scope": "system/*.cruds user/*.rs"}, format="json"
    )
    body = response.json()
    assert response.status_code == 200, body
    assert body["grant_type"] == MACHINE and body["membership"] is None
    assert [g["scope"] for g in body["granted"]] == ["system/Observation.rs", "system/Patient.crus"]
    system, user = body["outcomes"]
    assert "Clinician" in system["reason"]
    assert user["granted"] == [] and "signed-in user" in user["reason"]
    assert body["policy"]["held_by"] == "client" and body["policy"]["name"] == "Clinician"


def test_a_malformed_scope_is_reported_with_its_reason_and_the_refusal(api, project, patient):
    response = api.post(
        url(project),
        {"membership_id": str(patient.pk), "scope": "openid user/Observation.dus"},
        format="json",
    )
    body = response.json()
    assert response.status_code == 200
    (ignored,) = body["ignored"]
    assert ignored["scope"] == "user/Observation.dus" and "'dus' is not a permission" in ignored["reason"]
    assert any("invalid_scope" in note for note in body["notes"])


def test_no_policy_means_no_fhir_access_and_says_so(api, project, member_membership):
    response = api.post(
        url(project), {"membership_id": str(member_membership.pk), "scope": "user/*.rs"}, format="json"
    )
    body = response.json()
    assert body["granted"] == [] and "no access policy" in body["outcomes"][0]["reason"]
    assert body["policy"]["name"] == "" and "deny by default" in body["policy"]["summary"]


def test_a_deactivated_member_is_flagged(api, project, patient):
    patient.is_active = False
    patient.save(update_fields=["is_active"])
    body = api.post(url(project), {"membership_id": str(patient.pk), "scope": "openid"}, format="json").json()
    assert any("may not get tokens" in note for note in body["notes"])


def test_another_projects_membership_or_client_is_a_400_naming_the_field(
    api, project, other_project, foreign_membership
):
    response = api.post(
        url(project), {"membership_id": str(foreign_membership.pk), "scope": "openid"}, format="json"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_failed" and "membership_id" in error["fields"]

    foreign_client = make_client(other_project, scopes="openid")
    response = api.post(
        url(project), {"client_id": foreign_client.client_id, "scope": "openid"}, format="json"
    )
    assert response.status_code == 400 and "client_id" in response.json()["error"]["fields"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"scope": "openid"}, "non_field_errors"),
        ({"membership_id": "not-a-uuid", "scope": "openid"}, "membership_id"),
        ({"client_id": "nobody"}, "scope"),
    ],
)
def test_input_errors_use_the_envelope(api, project, payload, field):
    response = api.post(url(project), payload, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_failed" and field in error["fields"]


def test_a_member_caller_is_refused(project, member_membership, patient):
    client = APIClient()
    client.force_authenticate(member_membership.user)
    response = client.post(url(project), {"membership_id": str(patient.pk), "scope": "openid"}, format="json")
    assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"


def test_another_project_is_a_404(api, other_project):
    response = api.post(url(other_project), {"client_id": "x", "scope": "openid"}, format="json")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_the_operation_is_documented():
    schema = APIClient().get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/projects/{project_id}/access-simulator/"]["post"]
    assert {"200", "400", "401", "403", "404"} <= set(operation["responses"])
    envelope = {"$ref": "#/components/schemas/ErrorEnvelope"}
    assert operation["responses"]["400"]["content"]["application/json"]["schema"] == envelope


# --- the selector -----------------------------------------------------------------------------------


def test_the_simulator_asks_the_one_decision(project, patient):
    """The membership-only result equals scopes_grant for an app allowed everything."""
    from oauth.granting import scopes_grant

    app = make_client(project, scopes="openid launch/patient patient/*.cruds user/*.cruds")
    requested = "openid launch/patient patient/*.rs user/*.cruds"
    result = access_simulate(project=project, scope=requested, membership=patient)
    decided = scopes_grant(client=app, requested=requested, grant_type=CODE, user=patient.user)
    assert [g.scope for g in result.granted] == decided.granted
    assert [o.reason for o in result.outcomes] == [o.reason for o in decided.outcomes]


def test_a_subject_of_another_project_is_refused(project, foreign_membership):
    from django.http import Http404

    with pytest.raises(Http404):
        access_simulate(project=project, scope="openid", membership=foreign_membership)


# --- the portal page --------------------------------------------------------------------------------


def test_the_portal_page_shows_requested_granted_and_why(admin_client, project, patient):
    page = reverse("portal:access_simulator", kwargs={"project_slug": project.slug})
    response = admin_client.get(
        page, {"membership": str(patient.pk), "scope": "openid user/*.rs user/X.dus", "run": "1"}
    )
    text = response.content.decode()
    assert response.status_code == 200, text[:500]
    assert "user/Observation.rs?subject=Patient/123" in text
    assert "Narrowed to what the access policy &#x27;Own data&#x27; allows" in text
    assert "Observation: read, search where subject=Patient/123" in text
    assert "not understood" in text and "&#x27;dus&#x27; is not a permission" in text
    assert "%site" in text  # the Encounter rule grants nothing without it


def test_the_portal_page_searches_members_and_keeps_the_form_without_running(admin_client, project, patient):
    page = reverse("portal:access_simulator", kwargs={"project_slug": project.slug})
    response = admin_client.get(page, {"q": patient.user.email, "scope": "openid"})
    text = response.content.decode()
    assert response.status_code == 200 and "Result" not in text
    assert f'<option value="{patient.pk}" selected>' in text  # the one match is chosen


def test_the_portal_page_refuses_neither_and_foreign_ids(admin_client, project, foreign_membership):
    page = reverse("portal:access_simulator", kwargs={"project_slug": project.slug})
    response = admin_client.get(page, {"scope": "openid", "run": "1"})
    assert response.status_code == 400 and "Choose a member, an app, or both." in response.content.decode()
    response = admin_client.get(
        page, {"membership": str(foreign_membership.pk), "scope": "openid", "run": "1"}
    )
    assert response.status_code == 400 and foreign_membership.user.email not in response.content.decode()


def test_the_portal_page_is_for_admins_only(member_client, project):
    page = reverse("portal:access_simulator", kwargs={"project_slug": project.slug})
    assert member_client.get(page).status_code == 403


def test_the_page_is_linked_from_clients_and_members(admin_client, project, patient):
    app = make_client(project, scopes="openid")
    simulator = reverse("portal:access_simulator", kwargs={"project_slug": project.slug})
    detail = admin_client.get(
        reverse("portal:client", kwargs={"project_slug": project.slug, "client_pk": app.pk})
    )
    assert f"{simulator}?client={app.client_id}" in detail.content.decode()
    member = admin_client.get(
        reverse("portal:membership", kwargs={"project_slug": project.slug, "membership_id": patient.pk})
    )
    assert f"{simulator}?membership={patient.pk}" in member.content.decode()
    prefilled = admin_client.get(simulator, {"client": app.client_id}).content.decode()
    assert f'<option value="{app.client_id}" selected>' in prefilled
