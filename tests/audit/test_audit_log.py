"""The audit log for admins: filters, API, CSV export, retention."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from audit.context import Actor
from audit.models import AppendOnlyError, AuditAction, AuditEvent, AuditOutcome
from audit.services import audit_record
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(admin_user) -> APIClient:
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


@pytest.fixture
def events(project, admin_user, other_project):
    member = MembershipFactory(project=project)
    made = [
        audit_record(action=AuditAction.MEMBERSHIP_DEACTIVATED, actor=Actor(user=admin_user), project=project,
                     target=member),
        audit_record(action=AuditAction.CLIENT_CREATED, actor=Actor(client_id="robot-1"), project=project,
                     target_label="=HYPERLINK(\"http://evil\")"),
        audit_record(action=AuditAction.USER_SIGN_IN_FAILED, project=project, outcome=AuditOutcome.FAILURE,
                     target_label="someone@example.test"),
        audit_record(action=AuditAction.CLIENT_CREATED, project=other_project, target_label="other tenant"),
    ]  # fmt: skip
    return made


def _url(project, suffix=""):
    return f"/api/v1/projects/{project.pk}/audit-events/{suffix}"


def test_the_api_lists_this_projects_events_with_filters(api, project, events, admin_user):
    body = api.get(_url(project)).json()
    assert body["count"] == 3 and "other tenant" not in str(body)
    assert [e["action"] for e in api.get(_url(project), {"action": "client.created"}).json()["results"]] == [
        "client.created"
    ]
    assert api.get(_url(project), {"actor": "robot-1"}).json()["count"] == 1
    assert api.get(_url(project), {"actor": admin_user.email[:5]}).json()["count"] >= 1
    assert api.get(_url(project), {"outcome": "failure"}).json()["count"] == 1
    assert api.get(_url(project), {"target": str(events[0].target_id)}).json()["count"] == 1
    later = (events[-1].created_at + timedelta(seconds=1)).isoformat()
    assert api.get(_url(project), {"since": later}).json()["count"] == 0
    assert api.get(_url(project), {"until": later}).json()["count"] == 3


def test_bad_filters_get_the_error_envelope(api, project, events):
    response = api.get(_url(project), {"since": "yesterday", "outcome": "maybe"})
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert set(fields) == {"since", "outcome"}


def test_other_tenants_and_members_are_refused(project, other_project, events, member_membership, admin_user):
    api = APIClient()
    api.force_authenticate(admin_user)
    assert api.get(_url(other_project)).status_code == 404
    api.force_authenticate(member_membership.user)
    assert api.get(_url(project)).status_code == 403


def test_the_csv_export_is_the_filtered_set_and_defuses_formulas(api, project, events):
    response = api.get(_url(project, "export/"), {"action": "client.created"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 1 and rows[0]["actor_label"] == "client:robot-1"
    assert rows[0]["target_label"].startswith("'=")  # never run as a formula by a spreadsheet


def test_the_portal_page_filters_exports_and_shows_field_errors(admin_client, project, events):
    url = reverse("portal:audit", kwargs={"project_slug": project.slug})
    page = admin_client.get(url, {"outcome": "failure"}).content.decode()
    assert "someone@example.test" in page and "robot-1" not in page
    assert "Export CSV" in page
    bad = admin_client.get(url, {"since": "not a date"})
    assert bad.status_code == 400 and "Enter a valid date/time" in bad.content.decode()
    export = admin_client.get(
        reverse("portal:audit_export", kwargs={"project_slug": project.slug}), {"outcome": "failure"}
    )
    content = b"".join(export.streaming_content).decode()
    assert content.count("\n") == 2  # header + one event


def test_retention_purges_only_old_events_and_only_when_configured(settings, project, clock):
    from audit.tasks import purge_audit_events

    old = audit_record(action=AuditAction.PROJECT_UPDATED, project=project)
    AuditEvent.objects.filter(pk=old.pk).update(created_at=clock.now() - timedelta(days=400))
    recent = audit_record(action=AuditAction.PROJECT_UPDATED, project=project)
    settings.AUDIT_RETENTION_DAYS = 0
    assert purge_audit_events() == 0 and AuditEvent.objects.filter(pk=old.pk).exists()
    settings.AUDIT_RETENTION_DAYS = 365
    assert purge_audit_events() == 1
    assert (
        not AuditEvent.objects.filter(pk=old.pk).exists() and AuditEvent.objects.filter(pk=recent.pk).exists()
    )
    with pytest.raises(AppendOnlyError):
        recent.delete()  # one event is still never deleted by hand


def test_outbox_retention_keeps_what_is_still_being_delivered(settings, project, clock):
    from notifications.models import MessageStatus, OutboundMessage
    from notifications.tasks import purge_outbox

    def message(status):
        return OutboundMessage.objects.create(
            project=project, kind="welcome", to_email="a@example.test", from_email="p@example.test",
            subject="s", body_text="b", status=status, idempotency_key=f"k-{status}",
        )  # fmt: skip

    sent, queued = message(MessageStatus.SENT), message(MessageStatus.QUEUED)
    OutboundMessage.objects.update(updated_at=clock.now() - timedelta(days=100))
    settings.OUTBOX_RETENTION_DAYS = 30
    assert purge_outbox() == 1
    assert (
        not OutboundMessage.objects.filter(pk=sent.pk).exists()
        and OutboundMessage.objects.filter(pk=queued.pk).exists()
    )
