"""The client-credentials grant's lean path: the hottest request of the token endpoint.

A plain, valid client-credentials request (grant_type and scope in the body, the client's secret in
a Basic header or the body, nothing else) is answered here with the same rules the full path
applies, asked through the same functions: the lockout (accounts.services.lockout), the client from
the short cache (oauth.client_cache), its secret (oauth.client_auth), its grant types, the scopes it
may get (oauth.granting.scopes_grant), the JWT (oauth.tokens.generate_access_token), the hashed
token row (oauth.tokens.token_checksum). What it skips is the machinery around them: oauthlib's
request object and DOT's extraction, and the ORM's compilation of the INSERT (compiled once per
process and database vendor, like introspection's SELECT).

Anything else (an unknown or locked client, a wrong secret, a refused scope, a client assertion,
a `resource`, an Origin header, a repeated parameter, ...) returns None, and the request takes the
full path (DOT + oauthlib + oauth.validators), which answers it exactly as before and counts a
failed authentication once. The answer of both paths is the same JSON with the same headers;
tests/oauth/test_hot_paths.py holds them to it.
"""

from __future__ import annotations

import json
from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import parse_qsl

from django.db import connections, router
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from oauth2_provider.models import set_token_value
from oauth2_provider.signals import app_authorized

from accounts.services import lockout
from identity.db import prepared_cursor
from oauth.client_auth import _client_authenticate, basic_credentials
from oauth.client_cache import client_cached
from oauth.constants import GrantType
from oauth.granting import scopes_grant
from oauth.models import AccessToken, Client
from oauth.tokens import access_token_lifetime, generate_access_token

_ALLOWED_PARAMETERS = frozenset({"grant_type", "scope", "client_id", "client_secret"})
_MAX_BODY = 4096
_compiled: dict[str, tuple[str, list]] = {}


def _parameters(request: HttpRequest) -> dict[str, str] | None:
    """The body's parameters when they are exactly a plain client-credentials request, else None."""
    if request.content_type != "application/x-www-form-urlencoded" or request.GET:
        return None
    body = request.body
    if len(body) > _MAX_BODY:
        return None
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        return None
    params = dict(pairs)
    if len(params) != len(pairs) or not set(params) <= _ALLOWED_PARAMETERS:
        return None  # a repeated parameter, or one the full path must look at
    if params.get("grant_type") != GrantType.CLIENT_CREDENTIALS or any("\x00" in v for v in params.values()):
        return None
    return params


def _client(request: HttpRequest, params: dict[str, str]) -> Client | None:
    """The client the request authenticates as by its secret, when it plainly does; else None."""
    authorization = request.META.get("HTTP_AUTHORIZATION", "")
    if authorization:
        if "client_secret" in params or "client_id" in params:
            return None
        credentials = basic_credentials(authorization)
    elif params.get("client_id") and params.get("client_secret"):
        credentials = (params["client_id"], params["client_secret"])
    else:
        return None
    if credentials is None or not credentials[0] or len(credentials[0]) > 255:
        return None
    keys = {lockout.CLIENT_ID: credentials[0]}
    if not lockout.attempt_check(scope=lockout.CLIENT, keys=keys, reuse_clear=True).allowed:
        return None

    def load(client_id: str) -> Client | None:
        client = client_cached(client_id)
        return client if client is not None and client.is_usable(request) else None

    try:  # the uncounted check: a failure takes the full path, which counts it once
        client = _client_authenticate(
            authorization=authorization,
            params={"client_id": params.get("client_id"), "client_secret": params.get("client_secret")},
            load_client=load,
        )
    except Exception:  # InvalidClient (and anything unexpected): the full path answers
        return None
    lockout.attempt_clear_remember(scope=lockout.CLIENT, keys=keys)
    if client.client_type != Client.CLIENT_CONFIDENTIAL:
        return None
    if GrantType.CLIENT_CREDENTIALS not in (client.allowed_grant_types or []):
        return None
    return client


def _insert(token: AccessToken) -> None:
    """INSERT the token row with the statement compiled once (the ORM's own SQL and field
    preparation: defaults, auto_now, the checksum of the hashed token)."""
    connection = connections[router.db_for_write(AccessToken)]
    fields = [f for f in AccessToken._meta.concrete_fields if not f.primary_key]
    compiled = _compiled.get(connection.vendor)
    if compiled is None:
        from django.db.models.sql import InsertQuery

        query = InsertQuery(AccessToken)
        query.insert_values(fields, [token], raw=False)
        [(sql, _params)] = query.get_compiler(connection=connection).as_sql()
        compiled = (sql, fields)
        _compiled[connection.vendor] = compiled
    sql, fields = compiled
    params = [f.get_db_prep_save(f.pre_save(token, True), connection) for f in fields]
    with prepared_cursor(connection) as cursor:
        cursor.execute(sql, params)


def client_credentials_response(request: HttpRequest) -> HttpResponse | None:
    """The token response for a plain, valid client-credentials request; None for the full path."""
    params = _parameters(request)
    if params is None or "HTTP_ORIGIN" in request.META or app_authorized.has_listeners():
        return None  # oauthlib answers CORS for allowed origins; DOT sends app_authorized
    client = _client(request, params)
    if client is None:
        return None
    scope = params.get("scope") or ""
    words = scope.split(" ") if scope else []
    if any(not word or any(c.isspace() for c in word) for word in words):
        return None  # oauthlib's own splitting (and its answer) for anything but single spaces
    requested = words or (client.allowed_scopes or "openid").split()  # oauthlib's default scopes
    decision = scopes_grant(client=client, requested=requested, grant_type=GrantType.CLIENT_CREDENTIALS)
    if decision.refusal:
        return None
    grant = SimpleNamespace(
        client=client, user=None, grant_type=GrantType.CLIENT_CREDENTIALS, scopes=list(decision.granted)
    )
    access_token = generate_access_token(grant)
    expires_in = access_token_lifetime(client)
    scope = " ".join(grant.scopes)
    row = AccessToken(
        user=None,
        scope=scope,
        expires=timezone.now() + timedelta(seconds=expires_in),
        application=client,
        resource=[],
        jti=grant.access_token_jti,
    )
    set_token_value(row, access_token)
    _insert(row)
    body = {"access_token": access_token, "expires_in": expires_in, "token_type": "Bearer", "scope": scope}
    response = HttpResponse(json.dumps(body), content_type="application/json")
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response
