"""Client management, consent and token housekeeping (write operations of the oauth app)."""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.db.models import Q
from oauth2_provider.models import clear_expired

from accounts.models import AccessPolicy, Project, User
from audit.context import Actor
from audit.models import AuditAction
from audit.services import audit_record
from identity.clock import clock
from identity.errors import ApplicationError, ErrorCode
from identity.outbound import outbound_url_problem
from oauth.app_settings import app_settings
from oauth.client_cache import client_cache_forget
from oauth.client_keys import jwks_problems, jwks_uri_problem
from oauth.constants import TokenEndpointAuthMethod
from oauth.models import AccessToken, Client, ClientRole, Consent, GrantType, RefreshToken
from oauth.scopes import PORTAL_READ, PORTAL_WRITE, ROLE_SCOPES, scope_errors

SECRET_BYTES = 48  # 64 URL-safe characters, 384 bits


def _new_secret() -> str:
    return secrets.token_urlsafe(SECRET_BYTES)


def _hash_secret(secret: str) -> str:
    return make_password(secret, hasher="keyed_sha256")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def validate_redirect_uris(
    uris: list[str], *, client_type: str, field_name: str = "redirect_uris"
) -> list[str]:
    """https only; plain http only for loopback redirect URIs of native (public) clients (RFC 8252 §7.3).
    The one rule for every URI the browser is sent back to: `redirect_uris` and
    `post_logout_redirect_uris` (errors under `field_name`)."""
    errors, clean = [], []
    for uri in uris:
        uri = uri.strip()
        if not uri:
            continue
        parts = urlsplit(uri)
        if parts.fragment or "#" in uri:
            errors.append(f"{uri}: a redirect URI may not contain a fragment.")
        elif parts.scheme == "https" and parts.hostname:
            clean.append(uri)
        elif parts.scheme == "http" and parts.hostname and _is_loopback(parts.hostname):
            if client_type != Client.CLIENT_PUBLIC:
                errors.append(f"{uri}: http loopback URIs are for native (public) clients only.")
            else:
                clean.append(uri)
        else:
            errors.append(f"{uri}: use https (http only for loopback addresses of native apps).")
    if errors:
        raise ApplicationError("Some redirect URIs are not allowed.", fields={field_name: errors})
    return clean


def backchannel_logout_uri_problem(uri: str) -> str:
    """Why a client's back-channel logout URI would not do, "" when it does: the rule of every
    URL this server calls (identity/outbound.py: https, no internal address; http only on
    loopback under DEBUG or OAUTH_BACKCHANNEL_LOGOUT_ALLOW_HTTP_LOOPBACK)."""
    return outbound_url_problem(
        uri,
        allow_http_loopback=app_settings.BACKCHANNEL_LOGOUT_ALLOW_HTTP_LOOPBACK,
        example="https://app.example/backchannel-logout",
    )


@dataclass
class ClientInput:
    name: str
    client_type: str = Client.CLIENT_CONFIDENTIAL
    grant_types: list[str] = field(default_factory=lambda: [GrantType.AUTHORIZATION_CODE])
    redirect_uris: list[str] = field(default_factory=list)
    scopes: list[str] = field(default_factory=lambda: ["openid"])
    access_token_lifetime: int | None = None
    refresh_token_lifetime: int | None = None
    skip_consent: bool = False
    role: str = ""
    access_policy: AccessPolicy | None = None
    description: str = ""
    algorithm: str = "RS256"  # ID tokens (and logout tokens)
    access_token_algorithm: str = "RS256"  # JWT access tokens
    # "" = the default of the client type: client_secret_basic (confidential), none (public).
    token_endpoint_auth_method: str = ""
    # private_key_jwt only, exactly one of them: where its public keys are, or the keys (a JWKS).
    jwks_uri: str = ""
    jwks: dict | None = None
    # Logout (OpenID RP-Initiated and Back-Channel Logout 1.0); authorization code clients only.
    post_logout_redirect_uris: list[str] = field(default_factory=list)
    backchannel_logout_uri: str = ""
    backchannel_logout_session_required: bool = True
    revoke_tokens_on_logout: bool = True


@dataclass(frozen=True)
class IssuedClient:
    client: Client
    client_secret: str | None  # shown once; None for public and private_key_jwt clients


