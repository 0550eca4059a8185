"""Inviting people: new users get a set-password link, existing users are added; 409 vs upsert."""

from __future__ import annotations

from datetime import timedelta
from http import HTTPStatus
from urllib.parse import urlparse

import pytest
from django.urls import reverse

from accounts.models import Membership, SecurityRequest, User
from accounts.services.invitations import InviteInput, invitation_create, invitation_resend, invitation_revoke
from audit.context import Actor
from audit.models import AuditAction, AuditEvent
from identity.errors import ApplicationError
from notifications.models import MessageKind, MessageStatus, OutboundMessage
from tests.factories import AccessPolicyFactory, MembershipFactory, UserFactory

# transaction=True: on_commit hooks (outbox publish) run as in production.
pytestmark = pytest.mark.django_db(transaction=True)


def invite(project, actor_user, **fields):
    return invitation_create(project=project, actor=Actor(user=actor_user), data=InviteInput(**fields))


class TestInviteService:
    def test_new_user_gets_unusable_password_membership_and_welcome_email(
        self, project, admin_user, mailoutbox, sent_links
    ):
        result = invite(
            project,
            admin_user,
            email="New.Person@Example.test",
            first_name="New",
            role="member",
            profile="Practitioner/9",
        )
        user = User.objects.get(email="new.person@example.test")
        assert not user.has_usable_password()
        assert result.outcome == "invited" and result.membership.invited_by == admin_user
        assert result.membership.profile == "Practitioner/9"
        assert result.invitation.status == "pending"
        assert len(mailoutbox) == 1
        email = mailoutbox[0]
        assert email.to == ["new.person@example.test"]
        assert project.brand_name in email.subject
        assert email.alternatives and "Set your password" in email.alternatives[0][0]
        [link] = sent_links()
        assert link.startswith("http://127.0.0.1:8000/setpassword/")
        message = OutboundMessage.objects.get(kind=MessageKind.WELCOME_SET_PASSWORD)
        assert message.status == MessageStatus.SENT and message.project == project
        assert AuditEvent.objects.filter(
            action=AuditAction.INVITATION_CREATED, actor_user=admin_user
        ).exists()

    def test_secret_is_stored_only_hashed(self, project, admin_user, sent_links):
        result = invite(project, admin_user, email="hash@example.test")
        secret = urlparse(sent_links()[0]).path.rstrip("/").rsplit("/", 1)[1]
        stored = SecurityRequest.objects.get(pk=result.invitation.pk)
        assert secret not in stored.secret_hash and len(stored.secret_hash) == 64

    def test_existing_user_is_added_with_sign_in_email(self, project, admin_user, mailoutbox):
        existing = UserFactory(email="known@example.test")
        result = invite(project, admin_user, email="KNOWN@example.test")
        assert result.outcome == "added" and result.membership.user == existing
        assert existing.has_usable_password()
        assert mailoutbox[0].subject.startswith("You now have access to")
        assert "/accounts/login/" in mailoutbox[0].body and "setpassword" not in mailoutbox[0].body

    def test_existing_member_is_409_unless_upsert(self, project, admin_user, member_membership):
        email = member_membership.user.email
        with pytest.raises(ApplicationError) as exc:
            invite(project, admin_user, email=email, role="admin")
        assert exc.value.status == 409 and exc.value.code == "already_member"
        result = invite(project, admin_user, email=email, role="admin", upsert=True, profile="Practitioner/1")
        assert result.outcome == "updated"
        member_membership.refresh_from_db()
        assert member_membership.role == "admin" and member_membership.profile == "Practitioner/1"

    def test_external_id_only_user(self, project, admin_user, mailoutbox):
        result = invite(project, admin_user, external_id="okta|00u1", first_name="Kim")
        assert result.membership.user.email is None and result.membership.external_id == "okta|00u1"
        assert mailoutbox == []
        # #13 item 9: invited (not "accepted"), nothing sent, and the audit log says so.
        assert result.outcome == "invited" and not result.email_sent
        assert result.invitation.status == "pending" and not result.invitation.secret_hash
        assert result.invitation.last_sent_at is None and result.invitation.send_count == 0
        event = AuditEvent.objects.get(action=AuditAction.INVITATION_CREATED)
        assert event.details["email_sent"] is False and "send_email" not in event.details
        with pytest.raises(ApplicationError) as refused:
            invitation_resend(invitation=result.invitation, actor=Actor(user=admin_user))
        assert "no email address" in refused.value.message
        with pytest.raises(ApplicationError):
            invite(project, admin_user, external_id="okta|00u1")

    def test_send_email_false_sends_nothing(self, project, admin_user, mailoutbox):
        invite(project, admin_user, email="quiet@example.test", send_email=False)
        assert mailoutbox == [] and not OutboundMessage.objects.exists()

    @pytest.mark.parametrize(
        "fields,error_field",
        [
            ({}, "email"),
            ({"email": "not-an-email"}, "email"),
            ({"email": "a@b.test", "role": "king"}, "role"),
        ],
    )
    def test_invalid_input_writes_nothing(self, project, admin_user, fields, error_field):
        with pytest.raises(ApplicationError) as exc:
            invite(project, admin_user, **fields)
        assert error_field in exc.value.fields
        assert Membership.objects.filter(project=project).count() == 2  # owner + admin fixtures
        assert not OutboundMessage.objects.exists()

    def test_policy_parameters_are_checked(self, project, admin_user):
        policy = AccessPolicyFactory(project=project)
        policy.rules.create(resource_type="Patient", interactions="rs", criteria="Patient?organization=%org")
        with pytest.raises(ApplicationError) as exc:
            invite(project, admin_user, email="p@example.test", access_policy=policy)
        assert "access_parameters" in exc.value.fields
        assert not User.objects.filter(email="p@example.test").exists()

    def test_resend_kills_the_old_link(self, client, project, admin_user, sent_links):
        result = invite(project, admin_user, email="again@example.test")
        invitation_resend(invitation=result.invitation, actor=Actor(user=admin_user))
        old, new = sent_links()
        assert old != new
        # #13 item 9: the replaced link says a newer invitation was sent (not "check the address").
        replaced = client.get(urlparse(old).path)
        assert replaced.status_code == HTTPStatus.GONE
        assert "A newer invitation was sent" in replaced.content.decode()
        assert "copied the whole address" not in replaced.content.decode()
        assert client.get(urlparse(new).path).status_code == HTTPStatus.OK
        # A mistyped link is still just not valid (nothing says the invitation exists).
        mistyped = client.get(urlparse(new).path[:-3] + "xyz")
        assert mistyped.status_code == HTTPStatus.NOT_FOUND
        assert "copied the whole address" in mistyped.content.decode()
        result.invitation.refresh_from_db()
        assert result.invitation.send_count == 2

    def test_a_replaced_link_of_a_revoked_invitation_says_withdrawn(
        self, client, project, admin_user, sent_links
    ):
        result = invite(project, admin_user, email="twice.gone@example.test")
        invitation_resend(invitation=result.invitation, actor=Actor(user=admin_user))
        invitation_revoke(invitation=result.invitation, actor=Actor(user=admin_user))
        for link in sent_links():
            page = client.get(urlparse(link).path)
            assert page.status_code == HTTPStatus.GONE
            assert "This invitation was withdrawn" in page.content.decode()

    def test_revoke_kills_link_deactivates_membership_and_tells_the_person(
        self, client, project, admin_user, sent_links, mailoutbox
    ):
        result = invite(project, admin_user, email="gone@example.test")
        invitation_revoke(invitation=result.invitation, actor=Actor(user=admin_user))
        assert client.get(urlparse(sent_links()[0]).path).status_code == HTTPStatus.GONE
        result.membership.refresh_from_db()
        assert not result.membership.is_active
        assert mailoutbox[-1].subject.startswith("Your invitation to")
        with pytest.raises(ApplicationError):
            invitation_resend(invitation=result.invitation, actor=Actor(user=admin_user))

    def test_expired_invitation_can_be_resent(self, project, admin_user, clock):
        result = invite(project, admin_user, email="late@example.test")
        clock.advance(timedelta(days=8))
        result.invitation.refresh_from_db()
        assert result.invitation.status == "expired"
        invitation_resend(invitation=result.invitation, actor=Actor(user=admin_user))
        result.invitation.refresh_from_db()
        assert result.invitation.status == "pending"


