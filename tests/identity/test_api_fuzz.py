"""The REST API under generated input (hostile review, #12 item 6): schemathesis reads
/api/schema/ and sends every operation a bounded number of generated requests (wrong types,
huge numbers, odd strings, bad UUIDs, missing fields) through the WSGI app, as an admin of one
project with a bearer token (portal.read portal.write). No answer may be a 5xx, and every answer
must match the schema (status documented, body of the documented shape: errors in the
`{"error": {"code", "message", "fields"}}` envelope).

Bounded and deterministic: FUZZ_EXAMPLES examples per operation (default 8), derandomized, so
it runs in CI (`make test`) in well under a few minutes.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
import schemathesis
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import MembershipFactory, ProjectFactory

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "8"))
TOKEN = "fuzz-admin-token-0123456789abcdef"


@pytest.fixture
def api_schema(db):
    """The schema, served by the WSGI app. As Django's test client does, requests do not close
    the database connection when they end (the test's transaction lives on it)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    from identity.wsgi import application

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/", application)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def admin_token(db):
    """A project A whose owner holds a bearer token for the portal API."""
    from oauth.models import AccessToken, Client

    project = ProjectFactory()
    user = MembershipFactory(project=project, role="owner").user
    client = Client.objects.create(
        project=project,
        name="Fuzzer",
        client_type="confidential",
        authorization_grant_type="authorization-code",
        redirect_uris="https://app.example/cb",
    )
    AccessToken.objects.create(
        user=user,
        application=client,
        token=TOKEN,
        expires=timezone.now() + timedelta(hours=1),
        scope="openid portal.read portal.write",
    )
    return project


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


def test_api_answers_generated_input_without_server_errors(api_schema, admin_token):
    """Each operation in turn (schemathesis's pytest plugin does not run on pytest 9: its
    strategies are driven by Hypothesis here); every failing operation is reported."""
    failures: dict[str, str] = {}
    operations = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @SETTINGS
        @given(case=operation.as_strategy())
        def run(case):
            if "project_id" in (case.path_parameters or {}):
                # most requests then reach the lookups of the project's own objects
                case.path_parameters["project_id"] = str(admin_token.pk)
            case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"}, checks=CHECKS)

        try:
            with transaction.atomic():  # a savepoint: a failed statement does not spoil the next operations
                run()
        except (Exception, BaseExceptionGroup) as exc:  # every operation runs; all are reported
            failures[operation.label] = f"{type(exc).__name__}: {exc}"[:3000]
    assert operations > 40
    assert not failures, "\n\n".join(f"{label}\n{text}" for label, text in failures.items())