def _auth_method_errors(data: ClientInput) -> tuple[str, dict[str, list[str]]]:
    """The client's token endpoint authentication method (its type's default when not given),
    and what is wrong with it and its keys."""
    errors: dict[str, list[str]] = {}
    public = data.client_type == Client.CLIENT_PUBLIC
    method = data.token_endpoint_auth_method or (
        TokenEndpointAuthMethod.NONE if public else TokenEndpointAuthMethod.CLIENT_SECRET_BASIC
    )
    if method not in TokenEndpointAuthMethod.values:
        errors["token_endpoint_auth_method"] = [f"Choose from {', '.join(TokenEndpointAuthMethod.values)}."]
    elif public and method != TokenEndpointAuthMethod.NONE:
        errors["token_endpoint_auth_method"] = ["A public client has no credentials: its method is none."]
    elif not public and method == TokenEndpointAuthMethod.NONE:
        errors["token_endpoint_auth_method"] = [
            "A confidential client authenticates: choose a secret method or private_key_jwt."
        ]
    jwks_uri, jwks = data.jwks_uri.strip(), data.jwks or None
    if method == TokenEndpointAuthMethod.PRIVATE_KEY_JWT:
        if bool(jwks_uri) == bool(jwks):
            errors["jwks_uri"] = ["A private_key_jwt client needs exactly one of a JWKS URL or a JWKS."]
        elif jwks_uri and (problem := jwks_uri_problem(jwks_uri)):
            errors["jwks_uri"] = [problem]
        elif jwks and (problems := jwks_problems(jwks)):
            errors["jwks"] = problems
    else:
        if jwks_uri:
            errors["jwks_uri"] = ["Only a private_key_jwt client has a JWKS URL."]
        if jwks:
            errors["jwks"] = ["Only a private_key_jwt client has a JWKS."]
    return method, errors


DUPLICATE_NAME = "A client with this name already exists in this project; choose another name."


def _name_taken(project: Project, name: str, client: Client | None) -> bool:
    """Client names are unique within a project, ignoring case (constraint
    oauth_client_name_unique_per_project is the backstop for two requests at once)."""
    others = Client.objects.filter(project=project, name__iexact=name)
    if client is not None:
        others = others.exclude(pk=client.pk)
    return others.exists()


def _duplicate_name_error() -> ApplicationError:
    return ApplicationError(
        DUPLICATE_NAME, code=ErrorCode.CONFLICT, status=409, fields={"name": [DUPLICATE_NAME]}
    )


def _validate(data: ClientInput, project: Project, client: Client | None = None) -> dict:
    """What is wrong with `data` (400 `validation_failed` with field errors; a name already used
    in the project alone is a 409 `conflict`), else the values to store."""
    errors: dict[str, list[str]] = {}
    if not data.name.strip():
        errors["name"] = ["This field is required."]
    name_taken = bool(data.name.strip()) and _name_taken(project, data.name.strip(), client)
    if name_taken:
        errors["name"] = [DUPLICATE_NAME]
    if data.client_type not in (Client.CLIENT_CONFIDENTIAL, Client.CLIENT_PUBLIC):
        errors["client_type"] = ["Choose confidential or public."]
    grants = list(dict.fromkeys(data.grant_types))
    unknown = set(grants) - set(GrantType.values)
    if unknown or not grants:
        errors["grant_types"] = [f"Choose from {', '.join(GrantType.values)}."]
    if GrantType.CLIENT_CREDENTIALS in grants and data.client_type == Client.CLIENT_PUBLIC:
        errors["grant_types"] = ["A public client cannot use client credentials."]
    if GrantType.REFRESH_TOKEN in grants and GrantType.AUTHORIZATION_CODE not in grants:
        errors["grant_types"] = ["Refresh tokens come with the authorization code grant."]
    if problems := scope_errors(list(data.scopes)):
        errors["scopes"] = problems
    if data.role not in ClientRole.values:
        errors["role"] = ["Choose admin, member or none."]
    if data.role and data.client_type != Client.CLIENT_CONFIDENTIAL:
        errors["role"] = ["Only confidential clients can act on the portal API."]
    if data.access_policy is not None and data.access_policy.project_id != project.pk:
        errors["access_policy"] = ["Choose a policy of this project."]
    for name, value in (
        ("access_token_lifetime", data.access_token_lifetime),
        ("refresh_token_lifetime", data.refresh_token_lifetime),
    ):
        if value is not None and not (60 <= value <= 90 * 24 * 3600):
            errors[name] = ["Between 60 seconds and 90 days."]
    if data.access_token_lifetime and data.access_token_lifetime > 24 * 3600:
        errors["access_token_lifetime"] = ["At most 24 hours (SMART recommends 1 hour)."]
    auth_method, auth_errors = _auth_method_errors(data)
    errors.update(auth_errors)
    redirect_uris: list[str] = []
    post_logout_redirect_uris: list[str] = []
    backchannel_logout_uri = ""
    if GrantType.AUTHORIZATION_CODE in grants:
        try:
            redirect_uris = validate_redirect_uris(data.redirect_uris, client_type=data.client_type)
        except ApplicationError as error:
            errors.update(error.fields)
        else:
            if not redirect_uris:
                errors["redirect_uris"] = ["The authorization code grant needs at least one redirect URI."]
        try:
            post_logout_redirect_uris = validate_redirect_uris(
                data.post_logout_redirect_uris,
                client_type=data.client_type,
                field_name="post_logout_redirect_uris",
            )
        except ApplicationError as error:
            errors.update(error.fields)
        backchannel_logout_uri = data.backchannel_logout_uri.strip()
        if backchannel_logout_uri and (problem := backchannel_logout_uri_problem(backchannel_logout_uri)):
            errors["backchannel_logout_uri"] = [problem]
    if name_taken and set(errors) == {"name"}:
        raise _duplicate_name_error()
    if errors:
        raise ApplicationError("The client is not valid.", fields=errors)
    if (
        GrantType.AUTHORIZATION_CODE in grants
        and "offline_access" in data.scopes
        and GrantType.REFRESH_TOKEN not in grants
    ):
        grants.append(GrantType.REFRESH_TOKEN)
    primary = "authorization-code" if GrantType.AUTHORIZATION_CODE in grants else "client-credentials"
    return {
        "grants": grants,
        "redirect_uris": redirect_uris,
        "primary": primary,
        "scopes": _scopes_with_role_defaults(data, grants),
        "auth_method": auth_method,
        "jwks_uri": data.jwks_uri.strip() if auth_method == TokenEndpointAuthMethod.PRIVATE_KEY_JWT else "",
        "jwks": (data.jwks or {}) if auth_method == TokenEndpointAuthMethod.PRIVATE_KEY_JWT else {},
        "post_logout_redirect_uris": list(dict.fromkeys(post_logout_redirect_uris)),
        "backchannel_logout_uri": backchannel_logout_uri,
    }