class TestExternalIdOnlyInvitations:
    """#13 item 9: shown as "Accepted" with a "Sent" time, and "email sent" in the audit log."""

    def test_the_invitations_page_says_pending_and_not_sent(self, admin_client, project, admin_user):
        url = reverse("portal:invite", kwargs={"project_slug": project.slug})
        response = admin_client.post(
            url, {"external_id": "okta|00u2", "role": "member", "send_email": "on"}, follow=True
        )
        assert "No email was sent: they join at their first sign-in" in response.content.decode()
        listing = admin_client.get(reverse("portal:invitations", kwargs={"project_slug": project.slug}))
        row = next(line for line in listing.content.decode().split("<tr>") if "okta|00u2" in line)
        assert "Pending" in row and "Accepted" not in row
        assert "Not sent: no email address; joins at the first sign-in" in row
        event = AuditEvent.objects.get(action=AuditAction.INVITATION_CREATED)
        assert event.details["email_sent"] is False

    def test_the_first_federated_sign_in_accepts_it_even_after_its_expiry(self, project, admin_user, clock):
        from accounts.services.invitations import invitation_accept_pending

        result = invite(project, admin_user, external_id="okta|00u3")
        clock.advance(timedelta(days=30))
        assert (
            invitation_accept_pending(membership=result.membership, actor=Actor(user=admin_user), via="test")
            == 1
        )
        result.invitation.refresh_from_db()
        assert result.invitation.status == "accepted"

    def test_an_address_without_send_email_is_not_shown_as_sent(self, admin_client, project, admin_user):
        result = invite(project, admin_user, email="later@example.test", send_email=False)
        assert result.invitation.last_sent_at is None and not result.email_sent
        listing = admin_client.get(reverse("portal:invitations", kwargs={"project_slug": project.slug}))
        row = next(line for line in listing.content.decode().split("<tr>") if "later@example.test" in line)
        assert "Not sent" in row
        # Resend sends the first email.
        invitation_resend(invitation=result.invitation, actor=Actor(user=admin_user))
        result.invitation.refresh_from_db()
        assert result.invitation.last_sent_at is not None and result.invitation.send_count == 1


