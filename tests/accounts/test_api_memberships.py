"""/api/v1/projects/{id}/memberships/: list filters, PATCH rules, (de|re)activation, tenant isolation."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import Membership
from audit.models import AuditEvent
from tests.factories import AccessPolicyRuleFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(admin_user):
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def url(project, membership=None, suffix=""):
    base = f"/api/v1/projects/{project.pk}/memberships/"
    return f"{base}{membership.pk}/{suffix}" if membership is not None else base


def error(response) -> dict:
    return response.json()["error"]


# --- list -------------------------------------------------------------------------------------------


@pytest.fixture
def people(project, owner, admin_membership):
    """Three more members with known names, emails and external ids."""
    ada = MembershipFactory(
        project=project,
        user=UserFactory(email="ada@example.test", first_name="Ada", last_name="Lovelace"),
        external_id="EMP-001",
    )
    bob = MembershipFactory(
        project=project,
        user=UserFactory(email="bob@example.test", first_name="Bob", last_name="Builder"),
        role="admin",
    )
    cy = MembershipFactory(
        project=project,
        user=UserFactory(email="cy@example.test", first_name="Cy", last_name="Young"),
        is_active=False,
    )
    return {"ada": ada, "bob": bob, "cy": cy}


def ids(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [m["id"] for m in response.json()["results"]]


def test_list_returns_the_project_members_in_the_documented_shape(api, project, people, foreign_membership):
    response = api.get(url(project))
    body = response.json()
    assert body["count"] == 5  # owner, admin, ada, bob, cy; nobody from the other project
    assert str(foreign_membership.pk) not in ids(response)
    ada = next(m for m in body["results"] if m["id"] == str(people["ada"].pk))
    assert ada == {
        "id": str(people["ada"].pk),
        "user": {
            "id": str(people["ada"].user.pk),
            "email": "ada@example.test",
            "first_name": "Ada",
            "last_name": "Lovelace",
        },
        "role": "member",
        "is_active": True,
        "access_policy": None,
        "access_parameters": {},
        "external_id": "EMP-001",
        "profile": "",
        "invited_by": None,
        "created_at": ada["created_at"],
        "updated_at": ada["updated_at"],
        "deactivated_at": None,
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "lovelace"}, ["ada"]),
        ({"q": "BOB@example"}, ["bob"]),
        ({"q": "emp-001"}, ["ada"]),
        ({"q": "ada love"}, ["ada"]),
        ({"q": "nobody-here"}, []),
        ({"role": "member", "status": "active", "q": "example.test"}, ["ada"]),
        ({"status": "inactive"}, ["cy"]),
    ],
)
def test_list_search_and_filters(api, project, people, params, expected):
    assert ids(api.get(url(project), params)) == [str(people[name].pk) for name in expected]


def test_search_counts_what_it_lists_and_stays_in_the_project(api, project, people, other_project):
    """On PostgreSQL the count of a search asks the same search in another shape than its page
    (accounts.selectors._member_search): both find the same members, of this project only."""
    # Ada is also in another project, where her external ID is different; Bob has one elsewhere only.
    MembershipFactory(project=other_project, user=people["ada"].user, external_id="OTHER-7")
    MembershipFactory(project=other_project, user=people["bob"].user, external_id="EMP-002")
    cases = [
        ({"q": "emp-00"}, ["ada"]),
        ({"q": "other-7"}, []),
        ({"q": "ada emp"}, ["ada"]),
        ({"q": "example.test", "status": "active", "role": "member"}, ["ada"]),
        ({"q": "example.test", "status": "inactive"}, ["cy"]),
        ({"q": "BUILDER example"}, ["bob"]),
    ]
    for params, expected in cases:
        body = api.get(url(project), params).json()
        assert [m["id"] for m in body["results"]] == [str(people[name].pk) for name in expected], params
        assert body["count"] == len(expected), params


def test_a_narrowed_search_counts_its_own_rows(project, people):
    from accounts.selectors import membership_list

    found = membership_list(project=project, query="example.test")  # owner, admin, ada, bob, cy
    assert found.count() == 5
    assert found.filter(role="admin").count() == 2  # derived querysets count what they hold
    assert found.exclude(pk=people["ada"].pk).count() == 4
    assert len(found[:2]) == 2 and found.count() == 5


def test_list_status_active_and_role_filters(api, project, owner, admin_user, people):
    active = ids(api.get(url(project), {"status": "active"}))
    assert str(people["cy"].pk) not in active and len(active) == 4
    admins = ids(api.get(url(project), {"role": "admin"}))
    assert set(admins) == {str(people["bob"].pk), str(Membership.objects.get(user=admin_user).pk)}
    owners = ids(api.get(url(project), {"role": "owner"}))
    assert owners == [str(Membership.objects.get(user=owner).pk)]


def test_list_sorting(api, project, people):
    mine = {str(m.pk) for m in people.values()}

    def order(sort):
        return [i for i in ids(api.get(url(project), {"sort": sort})) if i in mine]

    by_name = [str(people[n].pk) for n in ("ada", "bob", "cy")]
    assert order("name") == by_name
    assert order("-name") == by_name[::-1]
    assert order("email") == by_name
    assert order("-email") == by_name[::-1]
    assert order("-created") == by_name[::-1]  # newest first, also the default
    assert [i for i in ids(api.get(url(project))) if i in mine] == by_name[::-1]
    assert order("created") == by_name
    roles = [m["role"] for m in api.get(url(project), {"sort": "role"}).json()["results"]]
    assert roles == sorted(roles)


def test_list_pagination(api, project, people):
    first = api.get(url(project), {"page_size": 2, "sort": "email"}).json()
    assert first["count"] == 5 and len(first["results"]) == 2 and first["next"] and first["previous"] is None
    last = api.get(url(project), {"page_size": 2, "page": 3, "sort": "email"}).json()
    assert len(last["results"]) == 1 and last["next"] is None


def test_list_rejects_unknown_filter_values(api, project):
    response = api.get(url(project), {"role": "king", "sort": "salary"})
    assert response.status_code == 400
    assert error(response)["code"] == "validation_failed"
    assert set(error(response)["fields"]) == {"role", "sort"}


# --- retrieve / PATCH -------------------------------------------------------------------------------


def test_retrieve(api, project, member_membership):
    response = api.get(url(project, member_membership))
    assert response.status_code == 200
    assert response.json()["user"]["email"] == member_membership.user.email


def test_patch_changes_only_what_is_sent_and_is_audited(api, project, admin_user, member_membership, policy):
    AccessPolicyRuleFactory(
        policy=policy, resource_type="Patient", interactions="rs", criteria="organization=%org"
    )
    member_membership.external_id = "KEEP-ME"
    member_membership.save()

    response = api.patch(
        url(project, member_membership),
        {
            "role": "admin",
            "access_policy": str(policy.pk),
            "access_parameters": {"org": "Organization/7"},
            "profile": "Practitioner/123",
        },
        format="json",
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["role"] == "admin" and body["access_policy"] == str(policy.pk)
    assert body["access_parameters"] == {"org": "Organization/7"} and body["profile"] == "Practitioner/123"
    member_membership.refresh_from_db()
    assert member_membership.role == "admin"
    assert member_membership.access_policy == policy
    assert member_membership.access_parameters == {"org": "Organization/7"}
    assert member_membership.profile == "Practitioner/123"
    assert member_membership.external_id == "KEEP-ME"  # not sent, not changed
    event = AuditEvent.objects.get(action="membership.updated", target_id=str(member_membership.pk))
    assert event.actor_user == admin_user and event.project_id == project.pk
    assert event.details["changes"]["role"] == ["member", "admin"]
    assert "external_id" not in event.details["changes"]


def test_patch_can_clear_the_policy(api, project, member_membership, policy):
    member_membership.access_policy = policy
    member_membership.save()
    response = api.patch(url(project, member_membership), {"access_policy": None}, format="json")
    assert response.status_code == 200 and response.json()["access_policy"] is None
    member_membership.refresh_from_db()
    assert member_membership.access_policy is None


def test_patch_with_a_bad_profile_is_400_and_changes_nothing(api, project, member_membership):
    response = api.patch(
        url(project, member_membership), {"profile": "Banana/1", "external_id": "NEW-ID"}, format="json"
    )
    assert response.status_code == 400
    assert error(response)["code"] == "validation_failed"
    assert "profile" in error(response)["fields"]
    member_membership.refresh_from_db()
    assert member_membership.profile == "" and member_membership.external_id == ""
    assert not AuditEvent.objects.filter(action="membership.updated").exists()


def test_patch_with_a_policy_of_another_project_is_400(api, project, member_membership, foreign_policy):
    response = api.patch(
        url(project, member_membership), {"access_policy": str(foreign_policy.pk)}, format="json"
    )
    assert response.status_code == 400
    assert error(response)["code"] == "validation_failed"
    assert "access_policy" in error(response)["fields"]
    member_membership.refresh_from_db()
    assert member_membership.access_policy_id is None


def test_patch_needs_the_parameters_the_policy_uses(api, project, member_membership, policy):
    AccessPolicyRuleFactory(policy=policy, criteria="organization=%org")
    response = api.patch(url(project, member_membership), {"access_policy": str(policy.pk)}, format="json")
    assert response.status_code == 400
    assert "access_parameters" in error(response)["fields"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"role": "king"}, "role"),
        ({"access_policy": "not-a-uuid"}, "access_policy"),
        ({"access_parameters": ["a", "b"]}, "access_parameters"),
        ({"access_parameters": {"org": None}}, "access_parameters.org"),
        ({"external_id": "x" * 256}, "external_id"),
    ],
)
def test_patch_input_validation(api, project, member_membership, payload, field):
    response = api.patch(url(project, member_membership), payload, format="json")
    assert response.status_code == 400
    assert error(response)["code"] == "validation_failed"
    assert field in error(response)["fields"]


def test_external_id_must_be_unique_in_the_project(api, project, member_membership, admin_membership):
    admin_membership.external_id = "EMP-1"
    admin_membership.save()
    response = api.patch(url(project, member_membership), {"external_id": "EMP-1"}, format="json")
    assert response.status_code == 409
    assert error(response)["code"] == "conflict" and "external_id" in error(response)["fields"]


def test_last_owner_cannot_be_demoted(project, owner):
    owner_membership = Membership.objects.get(project=project, user=owner)
    response = client_for(owner).patch(url(project, owner_membership), {"role": "admin"}, format="json")
    assert response.status_code == 409
    assert error(response)["code"] == "last_owner"
    owner_membership.refresh_from_db()
    assert owner_membership.role == "owner"


def test_only_an_owner_grants_the_owner_role(api, project, owner, member_membership):
    denied = api.patch(url(project, member_membership), {"role": "owner"}, format="json")
    assert denied.status_code == 403 and error(denied)["code"] == "permission_denied"
    granted = client_for(owner).patch(url(project, member_membership), {"role": "owner"}, format="json")
    assert granted.status_code == 200 and granted.json()["role"] == "owner"


# --- deactivate / reactivate ------------------------------------------------------------------------


def test_deactivate_and_reactivate(api, project, admin_user, member_membership):
    response = api.post(url(project, member_membership, "deactivate/"))
    assert response.status_code == 200
    assert response.json()["is_active"] is False and response.json()["deactivated_at"]
    member_membership.refresh_from_db()
    assert member_membership.is_active is False
    assert AuditEvent.objects.filter(
        action="membership.deactivated",
        actor_user=admin_user,
        project=project,
        target_id=str(member_membership.pk),
    ).exists()

    response = api.post(url(project, member_membership, "reactivate/"))
    assert response.status_code == 200
    assert response.json()["is_active"] is True and response.json()["deactivated_at"] is None
    assert AuditEvent.objects.filter(
        action="membership.reactivated", target_id=str(member_membership.pk)
    ).exists()


def test_last_owner_cannot_be_deactivated(api, project, owner):
    owner_membership = Membership.objects.get(project=project, user=owner)
    by_admin = api.post(url(project, owner_membership, "deactivate/"))
    assert by_admin.status_code == 403  # only an owner may deactivate an owner
    from rest_framework.test import APIClient

    owner_api = APIClient()
    owner_api.force_authenticate(owner)
    response = owner_api.post(url(project, owner_membership, "deactivate/"))
    assert response.status_code == 409 and error(response)["code"] == "last_owner"
    owner_membership.refresh_from_db()
    assert owner_membership.is_active is True


def test_actions_only_accept_post(api, project, member_membership):
    response = api.get(url(project, member_membership, "deactivate/"))
    assert response.status_code == 405 and error(response)["code"] == "method_not_allowed"


# --- tenant isolation and permissions ---------------------------------------------------------------


def test_another_projects_membership_is_404(api, project, other_project, foreign_membership):
    for response in (
        api.get(url(project, foreign_membership)),
        api.patch(url(project, foreign_membership), {"role": "admin"}, format="json"),
        api.post(url(project, foreign_membership, "deactivate/")),
        api.post(url(project, foreign_membership, "reactivate/")),
        # and through the other project's own URLs
        api.get(url(other_project)),
        api.get(url(other_project, foreign_membership)),
        api.patch(url(other_project, foreign_membership), {"role": "admin"}, format="json"),
        api.post(url(other_project, foreign_membership, "deactivate/")),
    ):
        assert response.status_code == 404
        assert error(response)["code"] == "not_found"
    foreign_membership.refresh_from_db()
    assert foreign_membership.role == "member" and foreign_membership.is_active is True


def test_a_member_without_admin_role_is_403(project, member_membership, admin_membership):
    member = client_for(member_membership.user)
    for response in (
        member.get(url(project)),
        member.get(url(project, admin_membership)),
        member.patch(url(project, admin_membership), {"role": "member"}, format="json"),
        member.post(url(project, admin_membership, "deactivate/")),
    ):
        assert response.status_code == 403
        assert error(response)["code"] == "permission_denied"
    admin_membership.refresh_from_db()
    assert admin_membership.role == "admin" and admin_membership.is_active is True


def test_unauthenticated_is_401(project, member_membership):
    anonymous = APIClient()
    for response in (
        anonymous.get(url(project)),
        anonymous.patch(url(project, member_membership), {"role": "admin"}, format="json"),
        anonymous.post(url(project, member_membership, "deactivate/")),
    ):
        assert response.status_code == 401
        assert error(response)["code"] == "not_authenticated"
