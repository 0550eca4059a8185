"""Granted = requested ∩ the client's allowed scopes ∩ the access policy (oauth/granting.py),
then through the real endpoints: client credentials, and the authorization code's consent page."""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

import pytest

from audit.context import Actor
from oauth.constants import GrantType
from oauth.granting import scopes_grant
from oauth.services import ClientInput, client_create
from tests.factories import AccessPolicyFactory, AccessPolicyRuleFactory, MembershipFactory, ProjectFactory

pytestmark = pytest.mark.django_db

CODE = GrantType.AUTHORIZATION_CODE
MACHINE = GrantType.CLIENT_CREDENTIALS


@pytest.fixture
def project():
    return ProjectFactory()


@pytest.fixture
def clinician_policy(project):
    policy = AccessPolicyFactory(project=project, name="Clinician")
    AccessPolicyRuleFactory(policy=policy, resource_type="Observation", interactions="rs", position=0)
    AccessPolicyRuleFactory(policy=policy, resource_type="Patient", interactions="crus", position=1)
    return policy


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


def make_client(project, *, scopes, grants=(CODE,), policy=None, client_type="confidential"):
    return client_create(
        project=project,
        actor=Actor.system(),
        data=ClientInput(
            name=f"App {uuid.uuid4().hex[:8]}",  # client names are unique in a project
            grant_types=list(grants),
            redirect_uris=["https://app.example/cb"] if CODE in grants else [],
            scopes=scopes.split(),
            access_policy=policy,
            client_type=client_type,
        ),
    ).client


def test_a_wider_request_is_cut_to_the_users_policy_and_says_why(project, clinician_policy):
    client = make_client(project, scopes="openid user/*.cruds")
    user = MembershipFactory(project=project, access_policy=clinician_policy).user
    grant = scopes_grant(client=client, requested=["openid", "user/*.cruds"], grant_type=CODE, user=user)
    assert grant.granted == ["openid", "user/Observation.rs", "user/Patient.crus"]
    (change,) = grant.changed
    assert change.requested == "user/*.cruds" and "Clinician" in change.reason


def test_a_narrower_request_stays_narrow(project, clinician_policy):
    client = make_client(project, scopes="openid user/*.cruds")
    user = MembershipFactory(project=project, access_policy=clinician_policy).user
    grant = scopes_grant(client=client, requested=["user/Observation.r"], grant_type=CODE, user=user)
    assert grant.granted == ["user/Observation.r"] and not grant.changed


def test_the_clients_allowed_scopes_bound_the_request(project, clinician_policy):
    client = make_client(project, scopes="openid user/Observation.rs")
    user = MembershipFactory(project=project, access_policy=clinician_policy).user
    grant = scopes_grant(
        client=client, requested=["user/Patient.rs", "user/*.rs"], grant_type=CODE, user=user
    )
    assert grant.granted == ["user/Observation.rs"]
    assert grant.outcomes[0].reason == "this app is not allowed to ask for it"


def test_parameters_are_substituted_from_the_membership(project, own_data_policy):
    client = make_client(project, scopes="openid launch/patient patient/*.rs user/*.rs")
    membership = MembershipFactory(
        project=project,
        access_policy=own_data_policy,
        profile="Patient/123",
        access_parameters={"site": "Location/9"},
    )
    grant = scopes_grant(
        client=client, requested=["launch/patient", "patient/*.rs"], grant_type=CODE, user=membership.user
    )
    assert grant.granted == [
        "launch/patient",
        "patient/Observation.rs?subject=Patient/123",
        "patient/Encounter.rs?location=Location/9",
    ]


def test_a_rule_with_a_missing_parameter_grants_nothing(project, own_data_policy):
    client = make_client(project, scopes="openid user/*.rs")
    membership = MembershipFactory(project=project, access_policy=own_data_policy, profile="Practitioner/7")
    grant = scopes_grant(client=client, requested=["user/*.rs"], grant_type=CODE, user=membership.user)
    assert grant.granted == []  # no %patient, no %site: nothing
    assert "Own data" in grant.outcomes[0].reason