class TestInvitationPages:
    def test_invite_form_and_list(self, admin_client, project, mailoutbox):
        url = reverse("portal:invite", kwargs={"project_slug": project.slug})
        assert admin_client.get(url).status_code == 200
        response = admin_client.post(
            url, {"email": "form@example.test", "role": "member", "send_email": "on"}
        )
        assert response.status_code == HTTPStatus.FOUND
        listing = admin_client.get(
            reverse("portal:invitations", kwargs={"project_slug": project.slug}) + "?status=pending"
        )
        assert "form@example.test" in listing.content.decode()
        assert len(mailoutbox) == 1

    def test_invite_form_shows_conflict(self, admin_client, project, member_membership):
        url = reverse("portal:invite", kwargs={"project_slug": project.slug})
        response = admin_client.post(url, {"email": member_membership.user.email, "role": "member"})
        assert response.status_code == HTTPStatus.BAD_REQUEST
        assert "already a member" in response.content.decode()

    def test_invite_form_requires_email_or_external_id(self, admin_client, project):
        url = reverse("portal:invite", kwargs={"project_slug": project.slug})
        response = admin_client.post(url, {"role": "member"})
        assert response.status_code == HTTPStatus.BAD_REQUEST
        assert "email" in response.context["form"].errors

    def test_invitations_of_other_projects_are_404(self, admin_client, project, other_project):
        other_owner = MembershipFactory(project=other_project, role="owner").user
        foreign = invite(other_project, other_owner, email="theirs@example.test").invitation
        for name in ("portal:invitation_resend", "portal:invitation_revoke"):
            url = reverse(name, kwargs={"project_slug": project.slug, "invitation_id": foreign.pk})
            assert admin_client.post(url).status_code == HTTPStatus.NOT_FOUND
        foreign.refresh_from_db()
        assert foreign.revoked_at is None and foreign.send_count == 1
        listing = admin_client.get(reverse("portal:invitations", kwargs={"project_slug": project.slug}))
        assert "theirs@example.test" not in listing.content.decode()

    def test_member_cannot_invite(self, member_client, project):
        url = reverse("portal:invite", kwargs={"project_slug": project.slug})
        assert member_client.post(url, {"email": "x@example.test", "role": "member"}).status_code == 403
        assert not User.objects.filter(email="x@example.test").exists()


