"""Self sign-up: closed by default; when open, a project of one's own and a welcome/verify email."""

from __future__ import annotations

import re
from http import HTTPStatus

import pytest
from allauth.account.models import EmailAddress
from django.test import Client
from django.urls import reverse

from accounts.models import Membership, Project, Role, User
from notifications.models import MessageKind, OutboundMessage
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "a calm river at dawn"


def sign_up(client, email="new@example.test", **extra):
    data = {"email": email, "password1": PASSWORD, "password2": PASSWORD, **extra}
    return client.post(
        reverse("account_signup") + (f"?project={extra['project']}" if "project" in extra else ""), data
    )


def test_sign_up_is_closed_by_default(client):
    page = client.get(reverse("account_signup"))
    assert "closed" in page.content.decode().lower()
    sign_up(client)
    assert not User.objects.filter(email="new@example.test").exists()


def test_open_sign_up_creates_own_project_and_sends_verify_email(client, settings, mailoutbox):
    settings.SIGNUP_OPEN = True
    response = sign_up(client, project_name="Clinic Seven")
    assert response.status_code == HTTPStatus.FOUND
    user = User.objects.get(email="new@example.test")
    project = Project.objects.get(name="Clinic Seven")
    assert Membership.objects.get(user=user, project=project).role == Role.OWNER
    assert not EmailAddress.objects.get(user=user).verified
    # not signed in until the address is confirmed
    assert Client().post(reverse("account_login"), {"login": "new@example.test", "password": PASSWORD})[
        "Location"
    ] == reverse("account_email_verification_sent")
    message = OutboundMessage.objects.get(kind=MessageKind.WELCOME_VERIFY_EMAIL)
    assert message.to_email == "new@example.test"
    [mail] = mailoutbox
    link = re.search(r"http://\S+/accounts/confirm-email/\S+/", mail.body).group(0)
    confirm = Client().post(link.replace("http://127.0.0.1:8000", "").replace("http://testserver", ""))
    assert confirm.status_code == HTTPStatus.FOUND
    assert EmailAddress.objects.get(user=user).verified


def test_sign_up_into_project_that_allows_it(client, mailoutbox):
    project = ProjectFactory(allow_self_signup=True)
    sign_up(client, project=project.slug)
    user = User.objects.get(email="new@example.test")
    assert Membership.objects.get(user=user).project == project
    assert Membership.objects.get(user=user).role == Role.MEMBER


def test_sign_up_into_project_that_does_not_allow_it_is_refused(client):
    project = ProjectFactory(allow_self_signup=False)
    sign_up(client, project=project.slug)
    assert not User.objects.filter(email="new@example.test").exists()


def test_sign_up_with_taken_email_does_not_reveal_it(client, settings, user_factory, mailoutbox):
    settings.SIGNUP_OPEN = True
    user_factory(email="taken@example.test")
    response = sign_up(client, email="taken@example.test")
    fresh = sign_up(Client(), email="fresh@example.test")
    assert response.status_code == fresh.status_code == HTTPStatus.FOUND
    assert response["Location"] == fresh["Location"]
    assert User.objects.filter(email="taken@example.test").count() == 1
    # the owner of the taken address is told by email instead
    assert {m.to[0] for m in mailoutbox} == {"taken@example.test", "fresh@example.test"}


def test_unverified_sign_up_gets_no_tokens_until_it_verifies(client, mailoutbox):
    """The welcome email's link is the only way in: before it, no sign-in and no authorization."""
    from urllib.parse import parse_qs, urlencode, urlparse

    from audit.context import Actor
    from oauth.services import ClientInput, client_create
    from tests.oauth.conftest import authorize_params

    project = ProjectFactory(allow_self_signup=True)
    web = client_create(
        project=project,
        actor=Actor.system(),
        data=ClientInput(
            name="Patient app",
            grant_types=["authorization_code"],
            redirect_uris=["https://app.example/cb"],
            skip_consent=True,
        ),
    ).client
    sign_up(client, project=project.slug)
    user = User.objects.get(email="new@example.test")
    params = authorize_params(web, scope="openid")
    params.pop("_verifier")
    browser = Client()
    browser.force_login(user)  # even with a session, an unverified account is refused
    denied = browser.get("/o/authorize/?" + urlencode(params))
    assert parse_qs(urlparse(denied["Location"]).query)["error"] == ["access_denied"]
    link = re.search(r"http://\S+/accounts/confirm-email/\S+/", mailoutbox[-1].body).group(0)
    Client().post(urlparse(link).path)
    allowed = browser.get("/o/authorize/?" + urlencode(params))
    assert "code=" in allowed["Location"]
