"""Single-use, expiring, hashed links: `{APP_BASE_URL}/setpassword/{id}/{secret}`."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError

from accounts.app_settings import app_settings
from accounts.models import Membership, Project, SecurityRequest, SecurityRequestKind, User
from identity.clock import clock
from identity.crypto import keyed_hash, keyed_hash_matches

_SALT = "accounts.security_request"


def _hash_secret(secret: str) -> str:
    return keyed_hash(salt=_SALT, value=secret)


def _password_fingerprint(user: User) -> str:
    return keyed_hash(salt=_SALT + ".password", value=user.password or "")


# How many replaced links per request are still recognised as replaced (not as mistyped).
PREVIOUS_SECRETS_KEPT = 5


def _ttl(kind: str) -> timedelta:
    seconds = (
        app_settings.INVITE_LINK_TTL_SECONDS
        if kind == SecurityRequestKind.INVITE
        else app_settings.RESET_LINK_TTL_SECONDS
    )
    return timedelta(seconds=seconds)


def security_link_url(request: SecurityRequest, secret: str) -> str:
    return f"{app_settings.APP_BASE_URL}/setpassword/{request.pk}/{secret}"


@dataclass(frozen=True)
class IssuedLink:
    request: SecurityRequest
    url: str


def security_link_issue(
    *,
    kind: str,
    user: User,
    project: Project | None = None,
    membership: Membership | None = None,
    invited_by: User | None = None,
) -> IssuedLink:
    """Create a request with a fresh 256-bit secret. The clear secret exists only in the returned URL."""
    link = security_link_new(
        kind=kind, user=user, project=project, membership=membership, invited_by=invited_by
    )
    link.request.save(force_insert=True)
    return link


def security_link_new(
    *,
    kind: str,
    user: User,
    project: Project | None = None,
    membership: Membership | None = None,
    invited_by: User | None = None,
) -> IssuedLink:
    """`security_link_issue`'s request, not saved yet (a bulk invite saves a chunk's in one INSERT).
    Its id is set already, so the URL is final."""
    secret = secrets.token_urlsafe(32)
    now = clock.now()
    request = SecurityRequest(
        kind=kind,
        user=user,
        project=project,
        membership=membership,
        invited_by=invited_by,
        email=user.email or "",
        secret_hash=_hash_secret(secret),
        password_fingerprint=_password_fingerprint(user),
        expires_at=now + _ttl(kind),
        last_sent_at=now,
        send_count=1,
    )
    return IssuedLink(request=request, url=security_link_url(request, secret))


def security_links_issue_many(*, links: list[dict]) -> list[IssuedLink]:
    """`security_link_issue` for several (each a dict of its arguments) in one INSERT, in order."""
    issued = [security_link_new(**link) for link in links]
    SecurityRequest.objects.bulk_create([link.request for link in issued])
    return issued


def security_link_rotate(*, request: SecurityRequest) -> IssuedLink:
    """Give an existing request a new secret and expiry: the previous link stops working."""
    secret = secrets.token_urlsafe(32)
    now = clock.now()
    if request.secret_hash:
        request.previous_secret_hashes = [request.secret_hash, *request.previous_secret_hashes][
            :PREVIOUS_SECRETS_KEPT
        ]
    request.secret_hash = _hash_secret(secret)
    request.password_fingerprint = _password_fingerprint(request.user)
    request.email = request.user.email or ""
    request.expires_at = now + _ttl(request.kind)
    request.last_sent_at = now
    request.send_count += 1
    request.save(
        update_fields=[
            "secret_hash",
            "previous_secret_hashes",
            "password_fingerprint",
            "email",
            "expires_at",
            "last_sent_at",
            "send_count",
        ]
    )
    return IssuedLink(request=request, url=security_link_url(request, secret))


_MESSAGE_KEY_PREFIX = "security-request:"
# Suffixes of messages about a request that carry no link (may always be sent again).
_NOTICE_SUFFIXES = frozenset({"revoked"})


def security_link_message_key(request: SecurityRequest, suffix: object) -> str:
    """The outbox idempotency key of a message about `request`: `security-request:{id}:{suffix}`.
    A message carrying the link uses the request's `send_count` as suffix (one per send)."""
    return f"{_MESSAGE_KEY_PREFIX}{request.pk}:{suffix}"


