"""/api/v1/projects/{id}/access-policies/: CRUD with nested rules, validation, in-use deletes, isolation."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import AccessPolicy
from audit.models import AuditEvent
from tests.factories import AccessPolicyFactory, AccessPolicyRuleFactory, MembershipFactory

pytestmark = pytest.mark.django_db

RULES = [
    {"resource_type": "Patient", "interactions": "rs", "criteria": "organization=%org"},
    {"resource_type": "Observation", "interactions": "cruds"},
]


@pytest.fixture
def api(admin_user):
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


def url(project, policy=None):
    base = f"/api/v1/projects/{project.pk}/access-policies/"
    return f"{base}{policy.pk}/" if policy is not None else base


def error(response) -> dict:
    return response.json()["error"]


def rules_of(policy) -> list[tuple[str, str, str]]:
    return [(r.resource_type, r.interactions, r.criteria) for r in policy.rules.order_by("position")]


def test_create_with_rules(api, project, admin_user):
    response = api.post(
        url(project), {"name": "Clinicians", "description": "Ward staff", "rules": RULES}, format="json"
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["name"] == "Clinicians" and body["description"] == "Ward staff"
    assert body["rules"] == [
        {"resource_type": "Patient", "interactions": "rs", "criteria": "organization=%org"},
        {"resource_type": "Observation", "interactions": "cruds", "criteria": ""},
    ]
    policy = AccessPolicy.objects.get(pk=body["id"], project=project)
    assert rules_of(policy) == [("Patient", "rs", "organization=%org"), ("Observation", "cruds", "")]
    assert AuditEvent.objects.filter(
        action="access_policy.created", actor_user=admin_user, project=project, target_id=str(policy.pk)
    ).exists()


def test_create_without_rules_is_refused(api, project):
    """#13 item 4: an empty policy allows nothing; it is refused rather than saved."""
    for body in ({"name": "Nothing yet"}, {"name": "Nothing yet", "rules": []}):
        response = api.post(url(project), body, format="json")
        assert response.status_code == 400
        assert error(response)["code"] == "validation_failed"
        assert error(response)["fields"] == {
            "rules": ["A policy needs at least one rule; without rules it would allow nothing."]
        }
    assert not AccessPolicy.objects.filter(name="Nothing yet").exists()


def test_invalid_rules_are_400_keyed_by_index_and_nothing_is_created(api, project):
    response = api.post(
        url(project),
        {
            "name": "Broken",
            "rules": [
                {"resource_type": "Patient", "interactions": "dus"},
                {"resource_type": "patient", "interactions": "r"},
                {"resource_type": "Observation", "interactions": "rs"},
            ],
        },
        format="json",
    )
    assert response.status_code == 400
    assert error(response)["code"] == "validation_failed"
    assert set(error(response)["fields"]) == {"rules.0.interactions", "rules.1.resource_type"}
    assert not AccessPolicy.objects.filter(name="Broken").exists()


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({"rules": []}, {"name"}),
        ({"name": "   ", "rules": []}, {"name"}),
        ({"name": "X", "rules": [{"interactions": "r"}]}, {"rules.0.resource_type"}),
        (
            {"name": "X", "rules": [{"resource_type": "Patient", "interactions": ""}]},
            {"rules.0.interactions"},
        ),
        ({"name": "X", "rules": [7]}, {"rules.0.non_field_errors"}),
        ({"name": "X", "rules": "Patient.rs"}, {"rules.non_field_errors"}),
    ],
)
def test_create_input_validation(api, project, payload, fields):
    response = api.post(url(project), payload, format="json")
    assert response.status_code == 400
    assert error(response)["code"] == "validation_failed"
    assert set(error(response)["fields"]) == fields


def test_duplicate_name_is_409(api, project, policy):
    rules = [{"resource_type": "Patient", "interactions": "rs"}]
    response = api.post(url(project), {"name": policy.name.upper(), "rules": rules}, format="json")
    assert response.status_code == 409
    assert error(response)["code"] == "conflict" and "name" in error(response)["fields"]


def test_list_and_retrieve(api, project, policy, foreign_policy):
    AccessPolicyRuleFactory(policy=policy)
    AccessPolicyFactory(project=project, name="Another")
    listing = api.get(url(project))
    assert listing.status_code == 200
    assert listing.json()["count"] == 2
    assert str(foreign_policy.pk) not in [p["id"] for p in listing.json()["results"]]
    assert [p["name"] for p in api.get(url(project), {"q": "anoth"}).json()["results"]] == ["Another"]

    detail = api.get(url(project, policy))
    assert detail.status_code == 200
    assert detail.json()["rules"] == [{"resource_type": "Patient", "interactions": "rs", "criteria": ""}]