def test_patient_scopes_need_a_patient_context(project, clinician_policy):
    client = make_client(project, scopes="openid launch/patient patient/*.rs")
    user = MembershipFactory(project=project, access_policy=clinician_policy, profile="Practitioner/7").user
    grant = scopes_grant(client=client, requested=["patient/Observation.rs"], grant_type=CODE, user=user)
    assert grant.granted == [] and "launch/patient" in grant.outcomes[0].reason
    grant = scopes_grant(
        client=client, requested=["launch/patient", "patient/Observation.rs"], grant_type=CODE, user=user
    )
    assert grant.granted == ["launch/patient", "patient/Observation.rs"]


def test_no_policy_means_no_fhir_access(project):
    client = make_client(project, scopes="openid user/*.rs")
    user = MembershipFactory(project=project, access_policy=None).user
    grant = scopes_grant(client=client, requested=["openid", "user/*.rs"], grant_type=CODE, user=user)
    assert grant.granted == ["openid"] and "no access policy" in grant.outcomes[1].reason


def test_system_scopes_only_for_client_credentials_and_user_scopes_never(project, clinician_policy):
    client = make_client(project, scopes="system/*.rs user/*.rs", grants=(MACHINE,), policy=clinician_policy)
    grant = scopes_grant(client=client, requested=["system/*.rs", "user/*.rs"], grant_type=MACHINE)
    assert grant.granted == ["system/Observation.rs", "system/Patient.rs"]
    assert "signed-in user" in grant.outcomes[1].reason
    web = make_client(project, scopes="openid system/*.rs")
    user = MembershipFactory(project=project, access_policy=clinician_policy).user
    assert scopes_grant(client=web, requested=["system/*.rs"], grant_type=CODE, user=user).granted == []


def test_named_scopes_outside_the_clients_list_are_forbidden(project):
    client = make_client(project, scopes="openid")
    grant = scopes_grant(client=client, requested=["openid", "portal.write"], grant_type=CODE, user=None)
    assert grant.forbidden == ["portal.write"]


# --- through the endpoints ---------------------------------------------------------------------


def test_client_credentials_token_scope_is_what_the_clients_policy_grants(client, project, clinician_policy):
    issued = client_create(
        project=project,
        actor=Actor.system(),
        data=ClientInput(
            name="Backend", grant_types=[MACHINE], scopes=["system/*.cruds"], access_policy=clinician_policy
        ),
    )
    response = client.post(
        "/o/token/",
        {
            "grant_type": MACHINE,
            "scope": "system/*.cruds",
            "client_id": issued.client.client_id,
            "client_secret": issued.client_secret,
        },  # fmt: skip
    )
    assert response.status_code == 200, response.content
    assert response.json()["scope"].split() == ["system/Observation.rs", "system/Patient.crus"]


def test_a_malformed_scope_is_an_invalid_scope_error_naming_it(client, project, clinician_policy):
    issued = client_create(
        project=project,
        actor=Actor.system(),
        data=ClientInput(
            name="Backend", grant_types=[MACHINE], scopes=["system/*.rs"], access_policy=clinician_policy
        ),
    )
    response = client.post(
        "/o/token/",
        {
            "grant_type": MACHINE,
            "scope": "system/Observation.dus",
            "client_id": issued.client.client_id,
            "client_secret": issued.client_secret,
        },  # fmt: skip
    )
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_scope" and "system/Observation.dus" in body["error_description"]


def test_the_consent_page_lists_what_will_be_granted_in_plain_words(client, project, clinician_policy):
    app = make_client(project, scopes="openid user/*.cruds")
    user = MembershipFactory(project=project, access_policy=clinician_policy).user
    client.force_login(user)
    response = client.get(
        "/o/authorize/?"
        + urlencode(
            {
                "response_type": "code",
                "client_id": app.client_id,
                "redirect_uri": "https://app.example/cb",
                "scope": "openid user/*.cruds",
                "code_challenge": "x" * 43,
                "code_challenge_method": "S256",
            }
        )  # fmt: skip
    )
    text = response.content.decode()
    assert response.status_code == 200, text[:400]
    assert "Read and search Observation records that you can see" in text
    assert "Create, read, update and search Patient records" in text
    assert "It asked for more than your access allows" in text and "Clinician" in text
    assert 'value="openid user/Observation.rs user/Patient.crus"' in text  # what the form will grant