def security_link_message_refusal(message) -> str | None:
    """Why an outbox message must not be sent again because the link it carries is dead, or None.

    The message names its request through its idempotency key. Messages without a link (added to
    a project, invitation revoked) may be sent again; a link whose request was revoked, used,
    expired or superseded by a newer send (resend) may not: re-sending it would mail a dead link.
    Registered as the outbox's resend guard (AccountsConfig.ready).
    """
    key = message.idempotency_key or ""
    if not key.startswith(_MESSAGE_KEY_PREFIX):
        return None
    request_id, _, suffix = key[len(_MESSAGE_KEY_PREFIX) :].partition(":")
    if suffix in _NOTICE_SUFFIXES:
        return None  # a notice about the request, without its link
    try:
        request = SecurityRequest.objects.filter(pk=request_id).select_related("user").first()
    except (ValueError, ValidationError):
        request = None
    if request is None:
        return "The link in this message no longer exists, so it cannot be sent again."
    if not request.secret_hash:
        return None  # nothing to open: "added to the project" messages
    invite = request.kind == SecurityRequestKind.INVITE
    if request.revoked_at:
        if invite:
            return "The invitation was revoked, so its link no longer works and this message cannot be sent again."
        return (
            "A newer password-reset link was requested, so this message's link no longer works "
            "and it cannot be sent again."
        )
    if suffix.isdigit() and request.send_count > int(suffix):
        return (
            "A newer invitation was sent, so this message's link no longer works and it cannot be "
            "sent again. The newer message is in the outbox."
        )
    if request.used_at:
        what = "The invitation was accepted" if invite else "The link was used"
        return f"{what}, so this message's link no longer works and it cannot be sent again."
    if request.expires_at <= clock.now():
        advice = "resend the invitation instead" if invite else "the person can ask for a new one"
        return f"This message's link has expired, so it cannot be sent again; {advice}."
    user = request.user
    if (request.email or "") != (user.email or "") or not keyed_hash_matches(
        salt=_SALT + ".password", value=user.password or "", expected=request.password_fingerprint
    ):
        return (
            "The person's password or email address changed since this message was sent, so its "
            "link no longer works and it cannot be sent again."
        )
    return None


class LinkProblem:
    INVALID = "invalid"
    EXPIRED = "expired"
    USED = "used"
    REVOKED = "revoked"
    SUPERSEDED = "superseded"  # a resend replaced this link with a newer one


class LinkError(Exception):
    def __init__(self, problem: str, request: SecurityRequest | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.request = request


def security_link_check(*, request_id, secret: str) -> SecurityRequest:
    """Return the request if `secret` opens it now; raise LinkError saying why not.

    A wrong secret and an unknown id look the same ('invalid'), so the page
    never confirms that an id exists. The hash comparison is constant-time.
    """
    try:
        request = SecurityRequest.objects.select_related("user", "project", "membership").get(pk=request_id)
    except (SecurityRequest.DoesNotExist, ValueError, ValidationError) as exc:
        keyed_hash_matches(salt=_SALT, value=secret, expected="")  # same work as a real check
        raise LinkError(LinkProblem.INVALID) from exc
    # Checked against SECRET_KEY and its fallbacks: a SECRET_KEY rotation keeps links alive.
    if not request.secret_hash or not keyed_hash_matches(
        salt=_SALT, value=secret, expected=request.secret_hash
    ):
        replaced = any(
            keyed_hash_matches(salt=_SALT, value=secret, expected=old)
            for old in request.previous_secret_hashes
        )
        if not replaced:
            raise LinkError(LinkProblem.INVALID)
        # An earlier link of this request: say so, unless the whole request is gone.
        raise LinkError(LinkProblem.REVOKED if request.revoked_at else LinkProblem.SUPERSEDED, request)
    if request.revoked_at:
        raise LinkError(LinkProblem.REVOKED, request)
    if request.used_at:
        raise LinkError(LinkProblem.USED, request)
    if request.expires_at <= clock.now():
        raise LinkError(LinkProblem.EXPIRED, request)
    user = request.user
    if (request.email or "") != (user.email or "") or not keyed_hash_matches(
        salt=_SALT + ".password", value=user.password or "", expected=request.password_fingerprint
    ):
        # The password or the email changed since the link was sent: it is dead.
        raise LinkError(LinkProblem.USED, request)
    if not user.is_active:
        raise LinkError(LinkProblem.INVALID)
    return request
