"""Who may use a project's clients: the rule, written once, asked in Python and in SQL.

A user may get or keep tokens of a client when they are active, have an active
membership in the client's project, and have a verified email (when they have one at
all). The rule is a set of memberships (`_allowed_memberships`); the Python predicate
asks the database whether the user's membership is in that set, and introspection
embeds the same queryset as an EXISTS in its one compiled statement. A change here
changes both; tests/oauth/test_rules.py holds them to the same answers.
"""

from __future__ import annotations

from allauth.account.models import EmailAddress
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, QuerySet

from accounts.models import Membership


def _verified_addresses(*, user_id, email) -> QuerySet[EmailAddress]:
    """The user's verified allauth addresses equal (case-insensitively) to `email`."""
    return EmailAddress.objects.filter(user_id=user_id, email__iexact=email, verified=True)


def _allowed_memberships() -> QuerySet[Membership]:
    """Memberships whose user may use the clients of the membership's project."""
    return Membership.objects.filter(is_active=True, user__is_active=True).filter(
        Q(user__email__isnull=True)
        | Q(user__email="")
        | Exists(_verified_addresses(user_id=OuterRef("user_id"), email=OuterRef("user__email")))
    )


def user_may_use_client(user, client) -> bool:
    """May `user` get tokens of `client` (or keep using the ones they have)? No user: no.

    One query. The database is asked, not the `user` object in memory, so a
    deactivation committed elsewhere counts at once.
    """
    if user is None or getattr(user, "pk", None) is None:
        return False
    return _allowed_memberships().filter(user_id=user.pk, project_id=client.project_id).exists()


def token_user_may_use_client(token) -> bool:
    """A token's holder passes the rule; client-credentials tokens (no user) always do."""
    return token.user_id is None or user_may_use_client(token.user, token.application)


def token_user_allowed() -> ExpressionWrapper:
    """`token_user_may_use_client` as an annotation for AccessToken/RefreshToken querysets.

    Joins nothing: the user, membership and email checks are one EXISTS, correlated on
    the token's `user_id` and its client's project.
    """
    allowed = _allowed_memberships().filter(
        user_id=OuterRef("user_id"), project_id=OuterRef("application__project_id")
    )
    return ExpressionWrapper(Q(user__isnull=True) | Exists(allowed), output_field=BooleanField())


def email_verified(user) -> bool:
    """The `email_verified` claim: the user has an email address and it is verified."""
    return bool(user.email) and _verified_addresses(user_id=user.pk, email=user.email).exists()
