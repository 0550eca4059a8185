"""A client given a portal role can use it: without a portal scope it gets those its role permits.

The rule lives in the service (oauth.services), so the portal, the API and `createclient` all
apply it; the end-to-end proof (tokens calling the portal API) is in test_api_automation.py.
"""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from audit.context import Actor
from oauth.models import Client
from oauth.services import ClientInput, client_create, client_update

pytestmark = pytest.mark.django_db


def automation(**fields) -> ClientInput:
    return ClientInput(**{"name": "HR sync", "grant_types": ["client_credentials"], **fields})


@pytest.mark.parametrize(
    "role,scopes,expected",
    [
        ("admin", ["openid"], ["openid", "portal.read", "portal.write"]),
        ("admin", [], ["portal.read", "portal.write"]),
        ("member", ["openid"], ["openid", "portal.read"]),
        ("member", [], ["portal.read"]),
    ],
)
def test_a_role_without_portal_scopes_gets_what_the_role_permits(project, role, scopes, expected):
    issued = client_create(project=project, actor=Actor.system(), data=automation(role=role, scopes=scopes))
    assert issued.client.allowed_scopes.split() == expected


@pytest.mark.parametrize(
    "role,scopes",
    [
        ("admin", ["portal.read"]),  # a read-only admin client: a portal scope named is respected
        ("member", ["openid", "portal.read"]),
        ("", ["openid"]),  # no role: no portal API access, nothing to add
    ],
)
def test_named_portal_scopes_and_clients_without_role_are_left_alone(project, role, scopes):
    issued = client_create(project=project, actor=Actor.system(), data=automation(role=role, scopes=scopes))
    assert issued.client.allowed_scopes.split() == scopes


def test_a_role_only_matters_for_client_credentials(project):
    data = ClientInput(
        name="Web app",
        grant_types=["authorization_code"],
        redirect_uris=["https://app.example/cb"],
        scopes=["openid"],
        role="admin",
    )
    issued = client_create(project=project, actor=Actor.system(), data=data)
    assert issued.client.allowed_scopes.split() == ["openid"]


def test_update_gives_a_role_its_scopes_too(project):
    client = client_create(project=project, actor=Actor.system(), data=automation(scopes=["openid"])).client
    assert client.allowed_scopes.split() == ["openid"]
    client_update(client=client, actor=Actor.system(), data=automation(scopes=["openid"], role="member"))
    client.refresh_from_db()
    assert client.allowed_scopes.split() == ["openid", "portal.read"]


def test_createclient_with_a_role_and_no_scope(project):
    out = StringIO()
    call_command(
        "createclient",
        *("--project", project.slug, "--name", "CLI", "--grant", "client_credentials", "--role", "admin"),
        "--json",
        stdout=out,
        stderr=StringIO(),
    )
    client = Client.objects.get(client_id=json.loads(out.getvalue())["client_id"])
    assert client.role == "admin"
    assert {"portal.read", "portal.write"} <= client.allowed_scope_set


def test_createclient_help_explains_scope_and_role():
    from oauth.management.commands.createclient import Command

    help_text = Command().create_parser("manage.py", "createclient").format_help()
    for words in ("--scope", "--role", "portal.read", "portal.write"):
        assert words in help_text


def test_the_portal_and_the_api_apply_the_rule(project, admin_client, admin_user):
    from rest_framework.test import APIClient

    response = admin_client.post(
        reverse("portal:client_create", kwargs={"project_slug": project.slug}),
        {
            "name": "Portal bot",
            "client_type": "confidential",
            "grant_types": ["client_credentials"],
            "scopes": ["openid"],
            "role": "admin",
            "algorithm": "RS256",
        },
    )
    assert response.status_code == 303  # post/redirect/get to the secret, shown once
    assert {"portal.read", "portal.write"} <= Client.objects.get(name="Portal bot").allowed_scope_set

    api = APIClient()
    api.force_authenticate(admin_user)
    created = api.post(
        f"/api/v1/projects/{project.pk}/clients/",
        {"name": "API bot", "grant_types": ["client_credentials"], "role": "member"},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["client"]["scopes"] == ["openid", "portal.read"]


def test_an_update_keeping_the_role_does_not_put_removed_portal_scopes_back(project):
    client = client_create(
        project=project, actor=Actor.system(), data=automation(scopes=[], role="admin")
    ).client
    assert set(client.allowed_scopes.split()) == {"portal.read", "portal.write"}
    client_update(client=client, actor=Actor.system(), data=automation(scopes=["openid"], role="admin"))
    client.refresh_from_db()
    assert client.allowed_scopes.split() == ["openid"]  # the admin's choice stands


def test_a_client_that_also_signs_people_in_gets_no_role_scopes(project):
    data = ClientInput(
        name="Hybrid",
        grant_types=["authorization_code", "client_credentials"],
        redirect_uris=["https://app.example/cb"],
        scopes=["openid"],
        role="admin",
    )
    assert client_create(project=project, actor=Actor.system(), data=data).client.allowed_scopes.split() == [
        "openid"
    ]
