"""A confidential client given a role automates its own project through the portal API."""

from __future__ import annotations

import pytest
import requests

from tests.factories import MembershipFactory, ProjectFactory

pytestmark = pytest.mark.django_db(transaction=True)


def token_for(issuer, client, scope):
    response = requests.post(
        f"{issuer}/o/token/",
        data={"grant_type": "client_credentials", "scope": scope},
        auth=(client.client_id, client.plain_secret),
        timeout=10,
    )
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


def test_admin_client_invites_through_the_api(issuer, make_client, oauth_project, mailoutbox):
    client = make_client(
        name="HR sync",
        grant_types=["client_credentials"],
        redirect_uris=[],
        scopes=["portal.read", "portal.write"],
        role="admin",
    )
    token = token_for(issuer, client, "portal.read portal.write")
    headers = {"Authorization": f"Bearer {token}"}
    projects = requests.get(f"{issuer}/api/v1/projects/", headers=headers, timeout=10).json()
    assert [p["id"] for p in projects["results"]] == [str(oauth_project.pk)]
    invite = requests.post(
        f"{issuer}/api/v1/projects/{oauth_project.pk}/invites/",
        json={"email": "bot-invited@example.test"},
        headers=headers,
        timeout=10,
    )
    assert invite.status_code == 201, invite.content
    from audit.models import AuditEvent

    event = AuditEvent.objects.filter(action="invitation.created").latest("created_at")
    assert event.actor_client_id == client.client_id and event.actor_user is None
    members = requests.get(
        f"{issuer}/api/v1/projects/{oauth_project.pk}/memberships/", headers=headers, timeout=10
    )
    assert members.status_code == 200


def test_client_without_role_or_other_project_is_refused(issuer, make_client, oauth_project):
    plain = make_client(
        name="No role", grant_types=["client_credentials"], redirect_uris=[], scopes=["portal.read"]
    )
    token = token_for(issuer, plain, "portal.read")
    response = requests.get(
        f"{issuer}/api/v1/projects/{oauth_project.pk}/memberships/",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 403
    other = ProjectFactory()
    MembershipFactory(project=other, role="owner")
    admin_client = make_client(
        name="Admin bot",
        grant_types=["client_credentials"],
        redirect_uris=[],
        scopes=["portal.read"],
        role="admin",
    )
    token = token_for(issuer, admin_client, "portal.read")
    response = requests.get(
        f"{issuer}/api/v1/projects/{other.pk}/memberships/",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 404


@pytest.mark.parametrize("scopes", [[], ["openid"]], ids=["no-scopes", "openid-only"])
def test_admin_client_created_without_portal_scopes_can_use_the_api(
    issuer, make_client, oauth_project, scopes
):
    client = make_client(
        name="HR sync", grant_types=["client_credentials"], redirect_uris=[], scopes=scopes, role="admin"
    )
    token = token_for(issuer, client, "portal.read portal.write")
    headers = {"Authorization": f"Bearer {token}"}
    members = requests.get(
        f"{issuer}/api/v1/projects/{oauth_project.pk}/memberships/", headers=headers, timeout=10
    )
    assert members.status_code == 200, members.content
    invite = requests.post(
        f"{issuer}/api/v1/projects/{oauth_project.pk}/invites/",
        json={"email": "bot-invited@example.test"},
        headers=headers,
        timeout=10,
    )
    assert invite.status_code == 201, invite.content


def test_member_client_created_without_portal_scopes_reads_only(issuer, make_client, oauth_project):
    client = make_client(
        name="Directory", grant_types=["client_credentials"], redirect_uris=[], scopes=[], role="member"
    )
    granted = requests.post(
        f"{issuer}/o/token/",
        data={"grant_type": "client_credentials"},
        auth=(client.client_id, client.plain_secret),
        timeout=10,
    )
    assert granted.status_code == 200, granted.content
    assert granted.json()["scope"].split() == ["portal.read"]
    headers = {"Authorization": f"Bearer {granted.json()['access_token']}"}
    project = requests.get(f"{issuer}/api/v1/projects/{oauth_project.pk}/", headers=headers, timeout=10)
    assert project.status_code == 200, project.content
    invite = requests.post(
        f"{issuer}/api/v1/projects/{oauth_project.pk}/invites/",
        json={"email": "bot-invited@example.test"},
        headers=headers,
        timeout=10,
    )
    assert invite.status_code == 403
    refused = requests.post(
        f"{issuer}/o/token/",
        data={"grant_type": "client_credentials", "scope": "portal.write"},
        auth=(client.client_id, client.plain_secret),
        timeout=10,
    )
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_scope"
