"""Client management in the portal and the API: create, secret once, rotate, disable, delete, isolation."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from oauth.models import Client
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def create(admin_client, project, **data):
    payload = {
        "name": "Scheduler",
        "client_type": "confidential",
        "grant_types": ["client_credentials"],
        "scopes": ["openid", "portal.read"],
        "role": "",
        "algorithm": "RS256",
        **data,
    }
    return admin_client.post(reverse("portal:client_create", kwargs={"project_slug": project.slug}), payload)


def test_create_shows_secret_once_and_stores_hash(admin_client, project):
    response = create(admin_client, project)
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    secret = re.search(r'id="client-secret">([^<]+)<', response.content.decode()).group(1)
    client = Client.objects.get(project=project, name="Scheduler")
    assert client.client_secret.startswith("keyed_sha256$") and secret not in client.client_secret
    detail = admin_client.get(
        reverse("portal:client", kwargs={"project_slug": project.slug, "client_pk": client.pk})
    )
    assert secret not in detail.content.decode()
    assert AuditEvent.objects.filter(action="client.created", target_id=str(client.pk)).exists()


@pytest.mark.parametrize(
    "uris,message",
    [
        ("http://app.example/cb", "use https"),
        ("https://app.example/cb#frag", "fragment"),
        ("", "at least one redirect URI"),
    ],
)
def test_redirect_uris_are_validated(admin_client, project, uris, message):
    response = create(admin_client, project, grant_types=["authorization_code"], redirect_uris=uris)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Client.objects.filter(name="Scheduler").exists()


def test_loopback_only_for_public_clients(admin_client, project):
    assert (
        create(
            admin_client, project, grant_types=["authorization_code"], redirect_uris="http://127.0.0.1/cb"
        ).status_code
        == 400
    )
    response = create(
        admin_client,
        project,
        client_type="public",
        grant_types=["authorization_code"],
        redirect_uris="http://127.0.0.1/cb",
    )
    assert response.status_code == 302


def test_rotate_disable_enable_delete(admin_client, project):
    create(admin_client, project)
    client = Client.objects.get(name="Scheduler")
    kwargs = {"project_slug": project.slug, "client_pk": client.pk}
    rotated = admin_client.post(reverse("portal:client_rotate", kwargs=kwargs))
    assert "shown only once" in rotated.content.decode()
    client.refresh_from_db()
    assert client.retiring_client_secret and client.retiring_secret_expires_at
    admin_client.post(reverse("portal:client_disable", kwargs=kwargs))
    client.refresh_from_db()
    assert not client.is_active
    admin_client.post(reverse("portal:client_enable", kwargs=kwargs))
    client.refresh_from_db()
    assert client.is_active
    admin_client.post(reverse("portal:client_delete", kwargs=kwargs))
    assert not Client.objects.filter(pk=client.pk).exists()


def test_other_projects_clients_are_404_and_members_403(admin_client, member_client, project, other_project):
    MembershipFactory(project=other_project, role="owner")
    foreign = Client.objects.create(
        project=other_project,
        name="Theirs",
        client_type="confidential",
        authorization_grant_type="client-credentials",
        allowed_grant_types=["client_credentials"],
    )
    for name in ("portal:client", "portal:client_rotate", "portal:client_disable", "portal:client_delete"):
        url = reverse(name, kwargs={"project_slug": project.slug, "client_pk": foreign.pk})
        assert admin_client.post(url).status_code == 404
    foreign.refresh_from_db()
    assert foreign.is_active
    listing = admin_client.get(
        reverse("portal:clients", kwargs={"project_slug": project.slug})
    ).content.decode()
    assert "Theirs" not in listing
    assert (
        member_client.get(reverse("portal:clients", kwargs={"project_slug": project.slug})).status_code == 403
    )


def test_client_api(project, admin_user, other_project):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(admin_user)
    base = f"/api/v1/projects/{project.pk}/clients/"
    created = api.post(
        base,
        {
            "name": "API app",
            "grant_types": ["authorization_code"],
            "redirect_uris": ["https://a.example/cb"],
            "scopes": ["openid", "offline_access"],
        },
        format="json",
    )
    assert created.status_code == 201 and created["Cache-Control"] == "no-store"
    body = created.json()
    assert body["client_secret"] and "refresh_token" in body["client"]["grant_types"]
    pk = body["client"]["id"]
    bad = api.post(
        base,
        {"name": "Bad", "grant_types": ["authorization_code"], "redirect_uris": ["http://a.example/cb"]},
        format="json",
    )
    assert bad.status_code == 400 and "redirect_uris" in bad.json()["error"]["fields"]
    rotated = api.post(f"{base}{pk}/rotate-secret/").json()
    assert rotated["client_secret"] != body["client_secret"]
    assert api.post(f"{base}{pk}/disable/").json()["is_active"] is False
    assert [c["name"] for c in api.get(base).json()["results"]] == ["API app"]
    MembershipFactory(project=other_project, role="owner")
    assert api.get(f"/api/v1/projects/{other_project.pk}/clients/").status_code == 404
    assert api.delete(f"{base}{pk}/").status_code == 204
    assert api.get(f"{base}{pk}/").status_code == 404
