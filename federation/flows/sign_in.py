"""Who an upstream identity is here: match, link, provision or refuse (docs/FEDERATION.md).

Called by allauth's `pre_social_login` seam (federation/adapters.py) after the ID token was
verified (federation/upstream/tokens.py). The rules, in order:

1. The provider must be active and the project must allow its sign-in method.
2. An identity already linked (allauth `SocialAccount`, keyed by provider and `sub`) is that user.
3. Otherwise, `match_by=subject`: the project's membership whose `external_id` is the `sub`;
   `match_by=email`: the user with that address, only when the provider asserts
   `email_verified` *and* the address is at one of the provider's verified domains.
4. A person without an (active) membership in the provider's project is refused, unless the
   provider provisions just in time: then a membership with the project's defaults is made.
5. Open invitations of the membership count as accepted; name and (trusted) email are refreshed.
"""

from __future__ import annotations

from dataclasses import dataclass

from allauth.account.models import EmailAddress
from django.db import transaction

from accounts.models import Membership, User, normalize_email
from accounts.selectors import user_belongs_to_project_alone
from accounts.services import (
    invitation_accept_pending,
    membership_create,
    user_get_or_create,
    user_password_remove,
    user_profile_refresh,
)
from audit.context import Actor
from audit.models import AuditAction
from audit.services import audit_record
from federation.models import IdentityProvider, MatchBy
from federation.selectors import identity_provider_vouches_for

REFUSALS = {
    "provider_disabled": "This sign-in method has been turned off by your administrator.",
    "method_not_allowed": "Your organisation does not allow signing in this way.",
    "email_not_verified": (
        "Your identity provider did not confirm your email address, so we cannot tell who you are here."
    ),
    "unknown_person": "You do not have an account here yet. Ask your administrator to invite you.",
    "not_a_member": "You are not a member of this organisation yet. Ask your administrator to invite you.",
    "membership_inactive": "Your access to this organisation has been removed. Ask your administrator.",
    "user_inactive": "Your account has been deactivated. Ask your administrator.",
    "subject_match_unsafe": (
        "Your account here is not managed by this identity provider, so it cannot sign you in. "
        "Sign in another way, or ask your administrator."
    ),
}


