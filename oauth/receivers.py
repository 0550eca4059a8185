"""OAuth reacts to accounts' outbound signals: a deactivated membership loses its tokens."""

from __future__ import annotations

from django.dispatch import receiver
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from accounts.signals import membership_deactivated


@receiver(membership_deactivated, dispatch_uid="oauth_revoke_on_membership_deactivated")
def revoke_project_tokens(sender, membership, **kwargs) -> None:
    """Revoke the member's refresh and access tokens issued by this project's clients."""
    refresh_tokens = get_refresh_token_model().objects.filter(
        user_id=membership.user_id, application__project_id=membership.project_id, revoked__isnull=True
    )
    for token in refresh_tokens:
        token.revoke()
    get_access_token_model().objects.filter(
        user_id=membership.user_id, application__project_id=membership.project_id
    ).delete()
