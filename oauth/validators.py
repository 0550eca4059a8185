"""Our policy at DOT's one seam for it (OAUTH2_VALIDATOR_CLASS).

On top of DOT: per-client grant and scope allow-lists, a retiring client secret
during rotation, refresh-token absolute + idle expiry, revocation of everything an
authorization code produced when that code is replayed, tokens that stop working the
moment a user, membership or client is deactivated, unverified accounts refused,
RFC 9068 claims recorded, and RFC 7662 introspection with project and audience.

Written against django-oauth-toolkit 3.4.1 and oauthlib 4.0.1. Public hooks (oauthlib's
RequestValidator methods) are preferred; the few private DOT methods still overridden or
called are marked "DOT-private" below, and tests/oauth/test_library_seams.py fails when
an upgrade changes them.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta

from django.db import connections, router, transaction
from django.db.models import F, Min, OuterRef, Subquery
from django.utils import timezone
from oauth2_provider.exceptions import FatalClientError
from oauth2_provider.models import refresh_token_expire_timedelta
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.settings import oauth2_settings
from oauthlib.oauth2.rfc6749 import errors, utils

from identity.clock import clock
from identity.db import prepared_cursor
from oauth.app_settings import app_settings
from oauth.authn_context import acr_of
from oauth.client_auth import CLIENT_AUTH_PARAMETERS, client_authenticate, presents_assertion
from oauth.constants import GrantType
from oauth.granting import scopes_grant
from oauth.models import AccessToken, Client, Grant, IDToken, RefreshToken
from oauth.rules import email_verified, token_user_may_use_client, user_client_standing
from oauth.services import tokens_revoke
from oauth.tokens import token_checksum


def _grant_type_of(request) -> str:
    """The grant being validated. oauthlib's Request answers any attribute from the request's
    parameters, so `grant_type` is only believed at the token endpoint (where it is the body's
    own field); at the authorization endpoint it is always the code grant."""
    from urllib.parse import urlsplit

    from django.urls import reverse

    if urlsplit(request.uri or "").path == reverse("oauth:token"):
        return str(request.grant_type or "")
    return GrantType.AUTHORIZATION_CODE


def _set_launch_context(request, context: dict) -> None:
    """Carry a SMART launch context onto the tokens issued now: stored with them
    (`_launch_context`) and returned in the token response (`patient`, `encounter`,
    `need_patient_banner`, `smart_style_url`)."""
    request._launch_context = dict(context)
    if context:
        style = {"smart_style_url": f"{app_settings.ISSUER}/smart-style.json"}
        request.extra_credentials = {**(request.extra_credentials or {}), **context, **style}


class _LostRace(errors.InvalidGrantError):
    """invalid_grant raised while the tokens are saved: a concurrent request used the code or
    refresh token up first. Past oauthlib's validation, whose errors get its JSON headers, so
    this one carries them itself (DOT answers with the error's own headers)."""

    @property
    def headers(self):
        return {"Content-Type": "application/json", "Cache-Control": "no-store", "Pragma": "no-cache"}


def refresh_token_expired(
    rt: RefreshToken, client: Client, *, check_idle: bool = True, family_started: datetime | None = None
) -> bool:
    """Idle expiry (unused too long) and absolute expiry (family older than its lifetime).

    `family_started`: when the token's family began, if the caller read it with the token
    (`_refresh_token_row`); else it is read here."""
    now = clock.now()
    idle = client.refresh_token_idle_lifetime or app_settings.REFRESH_TOKEN_IDLE_LIFETIME
    absolute = client.refresh_token_lifetime or app_settings.REFRESH_TOKEN_LIFETIME
    if check_idle and rt.created + timedelta(seconds=idle) <= now:
        return True
    started = family_started or rt.created
    if family_started is None and rt.token_family:
        family = RefreshToken.objects.filter(token_family=rt.token_family)
        started = family.aggregate(m=Min("created"))["m"] or rt.created
    return started + timedelta(seconds=absolute) <= now


_MARKER = "__compiled_read_value__"
_compiled_reads: dict[tuple[str, str], tuple] = {}


def _compiled_read(name: str, connection, build) -> tuple:
    """A row read of the token endpoint, its SQL compiled by the ORM once per process and database
    vendor: compiling a SELECT of several tables' columns costs more CPU than running it (40 % of
    a refresh's CPU for the refresh token's). `build()` returns the models joined (model, field
    prefix) and a queryset of their columns, then any annotations (`values_list`), filtered on
    `_MARKER`. Kept: the SQL, where the value goes, and each column's converters (the ORM's:
    JSON text, SQLite's types)."""
    compiled = _compiled_reads.get((name, connection.vendor))
    if compiled is None:
        parts, annotations, queryset = build()
        sql, params = queryset.query.get_compiler(connection=connection).as_sql()
        params = list(params)
        layout = [(model, list(model._meta.concrete_fields)) for model, _ in parts]
        columns = [field for _, fields in layout for field in fields] + list(annotations)
        converters = []
        for field in columns:
            col = field.get_col(field.model._meta.db_table)
            converters.append(
                (col, field.get_db_converters(connection) + connection.ops.get_db_converters(col))
            )
        compiled = (sql, params, params.index(_MARKER), layout, converters)
        _compiled_reads[(name, connection.vendor)] = compiled
    return compiled


def _read_row(name: str, value, build, model) -> tuple[list, list] | None:
    """The instances of the joined models (None for an outer join's empty side), built by
    Model.from_db, and the annotations' values; None without a row."""
    connection = connections[router.db_for_read(model)]
    sql, params, at, layout, converters = _compiled_read(name, connection, build)
    params = list(params)
    params[at] = value
    with prepared_cursor(connection) as cursor:  # planned once per connection (identity/db.py)
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    values = []
    for value, (col, column_converters) in zip(row, converters, strict=True):
        for convert in column_converters:
            value = convert(value, col, connection)
        values.append(value)
    instances, offset = [], 0
    for joined, fields in layout:
        chunk = values[offset : offset + len(fields)]
        offset += len(fields)
        present = chunk[fields.index(joined._meta.pk)] is not None
        instances.append(
            joined.from_db(connection.alias, [f.attname for f in fields], chunk) if present else None
        )
    return instances, values[offset:]


def _names(parts) -> list[str]:
    return [prefix + field.attname for model, prefix in parts for field in model._meta.concrete_fields]


def _refresh_read():
    from django.contrib.auth import get_user_model

    parts = ((RefreshToken, ""), (AccessToken, "access_token__"), (get_user_model(), "user__"))
    family_start = RefreshToken.objects.filter(token_family=OuterRef("token_family")).order_by("created")
    queryset = (
        RefreshToken.objects.annotate(family_started=Subquery(family_start.values("created")[:1]))
        .filter(token_checksum=_MARKER)
        .order_by(F("revoked").desc(nulls_first=True))
        .values_list(*_names(parts), "family_started")[:1]
    )
    return parts, [RefreshToken._meta.get_field("created")], queryset


def _refresh_token_row(refresh_token: str) -> RefreshToken | None:
    """The refresh token presented, with its access token, its user and when its family began
    (`family_started`), in one query. DOT's choice of row: several rows may share a checksum
    (uniqueness is (token_checksum, revoked)), so the unrevoked one, else the most recently revoked."""
    read = _read_row("refresh_token", token_checksum(refresh_token), _refresh_read, RefreshToken)
    if read is None:
        return None
    (rt, access_token, user), (family_started,) = read
    rt.access_token, rt.user = access_token, user  # the related rows, cached on the token
    rt.family_started = family_started
    return rt


def _grant_read():
    from django.contrib.auth import get_user_model

    parts = ((Grant, ""), (get_user_model(), "user__"))
    return parts, [], Grant.objects.filter(code=_MARKER).values_list(*_names(parts))[:1]


def _grant_row(code: str) -> Grant | None:
    """The grant of an authorization code, with its user, in one query (codes are unique)."""
    read = _read_row("grant", code, _grant_read, Grant)
    if read is None:
        return None
    (grant, user), _ = read
    grant.user = user
    return grant


def _user_standing(request, user, client) -> bool:
    """oauth.rules' rule for the grant's user, asked once per token request; the ID token's
    `email_verified` comes with the answer (remembered for this request and this user only)."""
    standing = user_client_standing(user=user, client=client)
    request._email_verified_of = (user.pk, standing.email_verified)
    return standing.allowed


def _email_verified_claim(request) -> bool:
    remembered = request.__dict__.get("_email_verified_of")
    if remembered is not None and remembered[0] == request.user.pk:
        return remembered[1]
    return email_verified(request.user)  # userinfo, and anything that did not ask the rule


class Validator(OAuth2Validator):
    # DOT-private (3.4.1), replaced whole: DOT looks clients up through this from several
    # public methods (authenticate_client_id, client_authentication_required, ...), so no public
    # hook covers every lookup. Ours skips DOT's CIMD resolution (client ids are never URLs here).
    def _load_application(self, client_id, request):
        """DOT's lookup, served from the short per-process client cache (oauth/client_cache.py)."""
        from oauth.client_cache import client_cached

        if (
            isinstance(request.client, Client)
            and request.client.client_id == client_id
            and request.client.is_usable(request)
        ):
            return request.client
        client = client_cached(client_id) if client_id else None
        if client is None or not client.is_usable(request):
            return None
        request.client = client
        return client

    # --- client authentication ------------------------------------------------
    def authenticate_client(self, request, *args, **kwargs):
        """RFC 6749 §2.3.1 and RFC 7523 §2.2, the same way introspection authenticates
        (oauth/client_auth.py).

        oauthlib's public hook, replacing DOT's private Basic/body helpers: a secret (Basic
        header, else the body; the current one or, during rotation, the retiring one) or a
        signed client assertion (private_key_jwt). A refusal is oauthlib's invalid_client
        carrying what was wrong.
        """
        from oauth.errors import InvalidClient

        try:
            client = client_authenticate(
                authorization=request.headers.get("Authorization", ""),
                params={name: getattr(request, name, None) for name in CLIENT_AUTH_PARAMETERS},
                load_client=lambda client_id: self._load_application(client_id, request),
            )
        except InvalidClient as failure:
            raise errors.InvalidClientError(description=failure.description, request=request) from None
        request.client = client
        return True

    def client_authentication_required(self, request, *args, **kwargs):
        """DOT's answer, and always for a request with a client assertion: its client_id is
        optional (RFC 7523 §3), so DOT could not tell the client is confidential."""
        if presents_assertion({name: getattr(request, name, None) for name in CLIENT_AUTH_PARAMETERS}):
            return True
        return super().client_authentication_required(request, *args, **kwargs)

    # --- grants and scopes ------------------------------------------------------
    def validate_grant_type(self, client_id, grant_type, client, request, *args, **kwargs):
        return grant_type in (client.allowed_grant_types or [])

    def validate_response_type(self, client_id, response_type, client, request, *args, **kwargs):
        if response_type != "code":
            # oauthlib hands unknown response types to the default (code) grant; say what it is.
            raise errors.UnsupportedResponseTypeError(request=request)
        return GrantType.AUTHORIZATION_CODE in (client.allowed_grant_types or [])

    def validate_scopes(self, client_id, scopes, client, request, *args, **kwargs):
        """What may be granted (oauth/granting.py) becomes `request.scopes`: oauthlib issues the
        code or token with it, and the token response's `scope` says so. A scope that is not
        understood, or a named scope the client may not ask for, refuses the request
        (invalid_scope, saying which); resource scopes are narrowed, and if nothing is left the
        request is refused too."""
        from oauthlib.oauth2.rfc6749.errors import InvalidScopeError

        user = request.__dict__.get("user")
        user_known = user is not None and getattr(user, "pk", None) is not None
        decision = scopes_grant(
            client=client,
            requested=scopes,
            grant_type=_grant_type_of(request),
            user=user if user_known else None,
            user_known=user_known,
        )
        if decision.refusal:
            raise InvalidScopeError(description=decision.refusal, request=request)
        request.scopes = decision.granted
        return True

    def get_default_scopes(self, client_id, request, *args, **kwargs):
        client = request.client or Client.objects.get(client_id=client_id)
        if client.allowed_scopes:
            return client.allowed_scopes.split()
        return ["openid"]

    # prompt=none: oauthlib asks these while validating; the view decides (login_required is
    # answered by DOT for anonymous users, consent_required by AuthorizeView).
    def validate_silent_login(self, request) -> bool:
        return True

    def validate_silent_authorization(self, request) -> bool:
        return True

    # --- authorization codes -----------------------------------------------------
    # oauthlib asks for the code's grant through six hooks at the token endpoint; DOT (3.4.1) reads
    # the row again in each. These read it once per request (`_grant`) and answer as DOT's do
    # (tests/oauth/test_library_seams.py fingerprints DOT's versions).
    def _grant(self, code, request) -> Grant | None:
        """The grant of `code` (any client: each hook checks its own), with its user, read once."""
        read = request.__dict__.get("_grant_read")
        if read is None or read[0] != code:
            read = (code, _grant_row(code))
            request._grant_read = read
        return read[1]

    def _client_grant(self, code, client, request) -> Grant | None:
        grant = self._grant(code, request)
        return (
            grant if grant is not None and client is not None and grant.application_id == client.pk else None
        )

    def get_authorization_code_scopes(self, client_id, code, redirect_uri, request):
        grant = self._grant(code, request)
        return utils.scope_to_list(grant.scope) if grant is not None and grant.scope else []

    def get_authorization_code_nonce(self, client_id, code, redirect_uri, request):
        grant = self._grant(code, request)
        return grant.nonce if grant is not None and grant.nonce else None

    def get_code_challenge(self, code, request):
        grant = self._client_grant(code, request.client, request)
        if grant is None:
            return super().get_code_challenge(code, request)  # DOT's answer (DoesNotExist)
        return grant.code_challenge or None

    def get_code_challenge_method(self, code, request):
        grant = self._client_grant(code, request.client, request)
        if grant is None:
            return super().get_code_challenge_method(code, request)
        return grant.code_challenge_method or None

    def confirm_redirect_uri(self, client_id, code, redirect_uri, client, *args, **kwargs):
        request = args[0] if args else kwargs.get("request")
        grant = self._client_grant(code, client, request) if request is not None else None
        if grant is None:
            return super().confirm_redirect_uri(client_id, code, redirect_uri, client, *args, **kwargs)
        return grant.redirect_uri_allowed(redirect_uri)

    def validate_code(self, client_id, code, client, request, *args, **kwargs):
        grant = self._client_grant(code, client, request)
        if grant is None or grant.is_expired():
            # A replayed code (RFC 6749 §4.1.2, RFC 9700 §4.2.4): revoke all it produced.
            tokens_revoke(client=client, authorization_code_checksum=token_checksum(code))
            return False
        # DOT's (3.4.1) on the grant read once.
        request.scopes = grant.scope.split(" ")
        request.user = grant.user
        if grant.nonce:
            request.nonce = grant.nonce
        if grant.claims:
            request.claims = json.loads(grant.claims)
        if not _user_standing(request, grant.user, client):
            return False
        request.authorization_code_checksum = token_checksum(code)
        _set_launch_context(request, grant.launch_context or {})
        # Private names: oauthlib's Request answers unknown attributes from the request's own
        # parameters, so `request.idp` on a refresh would be whatever the client POSTed.
        request._grant_sid, request._grant_amr, request._grant_idp = (
            grant.sid or "",
            list(grant.amr or []),
            grant.idp or "",
        )
        request._grant_auth_time = grant.auth_time
        return True

    def invalidate_authorization_code(self, client_id, code, request, *args, **kwargs):
        """The code was used up in the transaction that issued its tokens (`_save_user_tokens`)."""
        if request.__dict__.get("_code_claimed") == code:
            return
        super().invalidate_authorization_code(client_id, code, request, *args, **kwargs)

    # DOT-private (3.4.1), replaced whole: for the code grant DOT reads the grant again for its
    # RFC 8707 `resource`; validate_code has it. The rest is DOT's, line for line.
    def _check_and_set_request_resource(self, request):
        grant = (
            self._client_grant(request.code, request.client, request)
            if request.grant_type == "authorization_code"
            else None
        )
        if grant is None:
            return super()._check_and_set_request_resource(request)
        resource = getattr(request, "resource", None)
        if isinstance(resource, str):
            body_values = [
                value for key, value in (getattr(request, "decoded_body", None) or []) if key == "resource"
            ]
            if len(body_values) > 1:
                resource = body_values
        if isinstance(resource, list):
            request.resource = resource or []
        elif resource and isinstance(resource, str) and resource.strip():
            request.resource = [resource]
        else:
            request.resource = []
        self._validate_resource_uris(request, request.resource)
        grant_resource = grant.resource or []
        if request.resource and grant_resource:
            for res in request.resource:
                if res not in grant_resource:
                    raise errors.CustomOAuth2Error(
                        error="invalid_target",
                        description=(
                            f"The requested resource '{res}' is not allowed. "
                            "Token request cannot escalate resource permissions beyond the "
                            "original authorization grant"
                        ),
                        request=request,
                    )
        elif grant_resource:
            self._validate_resource_uris(request, grant_resource)
            request.resource = grant_resource

    # --- tokens -------------------------------------------------------------------
    # DOT-private (3.4.1), replaced whole, calling DOT-private _load_id_token and _set_token_value:
    # the `jti` and code checksum go into the one INSERT. A public hook (save_bearer_token) could
    # only add them with a second statement on the client-credentials hot path.
    def _create_access_token(self, expires, request, token, source_refresh_token=None):
        """DOT's, plus the JWT's `jti` and the code it descends from, written in the same INSERT."""
        id_token = token.get("id_token", None)
        if id_token:
            # finalize_id_token made the row: saved here, in the transaction of the tokens, rather
            # than on its own (one commit less) or verified and read back.
            made = request.__dict__.get("id_token")
            if isinstance(made, IDToken):
                if made.pk is None:
                    made.save()
                id_token = made
            else:
                id_token = self._load_id_token(id_token)
        code_checksum = request.__dict__.get("authorization_code_checksum", "")
        access_token = AccessToken(
            user=request.user,
            scope=token["scope"],
            expires=expires,
            id_token=id_token,
            application=request.client,
            source_refresh_token=source_refresh_token,
            resource=getattr(request, "resource", []),
            jti=getattr(request, "access_token_jti", None),
            authorization_code_checksum=code_checksum,
            launch_context=request.__dict__.get("_launch_context") or {},
            sid=request.__dict__.get("_grant_sid") or "",
        )
        self._set_token_value(access_token, token["access_token"])
        access_token.save()
        return access_token

    def save_authorization_code(self, client_id, code, request, *args, **kwargs):
        """DOT's (its _create_authorization_code, 3.4.1, mirrored line for line and fingerprinted in
        tests/oauth/test_library_seams.py), plus the session (`sid`), when and how the user last
        authenticated and the launch context, in the same INSERT (DOT's INSERT and our UPDATE
        of it were two statements)."""
        from django.utils.dateparse import parse_datetime
        from oauth2_provider.bcp import bcp_compliant

        expires = timezone.now() + timedelta(seconds=oauth2_settings.AUTHORIZATION_CODE_EXPIRE_SECONDS)
        if request.code_challenge_method == "plain" and bcp_compliant(
            "COMPLIANT_BCP_RFC9700_PKCE_METHOD",
            'The PKCE "plain" code_challenge_method',
        ):
            raise errors.InvalidRequestError(
                description='Unsupported "plain" code_challenge_method; use "S256".',
                request=request,
            )
        Grant.objects.create(
            application=request.client,
            user=request.user,
            code=code["code"],
            expires=expires,
            redirect_uri=request.redirect_uri,
            scope=" ".join(request.scopes),
            code_challenge=request.code_challenge or "",
            code_challenge_method=request.code_challenge_method or "",
            nonce=request.nonce or "",
            claims=json.dumps(request.claims or {}),
            resource=getattr(request, "resource", []),  # RFC 8707
            # Ours, copied onto the request from AuthorizeView's credentials.
            sid=getattr(request, "sid", "") or "",
            auth_time=parse_datetime(getattr(request, "auth_time", "") or ""),
            amr=list(getattr(request, "amr", None) or []),
            idp=getattr(request, "idp", "") or "",
            # Set by AuthorizeView's credentials only (never read from request parameters).
            launch_context=request.__dict__.get("launch_context") or {},
        )

    def save_bearer_token(self, token, request, *args, **kwargs):
        """The tokens of a grant, in one transaction.

        Client credentials: DOT's body alone (see below). The code and refresh grants:
        `_save_user_tokens` (DOT's rotation, without its re-reads). Anything else (rotation
        switched off): DOT's."""
        if not token.get("refresh_token") and request.grant_type == GrantType.CLIENT_CREDENTIALS:
            # DOT-private (3.4.1), called: for client credentials DOT's body is one INSERT (no
            # refresh token, no earlier row to revoke), atomic on its own; DOT's transaction
            # around it would only add BEGIN and COMMIT round trips to the hot path.
            return self._save_bearer_token(token, request, *args, **kwargs)
        if request.grant_type in (GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN) and (
            self.rotate_refresh_token(request)
        ):
            with transaction.atomic(using=router.db_for_write(AccessToken)):
                return self._save_user_tokens(token, request)
        return super().save_bearer_token(token, request, *args, **kwargs)

    def _save_user_tokens(self, token, request) -> None:
        """DOT's _save_bearer_token (3.4.1) for the code and refresh grants with rotation, on the
        rows validation read, each old row claimed by one conditional write.

        DOT re-reads and locks the refresh token and its access token, then revoke() reads and
        locks the refresh token again, reads the access token again and deletes it through the
        ORM's collector (a SELECT and an UPDATE more). Here: the code is used up by deleting its
        grant, the refresh token by marking it revoked where it is not yet; whoever gets 0 rows
        lost a race to a concurrent request for the same code or token, and gets invalid_grant
        (DOT would have issued a second set for the code, or answered with the other request's
        tokens, which hashed storage cannot return). Locks are taken in DOT's order: refresh
        token, then access token. The ID token finalize_id_token made is written here too.
        """
        if "scope" not in token:
            raise FatalClientError("Failed to renew access token: missing scope")
        self._check_and_set_request_resource(request)
        expires = timezone.now() + timedelta(
            seconds=token.get("expires_in", oauth2_settings.ACCESS_TOKEN_EXPIRE_SECONDS)
        )
        previous = None
        if request.grant_type == GrantType.AUTHORIZATION_CODE:
            self._use_up_code(request)
        elif isinstance(request.__dict__.get("refresh_token_instance"), RefreshToken):
            previous = request.refresh_token_instance
            self._use_up_refresh_token(previous, request)
        access_token = self._create_access_token(expires, request, token, source_refresh_token=previous)
        if token.get("refresh_token"):
            self._create_refresh_token(request, token["refresh_token"], access_token, previous)

    def _use_up_code(self, request) -> None:
        grant = self._client_grant(request.code, request.client, request)
        used = Grant.objects.filter(pk=grant.pk).delete()[0] if grant is not None else 0
        if not used:
            raise _LostRace(request=request)
        request._code_claimed = request.code

    def _use_up_refresh_token(self, rt: RefreshToken, request) -> None:
        """Revoke the presented refresh token and delete its access token (DOT's
        RefreshToken.revoke(), rotation's way of retiring the pair)."""
        now = timezone.now()
        revoked = RefreshToken.objects.filter(pk=rt.pk, revoked__isnull=True).update(
            revoked=now, updated=now, access_token=None
        )
        if not revoked:
            raise _LostRace(request=request)
        if rt.access_token_id is not None:
            # Nothing else points at an access token (the refresh token's pointer was cleared
            # above), so a plain DELETE does what the ORM's collector would in three statements.
            connection = connections[router.db_for_write(AccessToken)]
            quote = connection.ops.quote_name
            with connection.cursor() as cursor:
                table, column = quote(AccessToken._meta.db_table), quote(AccessToken._meta.pk.column)
                cursor.execute(f"DELETE FROM {table} WHERE {column} = %s", [rt.access_token_id])  # noqa: S608 (names from the model)
        rt.revoked, rt.access_token = now, None
        request.refresh_token_instance = None  # as DOT leaves it after revoke()

    # DOT-private (3.4.1), replaced whole (like _create_access_token): the new refresh token records
    # the code it descends from, the launch context and session of its grant and, for a concurrent
    # refresh, joins the family of the token it stands in for, in the same INSERT.
    def _create_refresh_token(self, request, refresh_token_code, access_token, previous_refresh_token):
        """DOT's, plus what the token carries from its grant, written in the same INSERT."""
        sibling_of = request.__dict__.get("grace_refresh_token")
        if sibling_of is not None and sibling_of.token_family:
            token_family = sibling_of.token_family
        elif previous_refresh_token:
            token_family = previous_refresh_token.token_family
        else:
            token_family = uuid.uuid4()
        refresh_token = RefreshToken(
            user=request.user,
            application=request.client,
            access_token=access_token,
            token_family=token_family,
            resource=getattr(request, "resource", []),  # RFC 8707
            authorization_code_checksum=request.__dict__.get("authorization_code_checksum") or "",
            launch_context=request.__dict__.get("_launch_context") or {},
            sid=request.__dict__.get("_grant_sid") or "",
        )
        self._set_token_value(refresh_token, refresh_token_code)
        refresh_token.save()
        return refresh_token

    def _concurrent_refresh(self, rt: RefreshToken, refresh_token, client, request) -> bool:
        """Two refreshes of one token racing from the same client (RFC 9700 §4.14.2 leeway).

        DOT's own grace period returns the token pair issued to the first request, which it
        cannot do with hashed token storage. Instead, within OAUTH_REFRESH_GRACE_SECONDS of a
        rotation, the just-superseded token gets a fresh pair *in the same family*: a later
        replay (after the window) still revokes every branch of that family.
        """
        grace = app_settings.REFRESH_GRACE_SECONDS
        if grace <= 0 or rt.revoked is None or rt.application_id != client.pk:
            return False
        if rt.revoked + timedelta(seconds=grace) <= clock.now():
            return False
        superseding = AccessToken.objects.filter(source_refresh_token=rt).first()
        if superseding is None or not _user_standing(request, rt.user, client):
            return False  # revoked on purpose (RFC 7009), not rotated: never honoured
        if refresh_token_expired(rt, client, check_idle=False, family_started=rt.family_started):
            return False
        request.user = rt.user
        request.refresh_token = refresh_token
        request.refresh_token_instance = None
        request.grace_refresh_token = rt
        request.grace_scopes = superseding.scope.split()
        request.authorization_code_checksum = rt.authorization_code_checksum
        _set_launch_context(request, rt.launch_context or {})
        request._grant_sid = rt.sid
        return True

    def get_original_scopes(self, refresh_token, request, *args, **kwargs):
        """The scopes a refresh may carry: the original ones, cut again to what the user's
        access policy allows *now* (a narrowed policy applies to refreshed tokens too)."""
        if request.__dict__.get("grace_refresh_token") is not None:
            original = request.__dict__["grace_scopes"]
        else:
            original = super().get_original_scopes(refresh_token, request, *args, **kwargs)
        user = request.__dict__.get("user")
        if user is None or getattr(user, "pk", None) is None:
            return original
        decision = scopes_grant(
            client=request.client, requested=original, grant_type=GrantType.AUTHORIZATION_CODE, user=user
        )
        return [scope for scope in decision.granted if scope in original]

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs):
        """DOT's checks (3.4.1; fingerprinted in tests/oauth/test_library_seams.py) on one read
        of the token with its access token, user and family start, then ours: idle and absolute
        expiry, the token-user rule. A revoked token that is not a concurrent refresh in the
        window goes to DOT's own method, whose reuse protection revokes its family."""
        rt = _refresh_token_row(refresh_token)
        if rt is None:
            return False
        if rt.revoked is not None:
            if self._concurrent_refresh(rt, refresh_token, client, request):
                return True
            return super().validate_refresh_token(refresh_token, client, request, *args, **kwargs)
        if rt.access_token is None:
            return False  # DOT: an orphan, nothing left to refresh against
        expire_delta = refresh_token_expire_timedelta()
        if expire_delta and rt.access_token.expires + expire_delta <= timezone.now():
            return False
        request.user = rt.user
        request.refresh_token = refresh_token
        request.refresh_token_instance = rt
        if rt.application_id != client.pk:
            return False
        if refresh_token_expired(rt, client, family_started=rt.family_started):
            return False
        request.authorization_code_checksum = rt.authorization_code_checksum  # the new pair keeps it
        _set_launch_context(request, rt.launch_context or {})  # and so does the launch context
        request._grant_sid = rt.sid  # and the session it began in (ID token `sid`, logout)
        return _user_standing(request, rt.user, client)

    def validate_bearer_token(self, token, scopes, request):
        if not super().validate_bearer_token(token, scopes, request):
            return False
        if not token_user_may_use_client(request.access_token):
            request.oauth2_error = {
                "error": "invalid_token",
                "error_description": "The access token is no longer valid.",
            }
            return False
        return True

    # --- OpenID Connect -------------------------------------------------------------
    def get_oidc_issuer_endpoint(self, request):
        return app_settings.ISSUER

    def finalize_id_token(self, id_token, token, token_handler, request):
        """DOT's, but every ID token carries its key id (DOT sets `kid` for RS256 only)."""
        from oauth.keys import jws_sign, signing_key_active

        claims, expiration_time = self.get_id_token_dictionary(token, token_handler, request)
        id_token.update(**claims)
        if "nonce" not in id_token and request.nonce:
            id_token["nonce"] = request.nonce
        key = signing_key_active(request.client.algorithm or "RS256")
        signed = jws_sign(key, header={"typ": "JWT"}, claims=id_token)
        # DOT's _save_id_token row, saved with the access token (_create_access_token), in the
        # transaction of the grant's tokens.
        request.id_token = IDToken(
            user=request.user,
            scope=request.scope or " ".join(request.scopes),
            expires=expiration_time,
            jti=id_token["jti"],
            application=request.client,
        )
        request.access_token = request.id_token
        return signed

    # DOT's scope of each claim, plus SMART's `fhirUser` (granted with the `fhirUser` scope).
    oidc_claim_scope = {**OAuth2Validator.oidc_claim_scope, "fhirUser": "fhirUser"}

    def get_additional_claims(self, request):
        from accounts.selectors import membership_fhir_user

        return {
            "given_name": lambda r: r.user.first_name,
            "family_name": lambda r: r.user.last_name,
            "name": lambda r: r.user.get_full_name(),
            "email": lambda r: r.user.email or "",
            "email_verified": _email_verified_claim,
            "fhirUser": lambda r: membership_fhir_user(user=r.user, project=r.client.project),
        }

    def get_oidc_claims(self, token, token_handler, request):
        """DOT's claims (ID token and userinfo), without the ones that have no value (a member
        without a FHIR profile gets no `fhirUser`, rather than null)."""
        claims = super().get_oidc_claims(token, token_handler, request)
        return {name: value for name, value in claims.items() if value is not None}

    def get_id_token_dictionary(self, token, token_handler, request):
        claims, expiration_time = super().get_id_token_dictionary(token, token_handler, request)
        # Only what validate_code read from the grant or validate_refresh_token from the refresh
        # token row (never request parameters).
        if request.__dict__.get("_grant_sid"):
            claims["sid"] = request._grant_sid
        if isinstance(request.__dict__.get("_grant_auth_time"), datetime):
            # When the user last authenticated, as the authorization request saw it (the grant).
            claims["auth_time"] = int(request._grant_auth_time.timestamp())
        if request.__dict__.get("_grant_amr"):
            claims["amr"] = list(request._grant_amr)
            claims["acr"] = acr_of(claims["amr"])
        if request.__dict__.get("_grant_idp"):
            claims["idp"] = request._grant_idp
        return claims, expiration_time

    # --- RFC 7662 introspection -------------------------------------------------
    def introspect_token(self, token, token_type_hint, request, *args, **kwargs):
        """oauthlib's hook; the one implementation lives in oauth/introspection.py."""
        from oauth.introspection import token_introspect

        return token_introspect(token=token, caller=request.client, hint=token_type_hint or "")
