"""OAuth reacts to accounts' outbound signals: a deactivated membership loses its tokens."""

from __future__ import annotations

from django.dispatch import receiver

from accounts.signals import membership_deactivated
from oauth.services import tokens_revoke


@receiver(membership_deactivated, dispatch_uid="oauth_revoke_on_membership_deactivated")
def revoke_project_tokens(sender, membership, **kwargs) -> None:
    """Revoke the member's refresh and access tokens issued by this project's clients."""
    tokens_revoke(user=membership.user, project=membership.project)
