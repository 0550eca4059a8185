from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from audit.context import Actor, client_ip
from audit.models import AppendOnlyError, AuditAction, AuditEvent, AuditOutcome
from audit.services import audit_record, scrub
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_events_cannot_be_changed_or_deleted():
    event = audit_record(action=AuditAction.PROJECT_UPDATED, details={"x": 1})
    event.details = {"x": 2}
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    assert AuditEvent.objects.get(pk=event.pk).details == {"x": 1}


def test_scrub_hides_secret_like_keys_at_any_depth():
    cleaned = scrub(
        {"password": "p", "nested": [{"client_secret": "s", "ok": 1}], "Authorization": "Bearer x"}
    )
    assert cleaned == {
        "password": "[redacted]",
        "nested": [{"client_secret": "[redacted]", "ok": 1}],
        "Authorization": "[redacted]",
    }


def test_forwarded_for_is_ignored_unless_proxies_are_trusted(rf, settings):
    request = rf.get("/", HTTP_X_FORWARDED_FOR="1.1.1.1, 10.0.0.9", REMOTE_ADDR="10.0.0.1")
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request) == "10.0.0.1"
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(request) == "10.0.0.9"


def test_sign_in_success_and_failure_are_recorded_without_the_password():
    user = UserFactory(email="signin@example.test")
    client = Client(HTTP_USER_AGENT="Browser/1.0")
    response = client.post(reverse("account_login"), {"login": user.email, "password": "wrong-password-123"})
    assert response.status_code == 200
    failed = AuditEvent.objects.get(action=AuditAction.USER_SIGN_IN_FAILED)
    assert failed.outcome == AuditOutcome.FAILURE
    assert "wrong-password-123" not in str(failed.details)
    client.post(reverse("account_login"), {"login": user.email, "password": DEFAULT_PASSWORD})
    ok = AuditEvent.objects.get(action=AuditAction.USER_SIGNED_IN)
    assert ok.actor_user == user and ok.user_agent == "Browser/1.0" and ok.ip_address == "127.0.0.1"


def test_actor_label_for_system_and_client():
    assert Actor.system().label == "system"
    assert Actor(client_id="abc").label == "client:abc"
