"""Shared fixtures.

Services: tests that need PostgreSQL, Redis or a browser call `require_service(...)`,
which skips with a reason when the service is absent, or fails when
REQUIRE_SERVICES=1 (CI) so that nothing is silently skipped there.
"""

from __future__ import annotations

import os
import shutil

import pytest
from django.test import Client

from audit.context import Actor
from tests.factories import (
    AccessPolicyFactory,
    MembershipFactory,
    ProjectFactory,
    UserFactory,
)


def require_service(available: bool, reason: str, *, flag: str = "REQUIRE_SERVICES") -> None:
    if available:
        return
    if os.environ.get(flag) == "1":
        pytest.fail(f"{reason} ({flag}=1 turns this skip into a failure)")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    # Argon2 is deliberately slow; tests of hashing itself override this.
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "oauth.hashers.KeyedSHA256SecretHasher",
    ]


@pytest.fixture
def redis_url() -> str:
    """A reachable Redis URL (REDIS_URL), or skip/fail."""
    url = os.environ.get("REDIS_URL", "")
    ok = False
    if url:
        import redis

        try:
            redis.Redis.from_url(url, socket_connect_timeout=1).ping()
            ok = True
        except Exception:  # any failure means unavailable
            ok = False
    require_service(ok, "Redis is not available (set REDIS_URL to a running server)")
    return url


@pytest.fixture
def redis_server_binary() -> str:
    path = shutil.which("redis-server") or ""
    require_service(bool(path), "redis-server is not installed")
    return path


@pytest.fixture
def project(db):
    return ProjectFactory()


@pytest.fixture
def other_project(db):
    return ProjectFactory()


@pytest.fixture
def owner(project):
    return MembershipFactory(project=project, role="owner").user


@pytest.fixture
def admin_membership(project, owner):
    return MembershipFactory(project=project, role="admin")


@pytest.fixture
def admin_user(admin_membership):
    return admin_membership.user


@pytest.fixture
def member_membership(project):
    return MembershipFactory(project=project, role="member")


@pytest.fixture
def admin_client(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


@pytest.fixture
def member_client(member_membership) -> Client:
    client = Client()
    client.force_login(member_membership.user)
    return client


@pytest.fixture
def policy(project):
    return AccessPolicyFactory(project=project)


@pytest.fixture
def foreign_membership(other_project):
    """A membership in a project the admin fixtures do not belong to."""
    MembershipFactory(project=other_project, role="owner")
    return MembershipFactory(project=other_project)


@pytest.fixture
def foreign_policy(other_project):
    return AccessPolicyFactory(project=other_project)


@pytest.fixture
def actor_for():
    def make(user) -> Actor:
        return Actor(user=user, ip_address="203.0.113.7", user_agent="pytest")

    return make


@pytest.fixture
def user_factory(db):
    return UserFactory


@pytest.fixture
def clock():
    """The application clock (identity.clock), frozen at the real now; advance it instead of sleeping."""
    from identity.clock import clock as app_clock

    app_clock.freeze()
    yield app_clock
    app_clock.reset()


@pytest.fixture
def sent_links(mailoutbox):
    """Set-password links from the emails sent so far, oldest first."""
    import re

    def links() -> list[str]:
        found = []
        for message in mailoutbox:
            found += re.findall(r"https?://\S+/setpassword/[0-9a-f-]{36}/[A-Za-z0-9_-]+", message.body)
        return found

    return links


@pytest.fixture(autouse=True)
def _clear_cache():
    """Rate limits live in the cache; every test starts with fresh counters."""
    from django.core.cache import cache

    from accounts.services import lockout

    cache.clear()
    lockout.attempt_clear_forget()  # this process's memory of clear verdicts goes with the counters
    yield


@pytest.fixture(autouse=True)
def _close_broker_breaker():
    from notifications.delivery import broker_breaker

    broker_breaker.reset()
    yield
    broker_breaker.reset()


@pytest.fixture(autouse=True)
def _celery_in_process(settings):
    """Unit tests run tasks in-process; tests/notifications/test_delivery_integration.py uses a real worker."""
    from identity.celery import app

    was = (app.conf.task_always_eager, app.conf.broker_url)
    settings.CELERY_TASK_ALWAYS_EAGER = True
    app.conf.update(task_always_eager=True, broker_url="memory://")
    yield
    app.conf.update(task_always_eager=was[0], broker_url=was[1])


@pytest.fixture(autouse=True)
def _fresh_signing_key_cache():
    """Signing keys are cached per process; tests that empty the database must not see stale keys."""
    from oauth import keys
    from oauth.client_cache import client_cache_forget

    keys._cache.update(at=0.0, keys=None)
    client_cache_forget()
    yield
    keys._cache.update(at=0.0, keys=None)
    client_cache_forget()


@pytest.fixture(scope="session")
def live_server(live_server):
    """pytest-django's live server, whose connection threads end when it stops (tests/support/live_server.py)."""
    from tests.support.live_server import connections_closed_on_exit

    with connections_closed_on_exit(live_server.thread.httpd):
        yield live_server


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """No persistent connections in tests: live-server threads must not hold the test database open."""
    from django.conf import settings

    for database in settings.DATABASES.values():
        database["CONN_MAX_AGE"] = 0