def _scopes_with_role_defaults(data: ClientInput, grants: list[str]) -> list[str]:
    """The client's scopes, plus those its portal role permits when it names no portal scope.

    A role is for the portal API through client credentials, which needs portal.read or
    portal.write: a client given a role without them would get tokens the API refuses. Only a
    pure client-credentials client gets them (on a client that also signs people in, they would
    be offered to every user's app session). Portal scopes named explicitly are kept as given
    (e.g. a read-only admin client). client_update applies this only when the role changes, so
    an admin who removed the portal scopes later is not overruled on every save.
    """
    scopes = list(dict.fromkeys(data.scopes))
    if set(grants) == {GrantType.CLIENT_CREDENTIALS} and not {PORTAL_READ, PORTAL_WRITE} & set(scopes):
        scopes += ROLE_SCOPES.get(data.role, ())
    return scopes


@transaction.atomic
def client_create(*, project: Project, actor: Actor, data: ClientInput) -> IssuedClient:
    """Register a client. A confidential client's secret is returned once and stored hashed; a
    private_key_jwt client gets none (it proves itself with its keys)."""
    checked = _validate(data, project)
    uses_keys = checked["auth_method"] == TokenEndpointAuthMethod.PRIVATE_KEY_JWT
    secret = _new_secret() if data.client_type == Client.CLIENT_CONFIDENTIAL and not uses_keys else None
    client = Client(
        project=project,
        name=data.name.strip(),
        description=data.description,
        client_type=data.client_type,
        authorization_grant_type=checked["primary"],
        allowed_grant_types=checked["grants"],
        redirect_uris=" ".join(checked["redirect_uris"]),
        allowed_scopes=" ".join(checked["scopes"]),
        access_token_lifetime=data.access_token_lifetime,
        refresh_token_lifetime=data.refresh_token_lifetime,
        skip_authorization=data.skip_consent,
        role=data.role,
        access_policy=data.access_policy,
        algorithm=data.algorithm or "RS256",
        access_token_algorithm=data.access_token_algorithm or "RS256",
        token_endpoint_auth_method=checked["auth_method"],
        jwks_uri=checked["jwks_uri"],
        jwks=checked["jwks"],
        post_logout_redirect_uris=" ".join(checked["post_logout_redirect_uris"]),
        backchannel_logout_uri=checked["backchannel_logout_uri"],
        backchannel_logout_session_required=data.backchannel_logout_session_required,
        revoke_tokens_on_logout=data.revoke_tokens_on_logout,
        hash_client_secret=True,
        # A private_key_jwt client: the hash of a secret nobody knows (and client_auth refuses secrets).
        client_secret=_hash_secret(secret or _new_secret()) if secret or uses_keys else "",
        user=actor.user,
    )
    _save_named(client)
    audit_record(
        action=AuditAction.CLIENT_CREATED,
        actor=actor,
        project=project,
        target=client,
        details={
            "grants": checked["grants"],
            "type": data.client_type,
            "role": data.role,
            "auth_method": checked["auth_method"],
        },
    )
    return IssuedClient(client=client, client_secret=secret)


