"""Invitations through the API: 201 / 409 / upsert, isolation, resend/revoke, outbox listing."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import Membership
from notifications.models import MessageStatus, OutboundMessage
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def api(admin_user):
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


def url(project, suffix=""):
    return f"/api/v1/projects/{project.pk}/invites/{suffix}"


def test_invite_new_user(api, project, mailoutbox):
    response = api.post(
        url(project), {"email": "new@example.test", "first_name": "New", "role": "member"}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["outcome"] == "invited" and body["invitation"]["status"] == "pending"
    assert Membership.objects.filter(pk=body["membership_id"], project=project).exists()
    assert len(mailoutbox) == 1


def test_existing_member_409_then_upsert_200(api, project, member_membership):
    payload = {"email": member_membership.user.email, "role": "admin"}
    conflict = api.post(url(project), payload, format="json")
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "already_member"
    member_membership.refresh_from_db()
    assert member_membership.role == "member"
    updated = api.post(url(project), {**payload, "upsert": True}, format="json")
    assert updated.status_code == 200 and updated.json()["outcome"] == "updated"
    member_membership.refresh_from_db()
    assert member_membership.role == "admin"


def test_validation_errors_use_the_envelope(api, project):
    response = api.post(url(project), {"role": "member"}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_failed" and "email" in error["fields"]
    bad_policy = api.post(
        url(project),
        {"email": "x@example.test", "access_policy": "00000000-0000-0000-0000-000000000000"},
        format="json",
    )
    assert bad_policy.status_code == 400 and "access_policy" in bad_policy.json()["error"]["fields"]


def test_invites_are_tenant_isolated(api, project, other_project, member_client):
    assert api.post(url(other_project), {"email": "x@example.test"}, format="json").status_code == 404
    MembershipFactory(project=other_project, role="owner")
    assert api.get(url(other_project)).status_code == 404
    member = APIClient()
    member.force_authenticate(Membership.objects.filter(project=project, role="member").first().user)
    denied = member.post(url(project), {"email": "x@example.test"}, format="json")
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "permission_denied"


def test_list_resend_revoke(api, project, mailoutbox):
    created = api.post(url(project), {"email": "flow@example.test"}, format="json").json()
    invitation_id = created["invitation"]["id"]
    listed = api.get(url(project) + "?status=pending").json()
    assert [i["id"] for i in listed["results"]] == [invitation_id]
    resent = api.post(url(project, f"{invitation_id}/resend/"))
    assert resent.status_code == 200 and resent.json()["send_count"] == 2
    revoked = api.post(url(project, f"{invitation_id}/revoke/"))
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    again = api.post(url(project, f"{invitation_id}/revoke/"))
    assert again.status_code == 409
    assert len(mailoutbox) == 3  # welcome, welcome again, revoked


def test_outbox_api_lists_own_project_and_resends(api, project, other_project, settings):
    settings.EMAIL_BACKEND = "tests.support.mail_backends.RejectingBackend"
    api.post(url(project), {"email": "bounce@example.test"}, format="json")
    other_owner = MembershipFactory(project=other_project, role="owner").user
    other = APIClient()
    other.force_authenticate(other_owner)
    other.post(url(other_project), {"email": "theirs@example.test"}, format="json")
    listing = api.get(f"/api/v1/projects/{project.pk}/outbox/?status=dead").json()
    assert [m["to_email"] for m in listing["results"]] == ["bounce@example.test"]
    settings.EMAIL_BACKEND = "tests.support.mail_backends.RecordingBackend"
    message_id = listing["results"][0]["id"]
    assert api.post(f"/api/v1/projects/{project.pk}/outbox/{message_id}/resend/").json()["status"] == "queued"
    assert OutboundMessage.objects.get(pk=message_id).status == MessageStatus.SENT
    foreign = OutboundMessage.objects.get(to_email="theirs@example.test")
    assert api.post(f"/api/v1/projects/{project.pk}/outbox/{foreign.pk}/resend/").status_code == 404
