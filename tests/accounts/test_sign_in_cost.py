"""What a password sign-in costs does not grow with the person's sessions (issue #14 item 3).

allauth.usersessions opened every session of the user at each sign-in (three statements each), so a
login used from many browsers, or by a script, got slower with each sign-in of the day; ours forgets
the records of ended sessions with one statement (accounts.services.sessions.session_signed_in)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from allauth.usersessions.models import UserSession
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from tests.factories import DEFAULT_PASSWORD, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

# Statements of one password sign-in of a member of one project (24 when written): the address and
# its domain's provider, the password, MFA, the session and its record, last_login, the audit row.
SIGN_IN_BUDGET = 26


def _sign_in(email: str) -> Client:
    browser = Client()
    response = browser.post(reverse("account_login"), {"login": email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302, response.content[:300]
    return browser


def _statements_of_a_sign_in(email: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        _sign_in(email)
    return len(queries.captured_queries)


@pytest.fixture
def member(project) -> User:
    user = MembershipFactory(project=project).user
    user.emailaddress_set.update(verified=True)
    return user


def test_a_sign_in_takes_the_same_statements_however_many_sessions_the_user_has(
    member, django_assert_max_num_queries
):
    with django_assert_max_num_queries(SIGN_IN_BUDGET):
        _sign_in(member.email)
    first = _statements_of_a_sign_in(member.email)
    for _ in range(5):
        _sign_in(member.email)
    assert UserSession.objects.filter(user=member).count() == 7
    assert _statements_of_a_sign_in(member.email) == first


def test_a_sign_in_forgets_the_records_of_ended_sessions_only(member):
    live, deleted, expired = (_sign_in(member.email) for _ in range(3))
    keys = {
        name: browser.session.session_key
        for name, browser in [("live", live), ("deleted", deleted), ("expired", expired)]
    }
    Session.objects.filter(session_key=keys["deleted"]).delete()
    Session.objects.filter(session_key=keys["expired"]).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    someone_else = UserFactory()
    someone_else.emailaddress_set.update(verified=True)
    theirs = _sign_in(someone_else.email).session.session_key
    Session.objects.filter(session_key=theirs).delete()  # ended, but not the member's to forget

    newest = _sign_in(member.email).session.session_key

    assert set(UserSession.objects.filter(user=member).values_list("session_key", flat=True)) == {
        keys["live"],
        newest,
    }
    assert UserSession.objects.filter(session_key=theirs).exists()


def test_a_sign_in_does_not_rehash_an_up_to_date_password(member, settings):
    from identity import settings as production

    settings.PASSWORD_HASHERS = production.PASSWORD_HASHERS  # tests/conftest.py's MD5 is not it
    member.set_password(DEFAULT_PASSWORD)
    member.save(update_fields=["password"])
    stored = User.objects.get(pk=member.pk).password
    assert stored.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    _sign_in(member.email)
    assert User.objects.get(pk=member.pk).password == stored
