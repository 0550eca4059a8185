"""One flattener for every API: nested input errors are plain text, keyed by dotted paths."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from identity.errors import error_fields

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(admin_user) -> APIClient:
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


def test_bad_choices_in_lists_are_plain_text_per_item(api, project):
    response = api.post(
        f"/api/v1/projects/{project.pk}/clients/",
        {"name": "App", "grant_types": ["bogus"], "scopes": ["openid", "bogus"]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "grant_types.0": ['"bogus" is not a valid choice.'],
        "scopes.1": ["bogus: not a scope this server knows."],
    }


def test_errors_inside_objects_are_keyed_by_their_path(api, project):
    response = api.post(
        f"/api/v1/projects/{project.pk}/invites/",
        {"email": "new@example.test", "access_parameters": {"patient": None}},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "access_parameters.patient": ["This field may not be null."]
    }


def test_the_same_keys_as_the_services_use(api, project):
    response = api.post(
        f"/api/v1/projects/{project.pk}/access-policies/",
        {"name": "P", "rules": [{"resource_type": "Patient", "interactions": "rs"}, {"resource_type": ""}]},
        format="json",
    )
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert set(fields) == {"rules.1.resource_type", "rules.1.interactions"}


@pytest.mark.parametrize(
    ("errors", "prefix", "expected"),
    [
        (
            ValidationError({"name": ["Required."], "slug": ["Taken."]}),
            "",
            {"name": ["Required."], "slug": ["Taken."]},
        ),
        (ValidationError("Broken."), "", {"non_field_errors": ["Broken."]}),
        (ValidationError({"__all__": ["Clash."]}), "", {"non_field_errors": ["Clash."]}),
        (ValidationError({"criteria": ["Bad."]}), "rules.2.", {"rules.2.criteria": ["Bad."]}),
        ({"scopes": {0: ["Bad choice."]}}, "", {"scopes.0": ["Bad choice."]}),
        ([{}, {"interactions": ["Bad."]}], "rules.", {"rules.1.interactions": ["Bad."]}),
        (["Nope."], "", {"non_field_errors": ["Nope."]}),
    ],
)
def test_error_fields(errors, prefix, expected):
    assert error_fields(errors, prefix=prefix) == expected


@pytest.mark.parametrize("endpoint", ["membership", "invite", "client"])
def test_another_projects_access_policy_is_a_field_error_everywhere(api, project, foreign_policy, endpoint):
    from tests.factories import MembershipFactory

    base = f"/api/v1/projects/{project.pk}"
    policy = str(foreign_policy.pk)
    if endpoint == "membership":
        member = MembershipFactory(project=project)
        response = api.patch(f"{base}/memberships/{member.pk}/", {"access_policy": policy}, format="json")
    elif endpoint == "invite":
        response = api.post(
            f"{base}/invites/", {"email": "a@example.test", "access_policy": policy}, format="json"
        )
    else:
        response = api.post(
            f"{base}/clients/",
            {"name": "App", "grant_types": ["client_credentials"], "access_policy": policy},
            format="json",
        )
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "validation_failed",
        "message": "That access policy does not exist in this project.",
        "fields": {"access_policy": ["Choose a policy of this project."]},
    }
