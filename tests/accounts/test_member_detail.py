"""The user detail page answers an admin's questions (issue #13 item 11): how the person signs
in, whether their email is verified, last sign-in, sessions, connected apps, two-factor, an open
invitation, their activity; an admin edits name and email (a new address is verified again) and
sends a password-reset email."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.services.invitations import InviteInput, invitation_create
from audit.context import Actor
from audit.models import AuditEvent
from notifications.models import MessageKind, OutboundMessage
from oauth.models import Consent
from oauth.rules import user_may_use_client
from oauth.services import ClientInput, client_create
from tests.factories import DEFAULT_PASSWORD, MembershipFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db


def detail_url(membership) -> str:
    return reverse("portal:membership", args=[membership.project.slug, membership.pk])


@pytest.fixture
def member(project):
    membership = MembershipFactory(
        project=project, user=UserFactory(email="ines@clinic.test", first_name="Ines")
    )
    EmailAddress.objects.filter(user=membership.user).update(verified=True)
    return membership


def test_the_page_shows_how_they_sign_in_their_apps_and_their_activity(admin_client, project, member):
    app = client_create(
        project=project,
        actor=Actor.system(),
        data=ClientInput(name="Chart Viewer", redirect_uris=["https://c.test/cb"]),
    ).client
    Consent.objects.create(user=member.user, client=app, scopes="openid profile")
    Client().post("/accounts/login/", {"login": "ines@clinic.test", "password": "wrong-password-1234"})
    page = admin_client.get(detail_url(member)).content.decode()
    assert "Password" in page and "Verified" in page and "Never" in page  # signs in with; last sign-in
    assert "Chart Viewer" in page and "openid profile" in page
    assert "Sign-in failed" in page  # the failed attempt is in their activity
    invited = invitation_create(
        project=project, actor=Actor.system(), data=InviteInput(email="new.person@clinic.test")
    ).membership
    page = admin_client.get(detail_url(invited)).content.decode()
    assert "Not verified" in page and "the link works until" in page
    assert reverse("portal:invitation_resend", args=[project.slug, invited.invitations.get().pk]) in page


def test_an_admin_changes_name_and_email_and_the_new_address_is_verified_again(admin_client, project, member):
    app = client_create(
        project=project,
        actor=Actor.system(),
        data=ClientInput(name="App", redirect_uris=["https://a.test/cb"]),
    ).client
    assert user_may_use_client(member.user, app)
    url = reverse("portal:membership_profile", args=[project.slug, member.pk])
    response = admin_client.post(
        url, {"first_name": "Inés", "last_name": "Ortega", "email": "Ines.Ortega@Clinic.test"}
    )
    assert response.status_code == 302
    user = User.objects.get(pk=member.user_id)
    assert (user.first_name, user.last_name, user.email) == ("Inés", "Ortega", "ines.ortega@clinic.test")
    assert not user_may_use_client(user, app)  # until the new address is confirmed
    confirm = OutboundMessage.objects.get(
        kind=MessageKind.WELCOME_VERIFY_EMAIL, to_email="ines.ortega@clinic.test"
    )
    assert "/accounts/confirm-email/" in confirm.body_text
    assert OutboundMessage.objects.filter(
        kind=MessageKind.ACCOUNT_NOTICE, to_email="ines@clinic.test"
    ).exists()
    event = AuditEvent.objects.get(action="membership.profile_updated")
    assert event.project == project and event.details["changes"]["email"] == [
        "ines@clinic.test",
        "ines.ortega@clinic.test",
    ]
    UserFactory(email="taken@clinic.test")
    taken = admin_client.post(
        url, {"first_name": "Inés", "last_name": "Ortega", "email": "taken@clinic.test"}
    )
    assert taken.status_code == 400 and "Another account uses this email address." in taken.content.decode()
    assert User.objects.get(pk=member.user_id).email == "ines.ortega@clinic.test"  # nothing half-written


def test_shared_accounts_and_owners_are_not_offered_the_edit(admin_client, project, owner, member):
    MembershipFactory(project=ProjectFactory(), user=member.user)
    page = admin_client.get(detail_url(member)).content.decode()
    assert "Save name and email" not in page and "also belongs to other projects" in page
    url = reverse("portal:membership_profile", args=[project.slug, member.pk])
    refused = admin_client.post(url, {"first_name": "X", "last_name": "Y", "email": "x@y.test"})
    assert refused.status_code == 400 and User.objects.get(pk=member.user_id).first_name == "Ines"
    owner_membership = owner.memberships.get(project=project)
    page = admin_client.get(detail_url(owner_membership)).content.decode()
    assert "Only an owner can change an owner" in page


def test_an_admin_sends_a_password_reset_email(admin_client, project, member):
    url = reverse("portal:membership_password_reset", args=[project.slug, member.pk])
    confirm = admin_client.get(url)
    assert confirm.status_code == 200 and "single-use link" in confirm.content.decode()
    assert not OutboundMessage.objects.filter(kind=MessageKind.PASSWORD_RESET).exists()
    assert admin_client.post(url).status_code == 302
    message = OutboundMessage.objects.get(kind=MessageKind.PASSWORD_RESET)
    assert message.to_email == "ines@clinic.test"
    assert AuditEvent.objects.filter(action="membership.password_reset_sent", project=project).exists()
    other = MembershipFactory(project=ProjectFactory())
    assert (
        admin_client.post(
            reverse("portal:membership_password_reset", args=[project.slug, other.pk])
        ).status_code
        == 404
    )
    assert DEFAULT_PASSWORD  # the member's password is unchanged until they follow the link
    assert User.objects.get(pk=member.user_id).check_password(DEFAULT_PASSWORD)
