"""RFC 7662 token introspection, kept lean: it is the hottest endpoint of a resource server fleet.

One SQL query per call (token + client, with oauth/rules.py's user rule as an EXISTS), clients
from the short per-process cache, client secrets checked with the keyed hasher.
"""

from __future__ import annotations

import datetime
import json
import uuid

from django.http import HttpRequest

from identity.clock import clock
from identity.db import prepared_cursor
from oauth import client_auth
from oauth.app_settings import app_settings
from oauth.client_cache import client_cached
from oauth.errors import InvalidClient
from oauth.models import AccessToken, Client, RefreshToken
from oauth.rules import token_user_allowed, token_user_may_use_client
from oauth.tokens import access_token_audience, token_checksum
from oauth.validators import refresh_token_expired


def client_authenticate(request: HttpRequest) -> Client | None:
    """The confidential client that authenticated (secret or private_key_jwt assertion), else None."""

    def load(client_id: str) -> Client | None:
        client = client_cached(client_id)
        if client is None or not client.is_active or client.client_type != Client.CLIENT_CONFIDENTIAL:
            return None
        return client

    try:
        return client_auth.client_authenticate(
            authorization=request.META.get("HTTP_AUTHORIZATION", ""), params=request.POST, load_client=load
        )
    except InvalidClient:
        return None


_ACCESS_FIELDS = (
    "expires",
    "created",
    "scope",
    "jti",
    "user_id",
    "user_ok",
    "application__client_id",
    "application__project_id",
    "application__is_active",
    "launch_context",
)
_MARKER = "__introspection_checksum__"
_compiled: dict[str, tuple[str, list, int]] = {}


def _access_row(checksum: str) -> dict | None:
    """The access-token row, with the ORM's SQL compiled once per process and database vendor.

    Compiling the queryset costs more than running it; the statement never changes, only
    the checksum parameter does.
    """
    from django.db import connection

    compiled = _compiled.get(connection.vendor)
    if compiled is None:
        queryset = (
            AccessToken.objects.filter(token_checksum=_MARKER)
            .annotate(user_ok=token_user_allowed())
            .values(*_ACCESS_FIELDS)[:1]
        )
        sql, params = queryset.query.get_compiler(connection=connection).as_sql()
        compiled = (sql, list(params), list(params).index(_MARKER))
        _compiled[connection.vendor] = compiled
    sql, params, index = compiled
    params = list(params)
    params[index] = checksum
    with prepared_cursor(connection) as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    values = dict(zip(_ACCESS_FIELDS, row, strict=True))
    for name in ("expires", "created"):
        values[name] = _aware(values[name], connection)
    if isinstance(values["launch_context"], str | bytes):  # SQLite hands JSON back as text
        values["launch_context"] = json.loads(values["launch_context"] or "{}")
    for name in ("user_id", "application__project_id"):  # SQLite hands UUIDs back as hex text
        if values[name] is not None and not isinstance(values[name], uuid.UUID):
            values[name] = uuid.UUID(str(values[name]))
    return values


def _aware(value, connection):
    from django.utils import timezone as dj_timezone
    from django.utils.dateparse import parse_datetime

    if isinstance(value, str):  # SQLite returns text
        value = parse_datetime(value)
    if value is not None and dj_timezone.is_naive(value):
        value = dj_timezone.make_aware(value, datetime.UTC)
    return value


def _smart_claims(row: dict, caller: Client) -> dict:
    """SMART additions: the launch context's `patient` / `encounter`, and the user's `fhirUser`."""
    from accounts.selectors import membership_fhir_user

    context = row.get("launch_context") or {}
    claims = {name: context[name] for name in ("patient", "encounter") if context.get(name)}
    if row["user_id"] is not None and caller.project.fhir_base_url:
        if fhir_user := membership_fhir_user(user=row["user_id"], project=caller.project):
            claims["fhirUser"] = fhir_user
    return claims


def token_introspect(*, token: str, caller: Client, hint: str = "") -> dict | None:
    """Claims of an active token the caller may know about, else None (`active: false`).

    Inactive: unknown, expired, revoked; a deactivated user or membership, an unverified
    email, a disabled client; and any token of *another project* than the caller's.
    """
    if not token:
        return None
    checksum = token_checksum(token)
    if hint != "refresh_token":
        row = _access_row(checksum)
        if row is not None:
            if row["application__project_id"] != caller.project_id or not row["application__is_active"]:
                return None
            if row["expires"] <= clock.now() or not row["user_ok"]:
                return None
            client_id = row["application__client_id"]
            return {
                "scope": row["scope"],
                "client_id": client_id,
                "token_type": "Bearer",
                "sub": str(row["user_id"]) if row["user_id"] else f"client:{client_id}",
                "exp": int(row["expires"].timestamp()),
                "iat": int(row["created"].timestamp()),
                "iss": app_settings.ISSUER,
                "aud": access_token_audience(caller),
                "jti": row["jti"],
                "project": str(row["application__project_id"]),
                **_smart_claims(row, caller),
            }
    # Refresh tokens are introspected rarely: the plain ORM path and the token endpoint's own rules.
    refresh = (
        RefreshToken.objects.select_related("application", "user")
        .filter(token_checksum=checksum, revoked__isnull=True)
        .first()
    )
    if (
        refresh is None
        or refresh.application.project_id != caller.project_id
        or not refresh.application.is_active
    ):
        return None
    if not token_user_may_use_client(refresh):
        return None
    if refresh_token_expired(refresh, refresh.application):
        return None
    return {
        "client_id": refresh.application.client_id,
        "token_type": "refresh_token",
        "sub": str(refresh.user_id) if refresh.user_id else None,
        "iss": app_settings.ISSUER,
        "project": str(refresh.application.project_id),
    }
