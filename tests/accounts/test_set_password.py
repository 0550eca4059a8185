"""The set-password link: single use, expiring, dead after password/email change; reset never enumerates."""

from __future__ import annotations

from datetime import timedelta
from http import HTTPStatus
from urllib.parse import urlparse

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import authenticate
from django.test import Client
from django.urls import reverse

from accounts.models import SecurityRequest
from accounts.services.invitations import InviteInput, invitation_create
from audit.context import Actor
from audit.models import AuditAction, AuditEvent
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
NEW_PASSWORD = "a calm river at dawn"


@pytest.fixture
def invite_link(project, admin_user, sent_links):
    invitation_create(
        project=project,
        actor=Actor(user=admin_user),
        data=InviteInput(email="joiner@example.test", first_name="Jo"),
    )
    return urlparse(sent_links()[-1]).path


def set_password(client, path, password=NEW_PASSWORD):
    return client.post(path, {"new_password1": password, "new_password2": password})


class TestSetPassword:
    def test_accepting_sets_password_verifies_email_signs_in(self, client, invite_link, project):
        page = client.get(invite_link)
        assert page.status_code == HTTPStatus.OK and "joiner@example.test" in page.content.decode()
        response = set_password(client, invite_link)
        assert response.status_code == HTTPStatus.SEE_OTHER
        user = authenticate(email="joiner@example.test", password=NEW_PASSWORD)
        assert user is not None
        assert EmailAddress.objects.get(user=user).verified
        invitation = SecurityRequest.objects.get(user=user)
        assert invitation.status == "accepted"
        assert AuditEvent.objects.filter(action=AuditAction.INVITATION_ACCEPTED, project=project).exists()
        # signed in: the portal home answers instead of redirecting to sign-in
        assert client.get(reverse("portal:home")).status_code == HTTPStatus.OK

    def test_link_works_once(self, client, invite_link):
        set_password(client, invite_link)
        other = Client()
        page = other.get(invite_link)
        assert page.status_code == HTTPStatus.GONE and "already used" in page.content.decode()
        assert set_password(other, invite_link, "another fine password").status_code == HTTPStatus.GONE
        assert authenticate(email="joiner@example.test", password=NEW_PASSWORD) is not None

    def test_link_expires_after_seven_days(self, client, invite_link, clock):
        clock.advance(timedelta(days=7, seconds=-5))
        assert client.get(invite_link).status_code == HTTPStatus.OK
        clock.advance(timedelta(seconds=10))
        page = client.get(invite_link)
        assert page.status_code == HTTPStatus.GONE and "expired" in page.content.decode()
        assert reverse("account_reset_password") in page.content.decode()

    def test_link_dies_after_password_change(self, client, invite_link):
        user = SecurityRequest.objects.get().user
        user.set_password("set elsewhere meanwhile")
        user.save()
        assert client.get(invite_link).status_code == HTTPStatus.GONE

    def test_link_dies_after_email_change(self, client, invite_link):
        user = SecurityRequest.objects.get().user
        user.email = "changed@example.test"
        user.save()
        assert client.get(invite_link).status_code == HTTPStatus.GONE

    def test_wrong_secret_or_unknown_id_is_not_found(self, client, invite_link):
        request_id = invite_link.split("/")[2]
        assert client.get(f"/setpassword/{request_id}/{'x' * 43}").status_code == HTTPStatus.NOT_FOUND
        assert (
            client.get(f"/setpassword/00000000-0000-0000-0000-000000000000/{'x' * 43}").status_code
            == HTTPStatus.NOT_FOUND
        )

    @pytest.mark.parametrize(
        "password,expected",
        [("short1", "too short"), ("password123", "too common"), ("joiner@example.test", "too similar")],
    )
    def test_password_rules_are_enforced(self, client, invite_link, password, expected):
        response = set_password(client, invite_link, password)
        assert response.status_code == HTTPStatus.BAD_REQUEST
        assert expected in response.content.decode()
        assert SecurityRequest.objects.get().used_at is None

    def test_mismatched_confirmation(self, client, invite_link):
        response = client.post(
            invite_link, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD + "x"}
        )
        assert response.status_code == HTTPStatus.BAD_REQUEST


