"""First start of several processes at once: one active signing key per algorithm, not one each.

In a cluster every node finds the key table empty on its first token request; without the
advisory lock each would create its own active key, and a node that cached its own key alone
would refuse ID tokens (logout hints) signed by the other.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from oauth import keys
from oauth.constants import SigningAlgorithm
from oauth.models import SigningKey, SigningKeyStatus

pytestmark = pytest.mark.django_db(transaction=True)


def test_processes_starting_together_create_one_active_key_per_algorithm(settings):
    if connection.vendor != "postgresql":
        pytest.skip("the advisory lock is PostgreSQL's; SQLite serialises writers by itself")
    settings.OIDC_SIGNING_KEY = ""
    SigningKey.objects.all().delete()
    starters = 4
    barrier = threading.Barrier(starters)
    errors: list[BaseException] = []

    def first_start() -> None:
        try:
            barrier.wait(timeout=30)
            keys._ensure_keys()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=first_start) for _ in range(starters)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    active = list(
        SigningKey.objects.filter(status=SigningKeyStatus.ACTIVE).values_list("algorithm", flat=True)
    )
    assert sorted(active) == sorted(SigningAlgorithm.values)


def test_first_start_waits_for_the_lock_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("the advisory lock is PostgreSQL's")
    statements: list[str] = []

    def record(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        keys._ensure_keys()
    assert any("pg_advisory_xact_lock" in sql for sql in statements)
