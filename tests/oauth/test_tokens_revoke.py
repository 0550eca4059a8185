"""tokens_revoke: the one way tokens are revoked in bulk (client disabled or deleted, connected app
withdrawn, authorization code replayed, membership deactivated), set-based whatever the count."""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from oauth2_provider.models import set_token_value

from accounts.signals import membership_deactivated
from audit.context import Actor
from identity.clock import clock
from oauth.models import AccessToken, RefreshToken
from oauth.services import ClientInput, client_create, tokens_revoke
from tests.factories import MembershipFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db


def _client(project, name="Web"):
    data = ClientInput(
        name=name, grant_types=["authorization_code"], redirect_uris=["https://app.example/cb"]
    )
    return client_create(project=project, actor=Actor.system(), data=data).client


def _pair(*, user, client, family=None, code_checksum="", revoked=None) -> RefreshToken:
    """An access token and the refresh token issued with it."""
    access = AccessToken(
        user=user,
        application=client,
        scope="openid",
        expires=clock.now() + timedelta(hours=1),
        authorization_code_checksum=code_checksum,
    )
    set_token_value(access, secrets.token_urlsafe(32))
    access.save()
    refresh = RefreshToken(
        user=user,
        application=client,
        access_token=None if revoked else access,
        token_family=family or uuid.uuid4(),
        authorization_code_checksum=code_checksum,
        revoked=revoked,
    )
    set_token_value(refresh, secrets.token_urlsafe(32))
    refresh.save()
    return refresh


def _live(**filters) -> tuple[int, int]:
    return (
        RefreshToken.objects.filter(revoked__isnull=True, **filters).count(),
        AccessToken.objects.filter(**filters).count(),
    )


@pytest.fixture
def world():
    project, other_project = ProjectFactory(), ProjectFactory()
    ada, bob = UserFactory(), UserFactory()
    web, mobile, elsewhere = _client(project), _client(project, "Mobile"), _client(other_project)
    for user in (ada, bob):
        MembershipFactory(user=user, project=project)
        MembershipFactory(user=user, project=other_project)
        for client in (web, mobile, elsewhere):
            _pair(user=user, client=client)
    return {"project": project, "ada": ada, "bob": bob, "web": web, "mobile": mobile, "elsewhere": elsewhere}


def test_by_client(world):
    tokens_revoke(client=world["web"])
    assert _live(application=world["web"]) == (0, 0)
    assert _live(application=world["mobile"]) == (2, 2)
    assert _live(application=world["elsewhere"]) == (2, 2)


def test_by_user_and_client(world):
    tokens_revoke(user=world["ada"], client=world["web"])
    assert _live(application=world["web"], user=world["ada"]) == (0, 0)
    assert _live(application=world["web"], user=world["bob"]) == (1, 1)
    assert _live(user=world["ada"]) == (2, 2)


def test_by_user_and_project(world):
    tokens_revoke(user=world["ada"], project=world["project"])
    assert _live(user=world["ada"], application__project=world["project"]) == (0, 0)
    assert _live(user=world["ada"], application=world["elsewhere"]) == (1, 1)
    assert _live(user=world["bob"]) == (3, 3)


def test_by_authorization_code_takes_the_whole_family(world):
    """A replayed code: every token it produced, and every later rotation of them (RFC 9700 §4.2.4)."""
    ada, web = world["ada"], world["web"]
    family, checksum = uuid.uuid4(), "c" * 64
    first = _pair(user=ada, client=web, family=family, code_checksum=checksum, revoked=clock.now())
    rotated = _pair(user=ada, client=web, family=family)  # a rotation that lost the checksum
    tokens_revoke(client=web, authorization_code_checksum=checksum)
    rotated.refresh_from_db()
    assert rotated.revoked is not None
    assert not AccessToken.objects.filter(authorization_code_checksum=checksum).exists()
    assert RefreshToken.objects.get(pk=first.pk).revoked == first.revoked  # already revoked: untouched
    assert _live(application=web, user=world["bob"]) == (1, 1)
    assert _live(application=web, user=ada) == (1, 1)  # ada's other session on this client


def test_revocation_time_comes_from_the_clock(world, clock):
    clock.advance(timedelta(days=3))
    tokens_revoke(client=world["web"])
    assert set(RefreshToken.objects.filter(application=world["web"]).values_list("revoked", flat=True)) == {
        clock.now()
    }


def test_needs_a_filter():
    with pytest.raises(TypeError):
        tokens_revoke()


def _queries(action) -> int:
    with CaptureQueriesContext(connection) as captured:
        action()
    return len(captured.captured_queries)


def test_set_based_whatever_the_number_of_tokens(world):
    ada, web, mobile = world["ada"], world["web"], world["mobile"]
    few = _queries(lambda: tokens_revoke(user=ada, client=web))
    for _ in range(8):
        _pair(user=ada, client=mobile)
    many = _queries(lambda: tokens_revoke(user=ada, client=mobile))
    assert many == few


def test_deactivated_membership_revokes_set_based(world):
    """The receiver of accounts' membership_deactivated signal: no query per token."""
    ada, project = world["ada"], world["project"]
    membership = ada.memberships.select_related("user", "project").get(project=project)

    def deactivate():
        membership_deactivated.send(sender=type(membership), membership=membership, actor=Actor.system())

    few = _queries(deactivate)
    assert _live(user=ada, application__project=project) == (0, 0)
    assert _live(user=ada, application=world["elsewhere"]) == (1, 1)
    for _ in range(8):
        _pair(user=ada, client=world["web"])
    assert _queries(deactivate) == few
    assert _live(user=ada, application__project=project) == (0, 0)


def test_live_rows_sharing_a_checksum_do_not_break_revocation(world):
    """(token_checksum, revoked) is unique but NULLs are distinct: one shared timestamp would collide."""
    ada, web = world["ada"], world["web"]
    raw = secrets.token_urlsafe(32)
    for _ in range(2):
        twin = RefreshToken(user=ada, application=web, token_family=uuid.uuid4())
        set_token_value(twin, raw)
        twin.save()
    tokens_revoke(client=web)
    assert _live(application=web) == (0, 0)