class TestPasswordReset:
    def request_reset(self, client, email):
        return client.post(reverse("account_reset_password"), {"email": email})

    def test_same_answer_for_known_and_unknown_email_and_mail_only_to_known(self, mailoutbox):
        UserFactory(email="known@example.test")
        known = self.request_reset(Client(), "known@example.test")
        unknown = self.request_reset(Client(), "nobody@example.test")
        assert known.status_code == unknown.status_code == HTTPStatus.FOUND
        assert known["Location"] == unknown["Location"]
        done_known = Client().get(known["Location"]).content
        assert done_known == Client().get(unknown["Location"]).content
        assert [m.to for m in mailoutbox] == [["known@example.test"]]

    def test_reset_link_sets_password_and_ends_other_sessions(self, mailoutbox, sent_links):
        user = UserFactory(email="reset@example.test")
        elsewhere = Client()
        elsewhere.force_login(user)
        assert elsewhere.get(reverse("portal:home")).status_code == HTTPStatus.OK
        browser = Client()
        self.request_reset(browser, "reset@example.test")
        path = urlparse(sent_links()[-1]).path
        assert set_password(browser, path).status_code == HTTPStatus.SEE_OTHER
        assert authenticate(email="reset@example.test", password=NEW_PASSWORD) == user
        assert authenticate(email="reset@example.test", password=DEFAULT_PASSWORD) is None
        # the other session is gone; the browser that reset is signed in
        assert elsewhere.get(reverse("portal:home")).status_code == HTTPStatus.FOUND
        assert browser.get(reverse("portal:home")).status_code == HTTPStatus.OK
        assert mailoutbox[-1].subject.endswith("password was changed")

    def test_reset_link_expires_after_an_hour(self, clock, sent_links):
        UserFactory(email="hour@example.test")
        self.request_reset(Client(), "hour@example.test")
        path = urlparse(sent_links()[-1]).path
        clock.advance(timedelta(minutes=61))
        assert Client().get(path).status_code == HTTPStatus.GONE

    def test_new_reset_request_kills_the_previous_link(self, sent_links):
        UserFactory(email="twice@example.test")
        self.request_reset(Client(), "twice@example.test")
        self.request_reset(Client(), "twice@example.test")
        first, second = (urlparse(link).path for link in sent_links())
        assert Client().get(first).status_code == HTTPStatus.GONE
        assert Client().get(second).status_code == HTTPStatus.OK

    def test_reset_is_rate_limited(self, settings):
        settings.ACCOUNT_RATE_LIMITS = {"reset_password": "3/m/ip"}
        client = Client()
        statuses = [self.request_reset(client, f"n{i}@example.test").status_code for i in range(5)]
        assert statuses[:3] == [HTTPStatus.FOUND] * 3
        assert HTTPStatus.TOO_MANY_REQUESTS in statuses[3:]


def test_second_use_of_a_link_after_the_check_is_refused(rf, invite_link):
    """Two submissions race: both passed the link check, only the first may set a password."""
    from django.contrib.sessions.middleware import SessionMiddleware

    from accounts.flows.set_password import set_password_complete
    from accounts.services.security_links import LinkError

    security_request = SecurityRequest.objects.get()

    def request():
        r = rf.post("/")
        SessionMiddleware(lambda x: None).process_request(r)
        return r

    set_password_complete(request=request(), security_request=security_request, password=NEW_PASSWORD)
    with pytest.raises(LinkError):
        set_password_complete(
            request=request(), security_request=security_request, password="the attackers choice"
        )
    assert authenticate(email="joiner@example.test", password=NEW_PASSWORD) is not None
