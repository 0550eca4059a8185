"""OAuth reacts to accounts' outbound signals: a deactivated membership loses its tokens."""

from __future__ import annotations

from django.dispatch import receiver

from accounts.signals import (
    membership_deactivated,
    membership_signed_out,
    session_ended,
    user_signed_out_everywhere,
)
from oauth.backchannel import session_logout
from oauth.models import Consent
from oauth.services import tokens_revoke


@receiver(membership_deactivated, dispatch_uid="oauth_revoke_on_membership_deactivated")
def revoke_project_tokens(sender, membership, **kwargs) -> None:
    """Revoke the member's refresh and access tokens issued by this project's clients, and
    forget their consents (a reactivated member is asked again)."""
    sign_member_out_of_project(sender, membership)


@receiver(membership_signed_out, dispatch_uid="oauth_revoke_on_membership_signed_out")
def sign_member_out_of_project(sender, membership, **kwargs) -> None:
    """The project's tokens of the member, and their consents to its apps, go."""
    tokens_revoke(user=membership.user, project=membership.project)
    Consent.objects.filter(user=membership.user, client__project=membership.project).delete()


@receiver(user_signed_out_everywhere, dispatch_uid="oauth_revoke_on_signed_out_everywhere")
def revoke_all_user_tokens(sender, user, **kwargs) -> None:
    """Signed out everywhere (or the password changed): every token of the user goes."""
    tokens_revoke(user=user)


@receiver(session_ended, dispatch_uid="oauth_logout_on_session_ended")
def log_session_out_of_clients(sender, user, sid, **kwargs) -> None:
    """A browser session ended: its tokens go (per client) and client apps get a logout token."""
    session_logout(user=user, sid=sid)
