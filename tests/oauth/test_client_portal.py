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
    created = create(admin_client, project)
    client = Client.objects.get(project=project, name="Scheduler")
    # Post/redirect/get: the POST answers a redirect to the page that shows the secret, once.
    secret_url = reverse(
        "portal:client_secret", kwargs={"project_slug": project.slug, "client_pk": client.pk}
    )
    assert created.status_code == 303 and created["Location"] == secret_url
    response = admin_client.get(secret_url)
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    secret = re.search(r'id="client-secret">([^<]+)<', response.content.decode()).group(1)
    assert secret not in created["Location"]
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
    rotated = admin_client.post(reverse("portal:client_rotate", kwargs=kwargs), follow=True)
    assert rotated.redirect_chain == [(reverse("portal:client_secret", kwargs=kwargs), 303)]
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


def test_reloading_the_secret_page_creates_nothing_and_shows_the_secret_no_more(admin_client, project):
    """#13 item 3: a reload used to POST again and create a second client."""
    created = create(admin_client, project)
    first = admin_client.get(created["Location"])
    secret = re.search(r'id="client-secret">([^<]+)<', first.content.decode()).group(1)
    again = admin_client.get(created["Location"], follow=True)  # the reload
    client = Client.objects.get(project=project, name="Scheduler")
    assert again.redirect_chain == [
        (reverse("portal:client", kwargs={"project_slug": project.slug, "client_pk": client.pk}), 302)
    ]
    html = again.content.decode()
    assert secret not in html and "was shown once" in html
    assert Client.objects.filter(project=project).count() == 1
    assert AuditEvent.objects.filter(action="client.created").count() == 1
    # The session no longer holds it either.
    assert secret not in str(dict(admin_client.session))


def test_the_secret_page_of_another_project_or_another_session_shows_nothing(
    admin_client, project, other_project
):
    from django.test import Client as Browser

    created = create(admin_client, project)
    other_admin = MembershipFactory(project=project, role="admin").user
    other_browser = Browser()
    other_browser.force_login(other_admin)
    response = other_browser.get(created["Location"], follow=True)
    assert "client-secret" not in response.content.decode()
    # The session's secret is still there for the browser that created the client.
    assert 'id="client-secret"' in admin_client.get(created["Location"]).content.decode()


def test_duplicate_client_names_in_a_project_are_refused(admin_client, project, other_project, admin_user):
    from rest_framework.test import APIClient

    create(admin_client, project)
    again = create(admin_client, project, name="  scheduler ")
    assert again.status_code == 400
    field = again.context["form"].errors["name"]
    assert field == ["A client with this name already exists in this project; choose another name."]
    assert Client.objects.filter(project=project).count() == 1
    # Another project may use the name.
    MembershipFactory(project=other_project, user=admin_user, role="owner")
    assert create(admin_client, other_project).status_code == 303

    api = APIClient()
    api.force_authenticate(admin_user)
    base = f"/api/v1/projects/{project.pk}/clients/"
    refused = api.post(base, {"name": "SCHEDULER", "grant_types": ["client_credentials"]}, format="json")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "conflict"
    assert refused.json()["error"]["fields"] == {
        "name": ["A client with this name already exists in this project; choose another name."]
    }
    # Renaming another client to a taken name is refused too; keeping one's own name is not.
    other = api.post(base, {"name": "Reports", "grant_types": ["client_credentials"]}, format="json").json()
    url = f"{base}{other['client']['id']}/"
    renamed = api.put(url, {"name": "Scheduler", "grant_types": ["client_credentials"]}, format="json")
    assert renamed.status_code == 409 and renamed.json()["error"]["code"] == "conflict"
    kept = api.put(
        url,
        {"name": "Reports", "grant_types": ["client_credentials"], "description": "Nightly"},
        format="json",
    )
    assert kept.status_code == 200, kept.content


def test_the_database_refuses_a_duplicate_name_too(project):
    from django.db import IntegrityError, transaction

    Client.objects.create(
        project=project, name="Twin", client_type="public", authorization_grant_type="authorization-code"
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Client.objects.create(
            project=project, name="TWIN", client_type="public", authorization_grant_type="authorization-code"
        )


def test_new_client_form_groups_checkboxes_under_a_legend_and_names_things_plainly(admin_client, project):
    """#13 item 2: each checkbox group is a fieldset named by its legend (not one <label> around
    the group), "Redirect URIs", a plain policy placeholder."""
    html = admin_client.get(
        reverse("portal:client_create", kwargs={"project_slug": project.slug})
    ).content.decode()
    for legend in ("Grant types", "Scopes", "Client type"):
        assert re.search(rf"<fieldset[^>]*>\s*<legend>{legend}</legend>", html), legend
    assert not re.search(r"<label>\s*<div", html)  # no group wrapped in a label
    assert ">Redirect URIs</label>" in html and "Redirect uris" not in html
    assert "No access policy" in html and "---------" not in html
