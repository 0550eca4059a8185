"""The Django admin shows endpoints and events to operators, view-only, without secrets or bodies."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import UserFactory
from tests.webhooks.conftest import OKTA_SECRET, okta_body, okta_event
from webhooks.models import InboundEvent

pytestmark = pytest.mark.django_db


def test_view_only_without_secrets_or_bodies(make_endpoint, sender):
    made = make_endpoint("okta", name="Okta prod")
    event = okta_event("user.session.start", login="secret.person@acme.test")
    sender.post(made.path, okta_body(event), {"Authorization": OKTA_SECRET})
    operator = Client()
    operator.force_login(UserFactory(is_staff=True, is_superuser=True))
    pages = [
        "/admin/webhooks/webhookendpoint/",
        f"/admin/webhooks/webhookendpoint/{made.endpoint.pk}/change/",
        "/admin/webhooks/inboundevent/",
        f"/admin/webhooks/inboundevent/{InboundEvent.objects.get().pk}/change/",
    ]
    for url in pages:
        response = operator.get(url)
        html = response.content.decode()
        assert response.status_code == 200, url
        assert OKTA_SECRET not in html and "secret.person@acme.test" not in html, url
    assert "Okta prod" in operator.get(pages[0]).content.decode()
    assert operator.get("/admin/webhooks/webhookendpoint/add/").status_code == 403
