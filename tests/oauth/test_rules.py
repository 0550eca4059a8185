"""May this user use this client? One rule, asked in Python and in introspection's one SQL statement.

Both forms are built from the same definition (oauth/rules.py); these cases pin that they agree.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from oauth2_provider.models import set_token_value

from audit.context import Actor
from identity.clock import clock
from oauth import rules
from oauth.introspection import token_introspect
from oauth.models import AccessToken, RefreshToken
from oauth.services import ClientInput, client_create
from oauth.tokens import token_checksum
from tests.factories import MembershipFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db


def _user(project, case: str):
    """A user in the state `case` names, or None for a client-credentials token."""
    if case == "client_credentials":
        return None
    if case == "no_email":
        user = UserFactory(email=None)
    elif case == "email_in_other_case":
        user = UserFactory(email="Mixed.Case@example.test")
        EmailAddress.objects.filter(user=user).update(email="mixed.case@EXAMPLE.test")
    else:
        user = UserFactory()
    if case != "no_membership":
        MembershipFactory(user=user, project=project, is_active=case != "inactive_membership")
    if case == "inactive_user":
        user.is_active = False
        user.save()
    if case == "unverified_email":
        EmailAddress.objects.filter(user=user).update(verified=False)
    if case == "verified_other_address":
        EmailAddress.objects.filter(user=user).update(verified=False)
        EmailAddress.objects.create(user=user, email="someone.else@example.test", verified=True)
    if case == "member_of_another_project":
        MembershipFactory(user=user, project=ProjectFactory())
        user.memberships.filter(project=project).delete()
    return user


CASES = {
    "allowed": True,
    "no_email": True,
    "email_in_other_case": True,
    "client_credentials": True,  # no user: the client acts for itself
    "inactive_user": False,
    "inactive_membership": False,
    "no_membership": False,
    "member_of_another_project": False,
    "unverified_email": False,
    "verified_other_address": False,
}


@pytest.fixture
def project():
    return ProjectFactory()


@pytest.fixture
def client(project):
    data = ClientInput(name="Caller", grant_types=["client_credentials"], scopes=["openid", "portal.read"])
    return client_create(project=project, actor=Actor.system(), data=data).client


def _access_token(*, user, client) -> tuple[AccessToken, str]:
    raw = secrets.token_urlsafe(32)
    token = AccessToken(
        user=user, application=client, scope="openid", expires=clock.now() + timedelta(hours=1)
    )
    set_token_value(token, raw)
    token.save()
    return token, raw


@pytest.mark.parametrize("case", sorted(CASES))
def test_python_predicate_and_introspection_sql_agree(project, client, case):
    user = _user(project, case)
    token, raw = _access_token(user=user, client=client)
    token = AccessToken.objects.select_related("user", "application").get(pk=token.pk)

    in_python = rules.token_user_may_use_client(token)
    in_sql = token_introspect(token=raw, caller=client) is not None

    assert in_python is CASES[case]
    assert in_sql is CASES[case]
    if user is not None:
        assert rules.user_may_use_client(user, client) is CASES[case]


def test_the_token_annotation_is_the_same_expression(project, client):
    """The annotation introspection compiles, asked directly for every case at once."""
    expected = {}
    for case, allowed in CASES.items():
        token, _ = _access_token(user=_user(project, case), client=client)
        expected[token.pk] = allowed
    answered = dict(
        AccessToken.objects.filter(pk__in=expected)
        .annotate(ok=rules.token_user_allowed())
        .values_list("pk", "ok")
    )
    assert {pk: bool(ok) for pk, ok in answered.items()} == expected


@pytest.mark.parametrize("case", sorted(set(CASES) - {"client_credentials"}))
def test_the_standing_answers_the_rule_and_the_email_verified_claim(project, client, case):
    """The token endpoint asks `user_client_standing` once: the rule, and `email_verified` as
    accounts.selectors answers it (the ID token's claim)."""
    from accounts.selectors import user_email_verified

    user = _user(project, case)
    standing = rules.user_client_standing(user=user, client=client)
    assert standing.allowed is CASES[case]
    assert standing.email_verified is user_email_verified(user=user)


def test_no_user_may_not_authorize(client):
    assert rules.user_may_use_client(None, client) is False


def test_refresh_token_introspection_uses_the_same_rule(project, client):
    user = _user(project, "allowed")
    raw = secrets.token_urlsafe(32)
    refresh = RefreshToken(user=user, application=client)
    set_token_value(refresh, raw)
    refresh.save()
    assert token_introspect(token=raw, caller=client, hint="refresh_token") is not None
    EmailAddress.objects.filter(user=user).update(verified=False)
    assert token_introspect(token=raw, caller=client, hint="refresh_token") is None


def test_token_checksum_is_the_one_dot_stores(client):
    """DOT's TokenChecksumField and our lookups must hash a token the same way."""
    token, raw = _access_token(user=None, client=client)
    assert AccessToken.objects.get(pk=token.pk).token_checksum == token_checksum(raw)
