"""GET /api/v1/projects/ and /projects/{id}/: my projects only, auth (session and OAuth bearer), 401s."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEvent
from tests.factories import MembershipFactory, ProjectFactory

pytestmark = pytest.mark.django_db

PROJECTS = "/api/v1/projects/"


@pytest.fixture
def api(admin_user):
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


def bearer_token(*, user, project, value: str, scope: str = "openid portal.read portal.write"):
    from oauth.models import AccessToken, Client

    client = Client.objects.create(
        project=project,
        name=f"Lab app {value}",  # client names are unique in a project
        client_type="confidential",
        authorization_grant_type="authorization-code",
        redirect_uris="https://app.example/cb",
    )
    AccessToken.objects.create(
        user=user,
        application=client,
        token=value,
        expires=timezone.now() + timedelta(hours=1),
        scope=scope,
    )
    return client


def test_lists_only_projects_i_am_an_active_member_of_with_my_role(api, admin_user, project, other_project):
    MembershipFactory(project=other_project, role="owner")  # someone else's project
    third = ProjectFactory(name="Zeta")
    MembershipFactory(project=third, user=admin_user, role="member")
    gone = ProjectFactory(name="Alpha")
    MembershipFactory(project=gone, user=admin_user, role="admin", is_active=False)

    response = api.get(PROJECTS)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [(p["id"], p["role"]) for p in body["results"]] == [
        (str(project.pk), "admin"),
        (str(third.pk), "member"),
    ]
    assert set(body["results"][0]) == {"id", "name", "slug", "display_name", "role"}


def test_project_list_is_paginated(api, admin_user):
    for n in range(3):
        MembershipFactory(project=ProjectFactory(name=f"Extra {n}"), user=admin_user)
    first = api.get(PROJECTS, {"page_size": 2}).json()
    assert first["count"] == 4 and len(first["results"]) == 2 and first["next"]
    second = api.get(PROJECTS, {"page_size": 2, "page": 2}).json()
    assert len(second["results"]) == 2 and second["next"] is None
    missing = api.get(PROJECTS, {"page_size": 2, "page": 9})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_project_detail_for_members_and_404_for_others(api, project, other_project, member_membership):
    mine = api.get(f"{PROJECTS}{project.pk}/")
    assert mine.status_code == 200
    assert mine.json()["slug"] == project.slug and mine.json()["role"] == "admin"

    member = APIClient()
    member.force_authenticate(member_membership.user)
    assert member.get(f"{PROJECTS}{project.pk}/").json()["role"] == "member"

    foreign = api.get(f"{PROJECTS}{other_project.pk}/")
    assert foreign.status_code == 404
    assert foreign.json()["error"]["code"] == "not_found"


def test_deactivated_member_no_longer_sees_the_project(project, member_membership):
    member_membership.is_active = False
    member_membership.save()
    client = APIClient()
    client.force_authenticate(member_membership.user)
    assert client.get(f"{PROJECTS}{project.pk}/").status_code == 404
    assert client.get(PROJECTS).json()["count"] == 0


@pytest.mark.parametrize("path", ["", "{project}/", "{project}/memberships/", "{project}/access-policies/"])
def test_unauthenticated_is_401_with_the_envelope(project, path):
    response = APIClient().get(PROJECTS + path.format(project=project.pk))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_session_login_works(admin_user, project):
    client = APIClient()
    client.force_login(admin_user)
    assert client.get(f"{PROJECTS}{project.pk}/").status_code == 200


def test_oauth2_bearer_token_is_accepted(admin_user, project):
    client = bearer_token(user=admin_user, project=project, value="some-random-value")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Bearer some-random-value")

    assert api.get(PROJECTS).status_code == 200
    assert api.get(f"{PROJECTS}{project.pk}/memberships/").status_code == 200

    # Services see the client as part of the actor: the audit log names it.
    membership = MembershipFactory(project=project)
    assert (
        api.patch(
            f"{PROJECTS}{project.pk}/memberships/{membership.pk}/", {"external_id": "E-1"}, format="json"
        ).status_code
        == 200
    )
    event = AuditEvent.objects.get(action="membership.updated", target_id=str(membership.pk))
    assert event.actor_user == admin_user and event.actor_client_id == client.client_id


def test_unknown_or_expired_bearer_token_is_401(admin_user, project):
    from oauth.models import AccessToken

    bearer_token(user=admin_user, project=project, value="soon-expired-value")
    AccessToken.objects.filter(token="soon-expired-value").update(
        expires=timezone.now() - timedelta(seconds=1)
    )
    for value in ("not-a-token", "soon-expired-value"):
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {value}")
        response = api.get(PROJECTS)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "not_authenticated"


def test_bearer_token_only_opens_the_project_of_its_client(admin_user, project, other_project):
    """A token obtained through project B's client cannot administer project A, even for A's admin."""
    MembershipFactory(project=other_project, user=admin_user, role="owner")
    bearer_token(user=admin_user, project=other_project, value="token-of-project-b")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Bearer token-of-project-b")

    assert [p["id"] for p in api.get(PROJECTS).json()["results"]] == [str(other_project.pk)]
    assert api.get(f"{PROJECTS}{other_project.pk}/memberships/").status_code == 200
    assert api.get(f"{PROJECTS}{project.pk}/").status_code == 404
    assert api.get(f"{PROJECTS}{project.pk}/memberships/").status_code == 404


def test_bearer_token_needs_portal_scopes(admin_user, project):
    from rest_framework.test import APIClient

    bearer_token(user=admin_user, project=project, value="only-openid-token-value", scope="openid")
    bearer_token(user=admin_user, project=project, value="read-only-token-value", scope="openid portal.read")
    client = APIClient()
    denied = client.get(PROJECTS, HTTP_AUTHORIZATION="Bearer only-openid-token-value")
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "permission_denied"
    assert client.get(PROJECTS, HTTP_AUTHORIZATION="Bearer read-only-token-value").status_code == 200
    write = client.post(
        f"/api/v1/projects/{project.pk}/access-policies/",
        {"name": "X", "rules": []},
        format="json",
        HTTP_AUTHORIZATION="Bearer read-only-token-value",
    )
    assert write.status_code == 403
