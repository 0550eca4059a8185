"""The OpenAPI document: generated without warnings, valid, documenting auth and the error envelope."""

from __future__ import annotations

import pytest
import yaml
from django.core.management import call_command
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema_json() -> dict:
    response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    return response.json()


def test_generation_has_no_warnings(tmp_path):
    # What CI runs: `manage.py spectacular --validate --fail-on-warn` (raises on any warning).
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert yaml.safe_load((tmp_path / "schema.yaml").read_text())["openapi"].startswith("3.")


def test_yaml_schema_is_valid_openapi(db):
    response = APIClient().get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    validate_schema(schema)
    assert schema["info"]["title"] == "Identity Portal API"


def test_json_schema_is_valid_and_documents_the_endpoints(schema_json):
    validate_schema(schema_json)
    paths = schema_json["paths"]
    expected = {
        "/api/v1/projects/": {"get"},
        "/api/v1/projects/{project_id}/": {"get"},
        "/api/v1/projects/{project_id}/memberships/": {"get"},
        "/api/v1/projects/{project_id}/memberships/{membership_id}/": {"get", "patch"},
        "/api/v1/projects/{project_id}/memberships/{membership_id}/deactivate/": {"post"},
        "/api/v1/projects/{project_id}/memberships/{membership_id}/reactivate/": {"post"},
        "/api/v1/projects/{project_id}/access-policies/": {"get", "post"},
        "/api/v1/projects/{project_id}/access-policies/{policy_id}/": {"get", "put", "patch", "delete"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths[path]), path
    listing = paths["/api/v1/projects/{project_id}/memberships/"]["get"]
    assert {"q", "role", "status", "sort", "page", "page_size"} <= {p["name"] for p in listing["parameters"]}
    ok = listing["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/PaginatedMembershipList"}
    created = paths["/api/v1/projects/{project_id}/access-policies/"]["post"]["responses"]
    assert "201" in created and "409" in created


def test_errors_are_documented_with_the_envelope(schema_json):
    components = schema_json["components"]["schemas"]
    assert components["ErrorEnvelope"]["properties"]["error"] == {"$ref": "#/components/schemas/ErrorBody"}
    assert set(components["ErrorBody"]["properties"]) == {"code", "message", "fields"}
    envelope = {"$ref": "#/components/schemas/ErrorEnvelope"}
    detail = schema_json["paths"]["/api/v1/projects/{project_id}/memberships/{membership_id}/"]["patch"]
    for status in ("400", "401", "403", "404", "409"):
        assert detail["responses"][status]["content"]["application/json"]["schema"] == envelope


def test_bearer_and_session_auth_are_documented(schema_json):
    schemes = schema_json["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["bearerAuth"]["description"],
    }
    assert schemes["cookieAuth"]["type"] == "apiKey" and schemes["cookieAuth"]["in"] == "cookie"
    operation = schema_json["paths"]["/api/v1/projects/"]["get"]
    assert {"bearerAuth": []} in operation["security"] and {"cookieAuth": []} in operation["security"]


def test_docs_page_is_served(db):
    response = APIClient().get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()
