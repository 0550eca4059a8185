"""Who may use a project's clients: the rule, written once, asked in Python and in SQL.

A user may get or keep tokens of a client when they are active, have an active
membership in the client's project, have a verified email (when they have one at
all), and have a second factor enrolled when the project requires one (mfa_required). `_allowed(user=…, project=…)` is that rule as one `Q` over whatever queryset reaches
the user through the field path `user` (`""` on User itself, `"user__"` on tokens). The
Python predicate (`user_client_standing`, `user_may_use_client`) selects it as a column of the
user's row, with whether their email is verified (the ID token's claim, asked in the same
statement at the token endpoint); introspection embeds the same `Q` in its one compiled statement. A change here changes both; tests/oauth/test_rules.py holds them
to the same answers.

The shape is chosen for the planner: the user's own columns are read through the join the
token query needs anyway, and each of the two lookups is an EXISTS on an indexed column
(a membership by project, an address by user), so no subquery ever scans a whole table.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, QuerySet

from accounts.models import Membership, Project, User
from accounts.selectors import FACTOR_TYPES, user_email_verified
from identity.db import prepared_cursor


def _verified_addresses(*, user_id, email) -> QuerySet[EmailAddress]:
    """The user's verified allauth addresses equal (case-insensitively) to `email`."""
    return EmailAddress.objects.filter(user_id=user_id, email__iexact=email, verified=True)


def _allowed(*, user: str, project) -> Q:
    """The rule over a queryset whose user is at field path `user`; `project` is the client's
    project id (a value, or an OuterRef/F expression)."""
    active_membership = Membership.objects.filter(
        user_id=OuterRef(f"{user}pk"), project_id=project, is_active=True
    )
    verified = _verified_addresses(user_id=OuterRef(f"{user}pk"), email=OuterRef(f"{user}email"))
    # A project that requires a second factor serves only members who have one enrolled.
    factor_optional = Project.objects.filter(pk=project, mfa_required=False)
    has_factor = Authenticator.objects.filter(user_id=OuterRef(f"{user}pk"), type__in=FACTOR_TYPES)
    return (
        Q(**{f"{user}is_active": True})
        & Exists(active_membership)
        & (Q(**{f"{user}email__isnull": True}) | Q(**{f"{user}email": ""}) | Exists(verified))
        & (Exists(factor_optional) | Exists(has_factor))
    )


# Stand-ins for the two values of the standing statement, replaced at each call.
_USER_MARKER, _PROJECT_MARKER = uuid.UUID(int=0x5E5E), uuid.UUID(int=0x9A9A)
_compiled: dict[str, tuple[str, list, list[int], list[int]]] = {}


@dataclass(frozen=True)
class Standing:
    """A user's standing with a client's project: may they use it, and is their email verified
    (the `email_verified` claim of the tokens issued now)."""

    allowed: bool
    email_verified: bool


def _standing_statement(connection) -> tuple[str, list, list[int], list[int]]:
    """`user_client_standing`'s SQL, compiled from the rule once per process and database vendor
    (compiling its four subqueries costs several times more than running them), with the positions
    of the user's and the project's parameters."""
    compiled = _compiled.get(connection.vendor)
    if compiled is None:
        queryset = User.objects.filter(pk=_USER_MARKER).annotate(
            allowed=ExpressionWrapper(
                _allowed(user="", project=_PROJECT_MARKER), output_field=BooleanField()
            ),
            verified=Exists(_verified_addresses(user_id=OuterRef("pk"), email=OuterRef("email"))),
        )
        sql, params = (
            queryset.values("allowed", "verified")[:1].query.get_compiler(connection=connection).as_sql()
        )
        params = list(params)

        def positions(marker) -> list[int]:
            return [i for i, p in enumerate(params) if p == marker or p == marker.hex or p == str(marker)]

        compiled = (sql, params, positions(_USER_MARKER), positions(_PROJECT_MARKER))
        if not compiled[2] or not compiled[3]:
            raise RuntimeError("oauth.rules: the compiled rule lost its user or project parameter")
        _compiled[connection.vendor] = compiled
    return compiled


def user_client_standing(*, user, client) -> Standing:
    """The rule for `user` and `client`, and whether the user's email is verified, in one query.

    The database is asked, not the `user` object in memory, so a deactivation committed
    elsewhere counts at once. The token endpoint asks this once per grant: the rule decides
    whether tokens are issued, the other answer is the ID token's `email_verified`.
    """
    if user is None or getattr(user, "pk", None) is None:
        return Standing(allowed=False, email_verified=False)
    from django.db import connections, router

    connection = connections[router.db_for_read(User)]
    sql, params, user_at, project_at = _standing_statement(connection)
    params = list(params)
    for at in user_at:
        params[at] = _in_kind(params[at], user.pk)
    for at in project_at:
        params[at] = _in_kind(params[at], client.project_id)
    with prepared_cursor(connection) as cursor:  # planned once per connection (identity/db.py)
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return Standing(allowed=False, email_verified=False)
    # `user_email_verified`'s answer: an address, and a verified allauth address equal to it.
    return Standing(allowed=bool(row[0]), email_verified=bool(user.email) and bool(row[1]))


def user_may_use_client(user, client) -> bool:
    """May `user` get tokens of `client` (or keep using the ones they have)? No user: no.

    One query (`user_client_standing`'s).
    """
    return user_client_standing(user=user, client=client).allowed


def _in_kind(marker_value, value):
    """`value` in the form the compiled statement had its marker (UUID, hex or text)."""
    if isinstance(marker_value, uuid.UUID):
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    as_uuid = value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    return (
        as_uuid.hex
        if marker_value == _USER_MARKER.hex or marker_value == _PROJECT_MARKER.hex
        else str(as_uuid)
    )


def token_user_may_use_client(token) -> bool:
    """A token's holder passes the rule; client-credentials tokens (no user) always do."""
    return token.user_id is None or user_may_use_client(token.user, token.application)


def token_user_allowed() -> ExpressionWrapper:
    """`token_user_may_use_client` as an annotation for AccessToken/RefreshToken querysets:
    true for a token without a user (client credentials), else the rule for its user and its
    client's project."""
    allowed = _allowed(user="user__", project=OuterRef("application__project_id"))
    return ExpressionWrapper(Q(user__isnull=True) | allowed, output_field=BooleanField())


def email_verified(user) -> bool:
    """The `email_verified` claim: the user has an email address and it is verified."""
    return user_email_verified(user=user)