class TestOutboxResendOfInvitationMessages:
    """#13 item 1: a message whose set-password link is dead (superseded, revoked) is not sent again."""

    def message_urls(self, project, message):
        kwargs = {"project_slug": project.slug, "message_id": message.pk}
        return (
            reverse("portal:outbox_message", kwargs=kwargs),
            reverse("portal:outbox_resend", kwargs=kwargs),
            reverse("api-outbox-resend", kwargs={"project_id": project.pk, "message_id": message.pk}),
        )

    def welcome_messages(self):
        return list(
            OutboundMessage.objects.filter(kind=MessageKind.WELCOME_SET_PASSWORD).order_by("created_at")
        )

    def assert_refused(self, admin_client, project, message, reason, mailoutbox):
        page_url, resend_url, api_url = self.message_urls(project, message)
        sent_before = len(mailoutbox)
        page = admin_client.get(page_url)
        html = page.content.decode()
        assert page.status_code == 200
        assert "Send again" not in html and reason in html
        # Posting anyway (an old tab) is refused with the reason and sends nothing.
        response = admin_client.post(resend_url, follow=True)
        assert reason in response.content.decode()
        api = admin_client.post(api_url)
        assert api.status_code == HTTPStatus.CONFLICT
        assert api.json()["error"]["code"] == "message_not_resendable"
        assert reason in api.json()["error"]["message"]
        assert len(mailoutbox) == sent_before
        assert not AuditEvent.objects.filter(action=AuditAction.MESSAGE_RESENT).exists()

    def test_a_superseded_invitation_message_cannot_be_sent_again(
        self, admin_client, project, admin_user, mailoutbox
    ):
        result = invite(project, admin_user, email="twice@example.test")
        invitation_resend(invitation=result.invitation, actor=Actor(user=admin_user))
        first, second = self.welcome_messages()
        self.assert_refused(admin_client, project, first, "A newer invitation was sent", mailoutbox)
        # The newest message still carries the live link: it may be sent again.
        page_url, resend_url, _ = self.message_urls(project, second)
        assert "Send again" in admin_client.get(page_url).content.decode()
        admin_client.post(resend_url)
        assert AuditEvent.objects.filter(action=AuditAction.MESSAGE_RESENT).count() == 1

    def test_a_revoked_invitation_message_cannot_be_sent_again(
        self, admin_client, project, admin_user, mailoutbox
    ):
        # invite -> Resend -> Revoke -> open the first message -> Send again (the report's steps).
        result = invite(project, admin_user, email="revoked@example.test")
        invitation_resend(invitation=result.invitation, actor=Actor(user=admin_user))
        invitation_revoke(invitation=result.invitation, actor=Actor(user=admin_user))
        first, second = self.welcome_messages()
        self.assert_refused(admin_client, project, second, "The invitation was revoked", mailoutbox)
        self.assert_refused(admin_client, project, first, "The invitation was revoked", mailoutbox)
        # The notice that the invitation was revoked carries no link: it may be sent again.
        notice = OutboundMessage.objects.get(kind=MessageKind.INVITATION_REVOKED)
        assert "Send again" in admin_client.get(self.message_urls(project, notice)[0]).content.decode()

    def test_an_accepted_invitation_message_cannot_be_sent_again(
        self, admin_client, project, admin_user, mailoutbox, clock
    ):
        result = invite(project, admin_user, email="joined@example.test")
        SecurityRequest.objects.filter(pk=result.invitation.pk).update(used_at=clock.now())
        [message] = self.welcome_messages()
        self.assert_refused(admin_client, project, message, "The invitation was accepted", mailoutbox)