def _save_named(client: Client) -> None:
    """Save, answering a name taken meanwhile by a concurrent request as the check above does."""
    try:
        with transaction.atomic():  # a savepoint: the caller's transaction stays usable
            client.save()
    except IntegrityError as error:
        if "oauth_client_name_unique_per_project" in str(error):
            raise _duplicate_name_error() from None
        raise


@transaction.atomic
def client_update(*, client: Client, actor: Actor, data: ClientInput) -> Client:
    checked = _validate(data, client.project, client)
    if data.client_type != client.client_type:
        raise ApplicationError(
            "A client's type cannot change; create a new client.", fields={"client_type": ["Cannot change."]}
        )
    client.name = data.name.strip()
    client.description = data.description
    client.allowed_grant_types = checked["grants"]
    client.authorization_grant_type = checked["primary"]
    client.redirect_uris = " ".join(checked["redirect_uris"])
    role_changed = data.role != client.role
    client.allowed_scopes = " ".join(checked["scopes"] if role_changed else dict.fromkeys(data.scopes))
    client.access_token_lifetime = data.access_token_lifetime
    client.refresh_token_lifetime = data.refresh_token_lifetime
    client.skip_authorization = data.skip_consent
    client.role = data.role
    client.access_policy = data.access_policy
    client.algorithm = data.algorithm or "RS256"
    client.access_token_algorithm = data.access_token_algorithm or "RS256"
    if checked["auth_method"] == TokenEndpointAuthMethod.PRIVATE_KEY_JWT and not client.uses_private_key_jwt:
        # From a secret to keys: no secret works any more (a secret method again needs a rotation).
        client.client_secret = _hash_secret(_new_secret())
        client.retiring_client_secret = ""
        client.retiring_secret_expires_at = None
    client.token_endpoint_auth_method = checked["auth_method"]
    client.jwks_uri = checked["jwks_uri"]
    client.jwks = checked["jwks"]
    client.post_logout_redirect_uris = " ".join(checked["post_logout_redirect_uris"])
    client.backchannel_logout_uri = checked["backchannel_logout_uri"]
    client.backchannel_logout_session_required = data.backchannel_logout_session_required
    client.revoke_tokens_on_logout = data.revoke_tokens_on_logout
    _save_named(client)
    transaction.on_commit(lambda: client_cache_forget(client.client_id))
    audit_record(action=AuditAction.CLIENT_UPDATED, actor=actor, project=client.project, target=client)
    return client


@transaction.atomic
def client_rotate_secret(*, client: Client, actor: Actor, grace_seconds: int | None = None) -> str:
    """A new secret (returned once); the previous one keeps working for the grace period."""
    if client.client_type != Client.CLIENT_CONFIDENTIAL:
        raise ApplicationError("Public clients have no secret.", code=ErrorCode.CONFLICT, status=409)
    if client.uses_private_key_jwt:
        raise ApplicationError(
            "This client authenticates with its keys (private_key_jwt) and has no secret; change "
            "its JWKS or JWKS URL instead.",
            code=ErrorCode.CONFLICT,
            status=409,
        )
    client = Client.objects.select_for_update().get(pk=client.pk)
    secret = _new_secret()
    grace = app_settings.SECRET_ROTATION_GRACE if grace_seconds is None else grace_seconds
    now = clock.now()
    client.retiring_client_secret = client.client_secret if grace > 0 else ""
    client.retiring_secret_expires_at = now + timedelta(seconds=grace) if grace > 0 else None
    client.client_secret = _hash_secret(secret)
    client.secret_rotated_at = now
    client.save(
        update_fields=[
            "client_secret",
            "retiring_client_secret",
            "retiring_secret_expires_at",
            "secret_rotated_at",
            "updated",
        ]
    )
    transaction.on_commit(lambda: client_cache_forget(client.client_id))
    audit_record(
        action=AuditAction.CLIENT_SECRET_ROTATED,
        actor=actor,
        project=client.project,
        target=client,
        details={"grace_seconds": grace},
    )
    return secret


