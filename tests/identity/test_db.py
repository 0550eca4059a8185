"""identity/db.py: the hot paths' statements are prepared once per connection on PostgreSQL, still
logged and translated like any query, and plain elsewhere or when turned off."""

from __future__ import annotations

import pytest
from django.db import DataError, connection
from django.test.utils import CaptureQueriesContext

from identity.db import prepared_cursor

pytestmark = pytest.mark.django_db

SQL = "SELECT %s::text || 'x' AS joined"


def prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_a_statement_is_prepared_once_and_then_reused():
    for value in ("a", "b", "c"):
        with CaptureQueriesContext(connection) as queries, prepared_cursor(connection) as cursor:
            cursor.execute(SQL, [value])
            assert cursor.fetchone() == (value + "x",)
        assert len(queries.captured_queries) == 1  # logged like any other query
    assert [s for s in prepared_statements() if "|| 'x'" in s] == ["SELECT $1::text || 'x' AS joined"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_nothing_is_prepared_when_turned_off(settings):
    settings.DB_PREPARED_STATEMENTS = False
    with prepared_cursor(connection) as cursor:
        cursor.execute("SELECT %s::text || 'off' AS joined", ["a"])
        assert cursor.fetchone() == ("aoff",)
    assert not [s for s in prepared_statements() if "'off'" in s]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_database_errors_are_translated_like_any_querys():
    with pytest.raises(DataError), prepared_cursor(connection) as cursor:
        cursor.execute("SELECT 1 / %s::int AS quotient", [0])


def test_elsewhere_it_is_the_ordinary_cursor(settings):
    settings.DB_PREPARED_STATEMENTS = False
    with prepared_cursor(connection) as cursor:
        cursor.execute("SELECT %s AS value", ["plain"])
        assert cursor.fetchone() == ("plain",)
