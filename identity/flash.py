"""Flash messages: one catalogue of what the pages tell people, and one way to say it.

Every message is a named, translatable template with `str.format` placeholders, so wording
is reviewed and translated in one place and views never build sentences::

    flash(request, MEMBERSHIP_SAVED, user=membership.user)

What a service refused is said with `flash_refusal` (the service's message). Values passed
as placeholders are escaped by the templates like any other text.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.http import HttpRequest
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from identity.errors import ApplicationError


@dataclass(frozen=True)
class Flash:
    """A message level (django.contrib.messages) and its translatable template."""

    level: int
    template: Promise

    def render(self, **params: object) -> str:
        # str() translates into the language active now (the request's), then the values go in.
        return str(self.template).format(**params)


def flash(request: HttpRequest, message: Flash, **params: object) -> None:
    """Show `message` on the next page, its placeholders filled from `params`."""
    messages.add_message(request, message.level, message.render(**params))


def flash_refusal(request: HttpRequest, error: ApplicationError) -> None:
    """Show why a service refused (its `ApplicationError` message) on the next page."""
    messages.add_message(request, messages.ERROR, error.message)


# --- Members and access policies (accounts) -------------------------------------------------------

MEMBERSHIP_SAVED = Flash(messages.SUCCESS, _("Saved {user}."))
MEMBER_EMAIL_CHANGED = Flash(
    messages.SUCCESS,
    _(
        "Saved. {email} was sent a confirmation link; apps get no tokens for this person until they follow it."
    ),
)
WEBHOOK_SECRET_SHOWN = Flash(
    messages.INFO,
    _("The secret of {name} was shown once and is not stored readably; rotate it if it was lost."),
)
MEMBER_PASSWORD_RESET_SENT = Flash(messages.SUCCESS, _("Sent a password reset link to {email}."))
MEMBERSHIP_MFA_RESET = Flash(
    messages.SUCCESS,
    _("Reset {user}'s two-factor authentication: they were signed out everywhere and emailed."),
)
MEMBERSHIP_SIGNED_OUT = Flash(
    messages.SUCCESS, _("Signed {user} out of this project: its apps' tokens and consents are revoked.")
)
MEMBERSHIP_UNLOCKED = Flash(
    messages.SUCCESS, _("{user} can sign in again: the lock after failed attempts is lifted.")
)
PROJECT_SAVED = Flash(messages.SUCCESS, _("Saved the project's settings."))
PROJECT_CREATED = Flash(
    messages.SUCCESS, _("Created {name}. You are its owner: invite its admins and members from Users.")
)
MEMBERSHIP_DEACTIVATED = Flash(messages.SUCCESS, _("{user} was deactivated."))
MEMBERSHIP_REACTIVATED = Flash(messages.SUCCESS, _("{user} was reactivated."))
POLICY_SAVED = Flash(messages.SUCCESS, _("Saved the policy {name}."))
POLICY_DELETED = Flash(messages.SUCCESS, _("Deleted the policy {name}."))

# --- Invitations (accounts) -----------------------------------------------------------------------

INVITE_INVITED = Flash(
    messages.SUCCESS, _("Invited {user}. They will get an email with a link to set their password.")
)
INVITE_INVITED_NO_EMAIL = Flash(
    messages.SUCCESS,
    _("Invited {user}. No email was sent: they join at their first sign-in through an identity provider."),
)
INVITE_INVITED_NOT_SENT = Flash(
    messages.SUCCESS,
    _("Invited {user}. No email was sent; Resend on the invitations page sends them a link."),
)
INVITE_ADDED = Flash(messages.SUCCESS, _("Added {user} to the project."))
INVITE_UPDATED = Flash(messages.SUCCESS, _("{user} was already a member; the membership was updated."))
INVITATION_RESENT = Flash(messages.SUCCESS, _("The invitation for {user} was sent again with a new link."))
INVITATION_REVOKED = Flash(messages.SUCCESS, _("The invitation for {user} was revoked."))
BULK_INVITE_ALREADY_SUBMITTED = Flash(
    messages.INFO, _("This file was already submitted; here is its progress.")
)
PASSWORD_SET = Flash(messages.SUCCESS, _("Your password is set. Welcome!"))

# --- Outbox ---------------------------------------------------------------------------------------

MESSAGE_QUEUED_AGAIN = Flash(messages.SUCCESS, _("Queued the message to {email} again."))

# --- OAuth clients and connected apps (oauth) -----------------------------------------------------

CLIENT_CREATED_PUBLIC = Flash(messages.SUCCESS, _("Created {name}. Public clients have no secret."))
CLIENT_CREATED_KEYS = Flash(
    messages.SUCCESS,
    _("Created {name}. It signs in with its private key (private_key_jwt): it has no secret."),
)
CLIENT_SAVED = Flash(messages.SUCCESS, _("Saved {name}."))
CLIENT_SECRET_SHOWN = Flash(
    messages.INFO,
    _("The secret of {name} was shown once and is not stored readably; rotate it if it was lost."),
)
CLIENT_ENABLED = Flash(messages.SUCCESS, _("{name} is enabled."))
CLIENT_DISABLED = Flash(messages.SUCCESS, _("{name} is disabled; its tokens were revoked."))
CLIENT_DELETED = Flash(messages.SUCCESS, _("Deleted {name}; its tokens were revoked."))
SESSION_TIMED_OUT = Flash(
    messages.INFO, _("Your session reached your organisation's time limit and was ended. Sign in again.")
)
SESSION_ENDED = Flash(
    messages.SUCCESS, _("The session is ended: that browser is signed out and its apps' tokens revoked.")
)
SESSIONS_ENDED = Flash(messages.SUCCESS, _("Ended {count} other session(s)."))
CONNECTED_APP_REVOKED = Flash(messages.SUCCESS, _("{name} can no longer access your account."))

# --- Identity providers and domain claims (federation) -------------------------------------------

IDP_CREATED = Flash(
    messages.SUCCESS,
    _("Created {name}. Register the callback URL below at the provider, then test the connection."),
)
IDP_SAVED = Flash(messages.SUCCESS, _("Saved {name}."))
IDP_DELETED = Flash(messages.SUCCESS, _("Deleted {name}; its domains no longer route to it."))
DOMAIN_CLAIMED = Flash(
    messages.SUCCESS, _("Claimed {name}. Publish the TXT record shown below, then choose Verify.")
)
DOMAIN_VERIFIED = Flash(messages.SUCCESS, _("{name} is verified."))
DOMAIN_CLAIM_REMOVED = Flash(messages.SUCCESS, _("Removed the claim of {name}."))
IDENTITY_UNLINKED = Flash(messages.SUCCESS, _("The identity is unlinked; it can no longer sign you in."))

# --- Inbound webhook endpoints (webhooks) ---------------------------------------------------------

WEBHOOK_ENDPOINT_SAVED = Flash(messages.SUCCESS, _("Saved {name}."))
WEBHOOK_ENDPOINT_DELETED = Flash(messages.SUCCESS, _("Deleted {name}; its URL no longer answers."))
WEBHOOK_SECRET_ROTATED = Flash(
    messages.SUCCESS, _("{name} has a new secret; the previous one still works for 24 hours.")
)
WEBHOOK_EVENT_REPLAYED = Flash(messages.SUCCESS, _("The event {name} is queued to be processed again."))
EVENT_SUBSCRIPTION_SAVED = Flash(messages.SUCCESS, _("Saved the subscription for {name}."))
EVENT_SUBSCRIPTION_DELETED = Flash(messages.SUCCESS, _("Deleted the subscription for {name}."))
EVENT_DELIVERY_REPLAYED = Flash(messages.SUCCESS, _("The {name} delivery is queued to be sent again."))

# --- Django admin actions (identity/admin_tools.py) ----------------------------------------------

ADMIN_REFUSED = Flash(messages.ERROR, _("{object}: {reason}"))
ADMIN_USERS_SIGNED_OUT = Flash(messages.SUCCESS, _("Signed {count} user(s) out everywhere."))
ADMIN_MEMBERSHIPS_DEACTIVATED = Flash(messages.SUCCESS, _("Deactivated {count} membership(s)."))
ADMIN_MEMBERSHIPS_REACTIVATED = Flash(messages.SUCCESS, _("Reactivated {count} membership(s)."))
ADMIN_CLIENTS_DISABLED = Flash(messages.SUCCESS, _("Disabled {count} client(s)."))
ADMIN_CLIENTS_ENABLED = Flash(messages.SUCCESS, _("Enabled {count} client(s)."))
ADMIN_CLIENTS_DELETED = Flash(messages.SUCCESS, _("Deleted {count} client(s)."))
ADMIN_DOMAINS_VERIFIED = Flash(messages.SUCCESS, _("Verified {count} domain(s)."))
