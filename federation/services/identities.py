"""A user's linked identities (allauth SocialAccount rows): listing and unlinking."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from allauth.socialaccount.models import SocialAccount
from django.db import transaction
from django.http import Http404

from audit.context import Actor
from audit.models import AuditAction
from audit.services import audit_record
from federation.models import IdentityProvider
from identity.errors import ApplicationError

LAST_WAY_IN = "last_sign_in_method"


@dataclass(frozen=True)
class LinkedIdentity:
    id: int
    provider_name: str
    provider_kind: str
    project_name: str
    subject: str
    email: str
    linked_at: datetime
    last_used_at: datetime | None


def identity_list(*, user) -> list[LinkedIdentity]:
    """The user's linked identities, with the provider they belong to (deleted providers show as such)."""
    accounts = list(SocialAccount.objects.filter(user=user).order_by("date_joined"))
    providers = {
        p.provider_id: p
        for p in IdentityProvider.objects.select_related("project").filter(
            provider_id__in=[a.provider for a in accounts]
        )
    }
    result = []
    for account in accounts:
        provider = providers.get(account.provider)
        claims = (account.extra_data or {}).get("id_token") or {}
        result.append(
            LinkedIdentity(
                id=account.pk,
                provider_name=provider.name if provider else "Deleted identity provider",
                provider_kind=provider.get_kind_display() if provider else "",
                project_name=provider.project.brand_name if provider else "",
                subject=account.uid,
                email=str(claims.get("email") or ""),
                linked_at=account.date_joined,
                last_used_at=account.last_login,
            )
        )
    return result


def identity_unlink_problem(*, account: SocialAccount, accounts) -> str | None:
    """Why `account` may not be unlinked (None: it may): another way to sign in must remain,
    a usable password or another linked identity."""
    others = [a for a in accounts if a.pk != account.pk]
    if others or account.user.has_usable_password():
        return None
    return "This is your only way to sign in. Set a password or link another identity first."


@transaction.atomic
def identity_unlink(*, user, identity_id, actor: Actor) -> None:
    try:
        account = SocialAccount.objects.select_for_update().get(user=user, pk=identity_id)
    except (SocialAccount.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("No such linked identity.") from exc
    accounts = list(SocialAccount.objects.select_for_update().filter(user=user))
    if problem := identity_unlink_problem(account=account, accounts=accounts):
        raise ApplicationError(problem, code=LAST_WAY_IN, status=409)
    provider = IdentityProvider.objects.select_related("project").filter(provider_id=account.provider).first()
    account.delete()
    audit_record(
        action=AuditAction.IDENTITY_UNLINKED,
        actor=actor,
        project=provider.project if provider else None,
        target=user,
        details={"provider_id": account.provider, "subject": account.uid},
    )
