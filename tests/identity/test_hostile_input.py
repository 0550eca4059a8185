"""Malformed input found by the API fuzzing (tests/identity/test_api_fuzz.py), kept as plain
regression tests: each once answered 500; now the API's error envelope (or the page) answers."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "since",
    [
        "2202-06-17T20:50:42.426-17:26",  # an offset PostgreSQL does not take (±15:59 at most)
        "9999-12-31T23:59:59-10:00",  # no such moment in UTC
        "0001-01-01T00:00:00+10:00",
    ],
)
def test_audit_filters_with_a_moment_postgresql_cannot_store(admin_client, project, since):
    api = admin_client.get(reverse("api-audit-events", args=[project.pk]), {"since": since})
    assert api.status_code in (200, 400), api.content[:300]
    if api.status_code == 400:
        assert api.json()["error"]["fields"].get("since"), api.json()
    export = admin_client.get(reverse("api-audit-events-export", args=[project.pk]), {"until": since})
    assert export.status_code in (200, 400)
    page = admin_client.get(reverse("portal:audit", args=[project.slug]), {"since": since})
    assert page.status_code in (200, 400)