def test_patch_name_keeps_rules(api, project, policy):
    AccessPolicyRuleFactory(policy=policy, resource_type="Patient", interactions="r")
    response = api.patch(url(project, policy), {"name": "Renamed"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["name"] == "Renamed" and len(response.json()["rules"]) == 1
    policy.refresh_from_db()
    assert policy.name == "Renamed" and rules_of(policy) == [("Patient", "r", "")]


def test_patch_rules_replace_all_rules(api, project, policy, admin_user):
    AccessPolicyRuleFactory(policy=policy, resource_type="Patient", interactions="r")
    AccessPolicyRuleFactory(policy=policy, resource_type="Encounter", interactions="r")
    response = api.patch(
        url(project, policy), {"rules": [{"resource_type": "*", "interactions": "s"}]}, format="json"
    )
    assert response.status_code == 200
    assert rules_of(policy) == [("*", "s", "")]
    event = AuditEvent.objects.get(action="access_policy.updated", target_id=str(policy.pk))
    assert event.actor_user == admin_user and event.project_id == project.pk


def test_patch_with_invalid_rules_changes_nothing(api, project, policy):
    AccessPolicyRuleFactory(policy=policy, resource_type="Patient", interactions="r")
    response = api.patch(
        url(project, policy),
        {"name": "Renamed", "rules": [{"resource_type": "Patient", "interactions": "dus"}]},
        format="json",
    )
    assert response.status_code == 400 and "rules.0.interactions" in error(response)["fields"]
    policy.refresh_from_db()
    assert policy.name != "Renamed" and rules_of(policy) == [("Patient", "r", "")]


def test_put_replaces_the_whole_policy(api, project, policy):
    policy.description = "old"
    policy.save()
    AccessPolicyRuleFactory(policy=policy)
    response = api.put(url(project, policy), {"name": "Replaced", "rules": RULES[1:]}, format="json")
    assert response.status_code == 200, response.json()
    policy.refresh_from_db()
    assert policy.name == "Replaced" and policy.description == ""
    assert rules_of(policy) == [("Observation", "cruds", "")]

    incomplete = api.put(url(project, policy), {"name": "No rules"}, format="json")
    assert incomplete.status_code == 400 and "rules" in error(incomplete)["fields"]


def test_delete_unused_policy(api, project, policy, admin_user):
    response = api.delete(url(project, policy))
    assert response.status_code == 204
    assert not AccessPolicy.objects.filter(pk=policy.pk).exists()
    assert AuditEvent.objects.filter(
        action="access_policy.deleted", actor_user=admin_user, project=project
    ).exists()


def test_delete_policy_in_use_is_409_and_keeps_it(api, project, policy):
    MembershipFactory(project=project, access_policy=policy)
    response = api.delete(url(project, policy))
    assert response.status_code == 409
    assert error(response)["code"] == "policy_in_use"
    assert AccessPolicy.objects.filter(pk=policy.pk).exists()


def test_delete_project_default_policy_is_409(api, project, policy):
    project.default_access_policy = policy
    project.save()
    response = api.delete(url(project, policy))
    assert response.status_code == 409 and error(response)["code"] == "policy_in_use"


def test_another_projects_policy_is_404(api, project, other_project, foreign_policy):
    MembershipFactory(project=other_project, role="owner")
    for response in (
        api.get(url(project, foreign_policy)),
        api.patch(url(project, foreign_policy), {"name": "Mine now"}, format="json"),
        api.put(url(project, foreign_policy), {"name": "Mine now", "rules": []}, format="json"),
        api.delete(url(project, foreign_policy)),
        api.get(url(other_project)),
        api.post(url(other_project), {"name": "Sneaky"}, format="json"),
        api.get(url(other_project, foreign_policy)),
        api.delete(url(other_project, foreign_policy)),
    ):
        assert response.status_code == 404
        assert error(response)["code"] == "not_found"
    foreign_policy.refresh_from_db()
    assert foreign_policy.name != "Mine now"
    assert not AccessPolicy.objects.filter(name="Sneaky").exists()


def test_a_member_without_admin_role_is_403(project, member_membership, policy):
    member = APIClient()
    member.force_authenticate(member_membership.user)
    for response in (
        member.get(url(project)),
        member.post(url(project), {"name": "Mine"}, format="json"),
        member.get(url(project, policy)),
        member.delete(url(project, policy)),
    ):
        assert response.status_code == 403
        assert error(response)["code"] == "permission_denied"
    assert AccessPolicy.objects.filter(pk=policy.pk).exists()


def test_unauthenticated_is_401(project, policy):
    anonymous = APIClient()
    for response in (anonymous.get(url(project, policy)), anonymous.delete(url(project, policy))):
        assert response.status_code == 401 and error(response)["code"] == "not_authenticated"
    assert AccessPolicy.objects.filter(pk=policy.pk).exists()


# --- #13 item 4: the rule grammar (accounts/services/access_rules.py), the same for API and portal ----


@pytest.mark.parametrize(
    "rule,field,message",
    [
        ({"resource_type": "Patinet", "interactions": "rs"}, "resource_type", "Did you mean Patient?"),
        ({"resource_type": "Banana", "interactions": "rs"}, "resource_type", "not a FHIR R4 resource type"),
        (
            {"resource_type": "observation", "interactions": "rs"},
            "resource_type",
            "Did you mean Observation?",
        ),
        (
            {"resource_type": "Patient", "interactions": "rs", "criteria": "Observation?subject=%patient"},
            "criteria",
            "These criteria are for Observation, but the rule is for Patient.",
        ),
        (
            {"resource_type": "*", "interactions": "rs", "criteria": "Patient?organization=%org"},
            "criteria",
            "a rule for every type (*) takes criteria without a type",
        ),
        ({"resource_type": "Patient", "interactions": "rs", "criteria": "organization=%"}, "criteria", "A %"),
        ({"resource_type": "Patient", "interactions": "rs", "criteria": "%"}, "criteria", "A %"),
        ({"resource_type": "Patient", "interactions": "rs", "criteria": "name=a%20b"}, "criteria", "A %"),
        (
            {"resource_type": "Patient", "interactions": "rs", "criteria": "organization="},
            "criteria",
            "a value",
        ),
        (
            {"resource_type": "Patient", "interactions": "rs", "criteria": "just words"},
            "criteria",
            "name=value",
        ),
    ],
)
def test_rules_are_checked_against_fhir_r4_and_the_criteria_grammar(api, project, rule, field, message):
    response = api.post(url(project), {"name": "Checked", "rules": [RULES[1], rule]}, format="json")
    assert response.status_code == 400, response.json()
    assert error(response)["code"] == "validation_failed"
    assert list(error(response)["fields"]) == [f"rules.1.{field}"]
    assert message in error(response)["fields"][f"rules.1.{field}"][0]
    assert not AccessPolicy.objects.filter(name="Checked").exists()


def test_good_rules_pass(api, project):
    rules = [
        {
            "resource_type": "Patient",
            "interactions": "rs",
            "criteria": "Patient?organization=%org&active=true",
        },
        {"resource_type": "Observation", "interactions": "rs", "criteria": "subject=%patient"},
        {"resource_type": "*", "interactions": "r", "criteria": "_security=normal"},
        {
            "resource_type": "Practitioner",
            "interactions": "r",
            "criteria": "identifier=http://a.example|%staff",
        },
    ]
    response = api.post(url(project), {"name": "Fine", "rules": rules}, format="json")
    assert response.status_code == 201, response.json()


def test_a_repeated_rule_is_refused(api, project, policy):
    rules = [
        {"resource_type": "Patient", "interactions": "rs", "criteria": "organization=%org"},
        {"resource_type": "Observation", "interactions": "rs"},
        {"resource_type": "Patient", "interactions": "rs", "criteria": "Patient?organization=%org"},
    ]
    response = api.post(url(project), {"name": "Twice", "rules": rules}, format="json")
    assert response.status_code == 400
    assert error(response)["fields"] == {"rules.2.non_field_errors": ["The same rule as rule 1."]}
    # Replacing an existing policy's rules goes through the same check.
    AccessPolicyRuleFactory(policy=policy, resource_type="Patient", interactions="r")
    for method in (api.put, api.patch):
        again = method(url(project, policy), {"name": policy.name, "rules": rules}, format="json")
        assert again.status_code == 400 and "rules.2.non_field_errors" in error(again)["fields"]
        emptied = method(url(project, policy), {"name": policy.name, "rules": []}, format="json")
        assert emptied.status_code == 400 and list(error(emptied)["fields"]) == ["rules"]
    assert rules_of(policy) == [("Patient", "r", "")]
