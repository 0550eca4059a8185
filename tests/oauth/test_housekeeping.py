from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from oauth.models import AccessToken, Client, Grant
from oauth.tasks import clear_expired_tokens
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def test_periodic_task_clears_expired_tokens_and_grants(settings):
    membership = MembershipFactory()
    client = Client.objects.create(
        project=membership.project,
        name="c",
        client_type="confidential",
        authorization_grant_type="client-credentials",
        allowed_grant_types=["client_credentials"],
    )
    old = timezone.now() - timedelta(days=2)
    AccessToken.objects.create(application=client, token="expired-token-1", expires=old, scope="openid")
    live = AccessToken.objects.create(
        application=client, token="live-token-1", expires=timezone.now() + timedelta(hours=1), scope="openid"
    )
    Grant.objects.create(
        application=client,
        user=membership.user,
        code="old-code",
        expires=old,
        redirect_uri="https://a.example/cb",
    )
    clear_expired_tokens.delay()
    assert list(AccessToken.objects.values_list("pk", flat=True)) == [live.pk]
    assert not Grant.objects.exists()


def test_beat_schedule_runs_the_sweep_and_the_relay(settings):
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"oauth.tasks.clear_expired_tokens", "notifications.tasks.relay_outbox"} <= tasks
