"""Django admin for operators: every model has a working changelist; no secret is displayed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from audit.services import audit_record
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

OUR_APPS = {"accounts", "audit", "oauth", "notifications"}


@pytest.fixture
def operator_client(client):
    operator = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(operator)
    return client


def test_every_model_of_ours_is_registered():
    missing = [
        m._meta.label
        for app in OUR_APPS
        for m in apps.get_app_config(app).get_models()
        if m not in admin.site._registry
    ]
    assert missing == []


def test_changelists_and_change_pages_render(operator_client):
    membership = MembershipFactory()
    audit_record(action="membership.updated", target=membership, project=membership.project)
    for model in admin.site._registry:
        if model._meta.app_label not in OUR_APPS:
            continue
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        assert operator_client.get(url + "?q=x").status_code == 200, url


def test_audit_events_are_read_only(operator_client):
    event = audit_record(action="membership.updated")
    url = reverse("admin:audit_auditevent_change", args=[event.pk])
    page = operator_client.get(url)
    assert page.status_code == 200
    assert operator_client.post(url, {"action": "project.created"}).status_code == 403
    assert operator_client.get(reverse("admin:audit_auditevent_add")).status_code == 403


def test_no_secret_shown_for_users_and_clients(operator_client):
    from oauth.models import AccessToken, Client

    user = UserFactory()
    membership = MembershipFactory(user=user)
    client = Client(
        project=membership.project,
        name="Lab app",
        client_type="confidential",
        authorization_grant_type="client-credentials",
        client_secret="plain-client-secret-value",
    )
    client.save()
    token = AccessToken.objects.create(
        user=user,
        application=client,
        token="plain-access-token-value",
        expires=timezone.now() + timedelta(hours=1),
    )
    user_page = operator_client.get(reverse("admin:accounts_user_change", args=[user.pk])).content.decode()
    assert user.password not in user_page
    client_page = operator_client.get(reverse("admin:oauth_client_change", args=[client.pk])).content.decode()
    client.refresh_from_db()
    assert "plain-client-secret-value" not in client_page and client.client_secret not in client_page
    token_page = operator_client.get(
        reverse("admin:oauth_accesstoken_change", args=[token.pk])
    ).content.decode()
    assert "plain-access-token-value" not in token_page


# --- Writes go through the services (audit record, signals, token revocation) ---------------------


def _form_data(page) -> dict:
    """What the admin change form would post back unchanged (split date/time widgets included)."""
    from django import forms

    form = page.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if isinstance(field, forms.BooleanField):
            if value:
                data[name] = "on"
        elif isinstance(field, forms.MultiValueField):
            for index, part in enumerate(field.widget.decompress(value)):
                data[f"{name}_{index}"] = "" if part is None else part
        else:
            data[name] = "" if value is None else value
    return data


def _member_with_token(project=None):
    from oauth.models import AccessToken, Client

    membership = MembershipFactory(**({"project": project} if project else {}))
    MembershipFactory(project=membership.project, role="owner")
    client = Client(
        project=membership.project,
        name="Lab app",
        client_type="confidential",
        authorization_grant_type="authorization-code",
        redirect_uris="https://lab.example/cb",
        client_secret="plain-client-secret-value",
    )
    client.save()
    token = AccessToken.objects.create(
        user=membership.user,
        application=client,
        token="member-access-token",
        expires=timezone.now() + timedelta(hours=1),
    )
    return membership, client, token


def _events(action: str, target) -> list:
    from audit.models import AuditEvent

    return list(AuditEvent.objects.filter(action=action, target_id=str(target.pk)))


def test_the_membership_change_form_cannot_bypass_the_services(operator_client):
    membership, _, _ = _member_with_token()
    url = reverse("admin:accounts_membership_change", args=[membership.pk])
    page = operator_client.get(url)
    assert page.status_code == 200
    data = _form_data(page) if "adminform" in page.context else {}
    data.pop("is_active", None)  # untick "active", make them owner
    data["role"] = "owner"
    operator_client.post(url, data)
    membership.refresh_from_db()
    assert (membership.is_active, membership.role) == (True, "member")


def test_deactivating_memberships_in_the_admin_is_audited_and_revokes_tokens(
    operator_client, django_capture_on_commit_callbacks
):
    from oauth.models import AccessToken

    membership, _, token = _member_with_token()
    with django_capture_on_commit_callbacks(execute=True):
        response = operator_client.post(
            reverse("admin:accounts_membership_changelist"),
            {"action": "deactivate_memberships", "_selected_action": [str(membership.pk)]},
        )
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.is_active is False
    [event] = _events("membership.deactivated", membership)
    assert event.actor_user.is_staff  # the operator, not "system"
    assert not AccessToken.objects.filter(pk=token.pk).exists()

    operator_client.post(
        reverse("admin:accounts_membership_changelist"),
        {"action": "reactivate_memberships", "_selected_action": [str(membership.pk)]},
    )
    membership.refresh_from_db()
    assert membership.is_active is True and len(_events("membership.reactivated", membership)) == 1


def test_refusals_of_the_services_are_shown_not_applied(operator_client):
    owner = MembershipFactory(role="owner")  # the project's only owner
    response = operator_client.post(
        reverse("admin:accounts_membership_changelist"),
        {"action": "deactivate_memberships", "_selected_action": [str(owner.pk)]},
        follow=True,
    )
    owner.refresh_from_db()
    assert owner.is_active is True
    assert "last active owner" in response.content.decode()


def test_project_edits_in_the_admin_are_audited(operator_client):
    from tests.factories import AccessPolicyFactory

    membership = MembershipFactory(role="owner")
    project = membership.project
    url = reverse("admin:accounts_project_change", args=[project.pk])
    data = _form_data(operator_client.get(url))
    data.update(display_name="Renamed Lab", mfa_required="on")
    assert operator_client.post(url, data).status_code == 302
    project.refresh_from_db()
    assert (project.display_name, project.mfa_required) == ("Renamed Lab", True)
    [event] = _events("project.updated", project)
    assert event.details["changes"]["display_name"] == ["", "Renamed Lab"]
    assert event.details["changes"]["mfa_required"] == [False, True]

    foreign_policy = AccessPolicyFactory()  # another project's policy is no default here
    data = _form_data(operator_client.get(url))
    data["default_access_policy"] = str(foreign_policy.pk)
    assert operator_client.post(url, data).status_code == 200
    project.refresh_from_db()
    assert project.default_access_policy is None


def test_disabling_clients_in_the_admin_is_audited_and_revokes_tokens(operator_client):
    from oauth.models import AccessToken

    _, client, token = _member_with_token()
    url = reverse("admin:oauth_client_change", args=[client.pk])
    page = operator_client.get(url)
    data = _form_data(page) if "adminform" in page.context else {}
    data.pop("is_active", None)
    operator_client.post(url, data)
    client.refresh_from_db()
    assert client.is_active is True  # the change form does not switch clients off

    operator_client.post(
        reverse("admin:oauth_client_changelist"),
        {"action": "disable_clients", "_selected_action": [str(client.pk)]},
    )
    client.refresh_from_db()
    assert client.is_active is False and len(_events("client.disabled", client)) == 1
    assert not AccessToken.objects.filter(pk=token.pk).exists()


@pytest.mark.parametrize(
    "model", ["accounts.membership", "accounts.accesspolicy", "accounts.securityrequest", "oauth.client"]
)
def test_objects_written_by_services_are_not_added_in_the_admin(operator_client, model):
    app_label, model_name = model.split(".")
    assert operator_client.get(reverse(f"admin:{app_label}_{model_name}_add")).status_code == 403


def test_deleting_a_client_in_the_admin_goes_through_the_service(operator_client):
    from oauth.models import AccessToken, Client

    _, client, token = _member_with_token()
    response = operator_client.post(
        reverse("admin:oauth_client_changelist"),
        {"action": "delete_clients", "_selected_action": [str(client.pk)]},
    )
    assert response.status_code == 302
    assert not Client.objects.filter(pk=client.pk).exists()
    assert not AccessToken.objects.filter(pk=token.pk).exists()
    assert len(_events("client.deleted", client)) == 1
