"""Fixtures of the webhooks tests: endpoints of every scheme, a sender posting to them, Okta payloads."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from django.test import Client as HttpClient

from audit.context import Actor
from oauth.services import ClientInput, client_create
from webhooks import services

STANDARD_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
STRIPE_SECRET = "whsec_test_3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"
OKTA_SECRET = "okta-hook-authorization-value-0123456789"


@dataclass
class Made:
    endpoint: object
    url: str
    path: str
    secret: str | None


@pytest.fixture
def actor(admin_user) -> Actor:
    return Actor(user=admin_user, ip_address="203.0.113.7", user_agent="pytest")


@pytest.fixture
def oauth_client(project):
    """A confidential client of the project, with its plain secret as `plain_secret`."""
    issued = client_create(
        project=project,
        actor=Actor.system(),
        data=ClientInput(name="Lab system", grant_types=["client_credentials"]),
    )
    issued.client.plain_secret = issued.client_secret
    return issued.client


@pytest.fixture
def make_endpoint(project, actor):
    def make(scheme: str = "standard", handler: str = "generic", project=project, **fields) -> Made:
        defaults = {"standard": STANDARD_SECRET, "stripe": STRIPE_SECRET, "okta": OKTA_SECRET}
        if scheme != "basic":
            fields.setdefault("secret", defaults[scheme])
        issued = services.endpoint_create(
            project=project,
            actor=actor,
            name=fields.pop("name", f"{scheme} {uuid.uuid4().hex[:6]}"),
            scheme=scheme,
            handler=handler,
            **fields,
        )
        return Made(
            endpoint=issued.endpoint,
            url=issued.url,
            path=urlsplit(issued.url).path,
            secret=fields.get("secret") or issued.secret,
        )

    return make


@pytest.fixture
def sender(django_capture_on_commit_callbacks):
    """POSTs like a webhook sender (no cookies, no CSRF token) and runs what is published after
    commit (in-process Celery), as a real request's commit would."""
    client = HttpClient(enforce_csrf_checks=True)

    class Sender:
        def post(
            self, path: str, body: bytes | str, headers: dict | None = None, content_type="application/json"
        ):
            data = body.encode() if isinstance(body, str) else body
            with django_capture_on_commit_callbacks(execute=True):
                return client.generic("POST", path, data, content_type=content_type, headers=headers or {})

        def get(self, path: str, headers: dict | None = None):
            return client.get(path, headers=headers or {})

        def request(self, method: str, path: str, headers: dict | None = None):
            return client.generic(method, path, b"", headers=headers or {})

    return Sender()


def okta_event(
    event_type: str,
    *,
    okta_id: str = "00u1abcdEFGH",
    login: str = "ada@acme.test",
    display_name: str = "Ada Lovelace",
    uuid_: str | None = None,
) -> dict:
    """One System Log event as an Okta event hook carries it."""
    return {
        "uuid": uuid_ or str(uuid.uuid4()),
        "published": "2024-05-01T10:00:00.000Z",
        "eventType": event_type,
        "version": "0",
        "displayMessage": "Deactivate Okta user",
        "severity": "INFO",
        "actor": {"id": "00uadmin", "type": "User", "alternateId": "admin@acme.test", "displayName": "Admin"},
        "outcome": {"result": "SUCCESS"},
        "target": [
            {
                "id": okta_id,
                "type": "User",
                "alternateId": login,
                "displayName": display_name,
                "detailEntry": None,
            }
        ],
    }


def okta_body(*events: dict) -> str:
    return json.dumps(
        {
            "eventType": "com.okta.event_hook",
            "eventTypeVersion": "1.0",
            "cloudEventsVersion": "0.1",
            "source": "https://acme.okta.com/api/v1/eventHooks/who8abc",
            "eventId": str(uuid.uuid4()),
            "eventTime": "2024-05-01T10:00:01.000Z",
            "contentType": "application/json",
            "data": {"events": list(events)},
        }
    )