@transaction.atomic
def tokens_revoke(
    *,
    client: Client | None = None,
    user: User | None = None,
    project: Project | None = None,
    authorization_code_checksum: str = "",
    sid: str = "",
    revoke_on_logout: bool | None = None,
) -> None:
    """Revoke every token matching all the given filters, with the refresh-token families they are in.

    `sid`: the tokens issued in that browser session; `revoke_on_logout`: only those of clients
    whose `revoke_tokens_on_logout` is that value (what a session ending revokes).

    Refresh tokens are marked revoked (at `clock.now()`), access tokens deleted (what DOT's
    `AccessToken.revoke()` does). The whole family of a matched refresh token goes too, so
    rotations descended from it die with it (RFC 9700 §4.14.2; for a replayed
    authorization code §4.2.4). A constant number of statements, whatever the number of
    tokens, taking locks in DOT's order (refresh tokens, then access tokens) like
    `RefreshToken.revoke_family`. At least one filter is required.
    """
    filters: dict = {}
    if client is not None:
        filters["application"] = client
    if user is not None:
        filters["user"] = user
    if project is not None:
        filters["application__project"] = project
    if authorization_code_checksum:
        filters["authorization_code_checksum"] = authorization_code_checksum
    if sid:
        filters["sid"] = sid
    if not filters:
        raise TypeError("tokens_revoke() needs at least one filter; it never revokes every token.")
    if revoke_on_logout is not None:  # narrows the others, never a filter on its own
        filters["application__revoke_tokens_on_logout"] = revoke_on_logout
    families = RefreshToken.objects.filter(**filters).exclude(token_family=None).values("token_family")
    refresh_tokens = RefreshToken.objects.filter(Q(**filters) | Q(token_family__in=families))
    now = clock.now()
    try:
        with transaction.atomic():
            # `updated` is auto_now, which a queryset update does not set.
            refresh_tokens.filter(revoked__isnull=True).update(revoked=now, updated=now)
    except IntegrityError:
        # (token_checksum, revoked) is unique, so one timestamp cannot cover two live rows with
        # the same checksum, a state rotation never produces but the constraint allows (DOT
        # #1816). Revocation must not fail on it: fall back to DOT's one-by-one revoke().
        for refresh in refresh_tokens.filter(revoked__isnull=True):
            refresh.revoke()
    AccessToken.objects.filter(
        Q(**filters) | Q(pk__in=refresh_tokens.exclude(access_token=None).values("access_token_id"))
    ).delete()


@transaction.atomic
def client_set_active(*, client: Client, actor: Actor, active: bool) -> Client:
    """Disable (tokens stop working at once and are revoked) or re-enable a client."""
    client.is_active = active
    client.save(update_fields=["is_active", "updated"])
    transaction.on_commit(lambda: client_cache_forget(client.client_id))
    if not active:
        tokens_revoke(client=client)
    audit_record(
        action=AuditAction.CLIENT_ENABLED if active else AuditAction.CLIENT_DISABLED,
        actor=actor,
        project=client.project,
        target=client,
    )
    return client


@transaction.atomic
def client_delete(*, client: Client, actor: Actor) -> None:
    audit_record(action=AuditAction.CLIENT_DELETED, actor=actor, project=client.project, target=client)
    tokens_revoke(client=client)
    client_id = client.client_id
    client.delete()
    transaction.on_commit(lambda: client_cache_forget(client_id))


def consent_record(*, user, client: Client, scopes: list[str]) -> Consent:
    consent, created = Consent.objects.get_or_create(
        user=user, client=client, defaults={"scopes": " ".join(scopes)}
    )
    if not created:
        consent.scopes = " ".join(sorted(set(consent.scopes.split()) | set(scopes)))
        consent.save(update_fields=["scopes", "granted_at"])
    return consent


@transaction.atomic
def connected_app_revoke(*, user, client: Client) -> None:
    """The user withdraws a client's access: consent forgotten, their tokens revoked."""
    Consent.objects.filter(user=user, client=client).delete()
    tokens_revoke(user=user, client=client)
    audit_record(
        action=AuditAction.CONSENT_REVOKED, actor=Actor(user=user), project=client.project, target=client
    )


def tokens_clear_expired() -> None:
    """Delete expired tokens and grants in batches (DOT's clear_expired honours the batch settings)."""
    clear_expired()
