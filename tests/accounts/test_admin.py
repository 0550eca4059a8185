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
