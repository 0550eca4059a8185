"""OAuth reacts to accounts' outbound signals: a deactivated membership loses its tokens."""

from __future__ import annotations

from django.dispatch import receiver

from accounts.signals import membership_deactivated, membership_signed_out, user_signed_out_everywhere
from oauth.models import Consent
from oauth.services import tokens_revoke


@receiver(membership_deactivated, dispatch_uid="oauth_revoke_on_membership_deactivated")
def revoke_project_tokens(sender, membership, **kwargs) -> None:
    """Revoke the member's refresh and access tokens issued by this project's clients."""
    tokens_revoke(user=membership.user, project=membership.project)


@receiver(membership_signed_out, dispatch_uid="oauth_revoke_on_membership_signed_out")
def sign_member_out_of_project(sender, membership, **kwargs) -> None:
    """The project's tokens of the member, and their consents to its apps, go."""
    tokens_revoke(user=membership.user, project=membership.project)
    Consent.objects.filter(user=membership.user, client__project=membership.project).delete()


@receiver(user_signed_out_everywhere, dispatch_uid="oauth_revoke_on_signed_out_everywhere")
def revoke_all_user_tokens(sender, user, **kwargs) -> None:
    """Signed out everywhere (or the password changed): every token of the user goes."""
    tokens_revoke(user=user)