class SignInRefused(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason
        self.message = REFUSALS[reason]
        super().__init__(reason)


@dataclass(frozen=True)
class UpstreamIdentity:
    """What the provider said, from the verified ID token."""

    subject: str
    email: str | None
    email_verified: bool
    given_name: str
    family_name: str

    @classmethod
    def from_claims(cls, claims: dict) -> UpstreamIdentity:
        return cls(
            subject=str(claims["sub"]),
            email=normalize_email(claims.get("email") if isinstance(claims.get("email"), str) else None),
            # Cognito sends the string "true"; anything not clearly true is false.
            email_verified=claims.get("email_verified") in (True, "true"),
            given_name=str(claims.get("given_name") or ""),
            family_name=str(claims.get("family_name") or ""),
        )


@dataclass(frozen=True)
class SignInOutcome:
    user: User
    membership: Membership
    linked: bool  # a new (provider, sub) link was made
    provisioned: bool  # the membership (and maybe the user) was created just in time


def _trusted_email(provider: IdentityProvider, identity: UpstreamIdentity) -> str | None:
    if identity.email and identity.email_verified and identity_provider_vouches_for(provider, identity.email):
        return identity.email
    return None


def _subject_match_is_safe(provider: IdentityProvider, user: User) -> bool:
    """An external ID is written by the project's admins, so it may only name an account that
    is this project's alone: no membership in another project, and no email or one at this
    provider's verified domains. (Otherwise an admin could put a stranger's account under an
    external ID that their own provider then asserts.)"""
    if not user_belongs_to_project_alone(user=user, project=provider.project):
        return False
    return not user.email or identity_provider_vouches_for(provider, user.email)


def _match(provider: IdentityProvider, identity: UpstreamIdentity, trusted_email: str | None) -> User | None:
    if provider.match_by == MatchBy.SUBJECT:
        membership = (
            Membership.objects.select_related("user")
            .filter(project=provider.project, external_id=identity.subject)
            .first()
        )
        if membership is None:
            return None
        if not _subject_match_is_safe(provider, membership.user):
            raise SignInRefused("subject_match_unsafe")
        return membership.user
    if trusted_email:
        return User.objects.filter(email__iexact=trusted_email).first()
    return None


def _address_proven(user: User, email: str) -> bool:
    return EmailAddress.objects.filter(user=user, email__iexact=email, verified=True).exists()


def _provision_user(
    provider: IdentityProvider, identity: UpstreamIdentity, trusted_email: str | None
) -> User:
    if provider.match_by == MatchBy.EMAIL and not trusted_email:
        raise SignInRefused("email_not_verified")
    user, _ = user_get_or_create(
        email=trusted_email,
        first_name=identity.given_name[:150],
        last_name=identity.family_name[:150],
        email_verified=bool(trusted_email),
    )
    return user


@transaction.atomic
def federated_sign_in_resolve(
    *, provider: IdentityProvider, identity: UpstreamIdentity, linked_user: User | None, actor: Actor
) -> SignInOutcome:
    """The user this identity signs in as, with their membership in the provider's project.

    `linked_user` is the user an existing (provider, sub) link points to, if any. Raises
    SignInRefused (nothing written) when the person may not sign in this way.
    """
    project = provider.project
    if not provider.is_active:
        raise SignInRefused("provider_disabled")
    if provider.sign_in_method not in (project.allowed_sign_in_methods or []):
        raise SignInRefused("method_not_allowed")
    trusted_email = _trusted_email(provider, identity)
    user = linked_user or _match(provider, identity, trusted_email)
    provisioned = False
    if user is None:
        if not provider.jit_provisioning:
            raise SignInRefused("unknown_person")
        user = _provision_user(provider, identity, trusted_email)
    if not user.is_active:
        raise SignInRefused("user_inactive")
    if (
        linked_user is None
        and trusted_email
        and user.email == trusted_email
        and not _address_proven(user, trusted_email)
    ):
        # Someone registered this address here without ever proving it (maybe before its owner
        # came): the owner, proven by their provider, gets the account, and that password goes.
        user_password_remove(user=user, actor=actor, reason="address proven by an identity provider")
    membership = Membership.objects.filter(project=project, user=user).first()
    if membership is None:
        if not provider.jit_provisioning:
            raise SignInRefused("not_a_member")
        membership = membership_create(
            project=project,
            user=user,
            actor=actor,
            external_id=identity.subject if provider.match_by == MatchBy.SUBJECT else "",
        )
        provisioned = True
    elif not membership.is_active:
        raise SignInRefused("membership_inactive")
    invitation_accept_pending(membership=membership, actor=actor.with_user(user), via="federated sign-in")
    # The email follows the provider only where the provider owns the current address too:
    # a provider never moves an account's address from a domain it does not own.
    email_follows = not user.email or identity_provider_vouches_for(provider, user.email)
    user_profile_refresh(
        user=user,
        first_name=identity.given_name,
        last_name=identity.family_name,
        verified_email=trusted_email if email_follows else None,
    )
    return SignInOutcome(
        user=user, membership=membership, linked=linked_user is None, provisioned=provisioned
    )


def federated_identity_linked(*, provider: IdentityProvider, user: User, subject: str, actor: Actor) -> None:
    """Audit a new (provider, sub) link; called once allauth saved it."""
    audit_record(
        action=AuditAction.IDENTITY_LINKED,
        actor=actor.with_user(user),
        project=provider.project,
        target=user,
        details={"identity_provider": provider.name, "provider_id": provider.provider_id, "subject": subject},
    )


def federated_sign_in_refused(
    *, provider: IdentityProvider | None, reason: str, actor: Actor, subject: str = ""
) -> None:
    audit_record(
        action=AuditAction.FEDERATED_SIGN_IN_REFUSED,
        actor=actor,
        project=provider.project if provider else None,
        outcome="denied" if reason in REFUSALS else "failure",
        target=provider,
        details={
            "reason": reason,
            "provider_id": provider.provider_id if provider else "",
            "subject": subject,
        },
    )
