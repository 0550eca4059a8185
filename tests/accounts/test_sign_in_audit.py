"""Sign-in events land in the audit logs of the projects they concern (issue #13 item 6): the
project of the client or page being signed in to, else every project the person belongs to, so
a project's audit log and its `login.failed` subscribers see their members' sign-ins."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.test import Client
from rest_framework.test import APIClient

from audit.context import Actor
from audit.models import AuditAction, AuditEvent
from oauth.services import ClientInput, client_create
from tests.factories import DEFAULT_PASSWORD, MembershipFactory, ProjectFactory

pytestmark = pytest.mark.django_db


def sign_in(email: str, password: str, **query) -> None:
    path = "/accounts/login/" + (f"?{urlencode(query)}" if query else "")
    Client().post(path, {"login": email, "password": password, **query})


def events(action: AuditAction) -> list[tuple]:
    return sorted(
        (event.project.slug if event.project else None, event.target_id)
        for event in AuditEvent.objects.filter(action=action)
    )


def test_a_members_sign_ins_are_in_each_of_their_projects_logs(project, other_project):
    member = MembershipFactory(project=project).user
    MembershipFactory(project=other_project, user=member, is_active=False)
    sign_in(member.email, "not-the-password-1")
    sign_in(member.email, DEFAULT_PASSWORD)
    both = sorted([(project.slug, str(member.pk)), (other_project.slug, str(member.pk))])
    assert events(AuditAction.USER_SIGN_IN_FAILED) == both
    assert events(AuditAction.USER_SIGNED_IN) == both


def test_signing_in_to_a_client_is_recorded_in_the_clients_project_only(project, other_project):
    member = MembershipFactory(project=project).user
    MembershipFactory(project=other_project, user=member)
    app = client_create(
        project=project,
        actor=Actor.system(),
        data=ClientInput(name="Chart", redirect_uris=["https://app.example.test/cb"]),
    ).client
    authorize = "/o/authorize/?" + urlencode({"client_id": app.client_id, "response_type": "code"})
    sign_in(member.email, "not-the-password-1", next=authorize)
    assert events(AuditAction.USER_SIGN_IN_FAILED) == [(project.slug, str(member.pk))]
    sign_in("stranger@nowhere.test", "whatever-123456", next=authorize)
    stranger = AuditEvent.objects.get(target_label="stranger@nowhere.test")
    assert stranger.project == project and stranger.target_id == ""


def test_an_unknown_address_on_a_plain_page_is_recorded_once_without_a_project(project):
    sign_in("nobody@nowhere.test", "whatever-123456")
    assert events(AuditAction.USER_SIGN_IN_FAILED) == [(None, "")]


def test_the_project_audit_api_filters_sign_in_failures(project, admin_user):
    member = MembershipFactory(project=project).user
    elsewhere = MembershipFactory(project=ProjectFactory()).user
    sign_in(member.email, "not-the-password-1")
    sign_in(elsewhere.email, "not-the-password-1")
    api = APIClient()
    api.force_authenticate(admin_user)
    response = api.get(
        f"/api/v1/projects/{project.pk}/audit-events/",
        {"action": "user.sign_in_failed", "outcome": "failure"},
    )
    assert response.status_code == 200
    assert [row["target_id"] for row in response.json()["results"]] == [str(member.pk)]


def test_a_password_change_is_in_the_members_project_log(project):
    member = MembershipFactory(project=project).user
    browser = Client()
    browser.force_login(member)
    response = browser.post(
        "/accounts/password/change/",
        {
            "oldpassword": DEFAULT_PASSWORD,
            "password1": "A-much-longer-new-pass-7",
            "password2": "A-much-longer-new-pass-7",
        },
    )
    assert response.status_code == 302
    assert events(AuditAction.USER_PASSWORD_CHANGED) == [(project.slug, str(member.pk))]
