"""Prepared statements for the hottest queries.

PostgreSQL plans every statement it receives: for the introspection query (a token, its client, its
user and the EXISTS of oauth.rules) planning took 0.5 ms against 0.05 ms to run it, more CPU than the
rest of an introspection. Django binds parameters client-side by default and psycopg then never
prepares, so the few statements the hot paths run over and over (each compiled once per process by
its module) go through `prepared_cursor`: on PostgreSQL with psycopg 3 a server-side binding cursor
that asks psycopg to prepare the statement, which it does once per connection and statement and
then only binds and executes (psycopg's `prepare=True`). Everywhere else (SQLite, or
`DB_PREPARED_STATEMENTS=0`, e.g. behind a PgBouncer older than 1.21 in transaction pooling mode) it
is the ordinary cursor. Either way the statement goes through Django's cursor wrapper, so query
logging, `CaptureQueriesContext` and database error translation are as for any query.

Only statements with explicit column lists belong here: a prepared `SELECT *` would fail after a
migration adds a column ("cached plan must not change result type").
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db.backends.base.base import BaseDatabaseWrapper


def _prepared_cursor_class():
    from django.db.backends.postgresql.base import ServerBindingCursor  # type: ignore[attr-defined]

    class PreparedCursor(ServerBindingCursor):
        """Every statement prepared once per connection (psycopg keeps them, up to prepared_max)."""

        def execute(
            self, query: Any, params: Any = None, *, prepare: bool | None = None, binary: bool | None = None
        ):
            return super().execute(query, params, prepare=True, binary=binary)

    return PreparedCursor


_cursor_class: type | None = None


def _prepares(connection: BaseDatabaseWrapper) -> bool:
    if connection.vendor != "postgresql" or not getattr(settings, "DB_PREPARED_STATEMENTS", True):
        return False
    from django.db.backends.postgresql.psycopg_any import is_psycopg3  # type: ignore[import-untyped]

    return is_psycopg3


@contextmanager
def prepared_cursor(connection: BaseDatabaseWrapper) -> Iterator[Any]:
    """A cursor (Django's wrapper) whose statements PostgreSQL plans once per connection."""
    global _cursor_class
    if not _prepares(connection):
        with connection.cursor() as cursor:
            yield cursor
        return
    if _cursor_class is None:
        _cursor_class = _prepared_cursor_class()
    # What BaseDatabaseWrapper.cursor() does, with our cursor class instead of create_cursor()'s.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        raw = _cursor_class(connection.connection)
    connection.validate_thread_sharing()
    wrapped = connection.make_debug_cursor(raw) if connection.queries_logged else connection.make_cursor(raw)
    with wrapped as cursor:
        yield cursor
