"""Browser sessions as records (allauth.usersessions): their `sid`, and ending them.

Every way a session ends goes through `session_end` (or `sessions_end_all`), which deletes the
Django session, forgets the record, audits, and sends `accounts.signals.session_ended` with the
session's `sid` once the transaction commits: oauth then revokes the tokens issued in it and
sends back-channel logout tokens to the client apps that got some.

`sid` (OpenID Connect) is a hash of the record's id: stable for the life of a sign-in (the
Django session key changes at sign-in and on a password change; the record is kept in step by
allauth), unguessable, and never the session key itself.
"""

from __future__ import annotations

import hashlib

from allauth.usersessions.models import UserSession
from django.db import transaction
from django.http import HttpRequest

from accounts.signals import session_ended
from audit.context import Actor
from audit.models import AuditAction
from audit.services import audit_record


def session_sid(user_session: UserSession) -> str:
    return hashlib.sha256(f"sid:{user_session.pk}".encode()).hexdigest()[:32]


def session_current(request: HttpRequest) -> UserSession | None:
    """The record of this request's session (created on the spot if the middleware has not yet)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    if not request.session.session_key:
        request.session.save()
    record = UserSession.objects.filter(session_key=request.session.session_key).first()
    if record is None:
        UserSession.objects.create_from_request(request)
        record = UserSession.objects.filter(session_key=request.session.session_key).first()
    return record


def session_list(*, user) -> list[UserSession]:
    """The user's live sessions, newest activity first (dead records are purged on the way)."""
    sessions = UserSession.objects.purge_and_list(user)
    return sorted(sessions, key=lambda s: s.last_seen_at, reverse=True)


@transaction.atomic  # one commit for both writes
def session_signed_in(*, request: HttpRequest) -> None:
    """The person signed in (allauth's user_logged_in, any sign-in path): the records of their
    ended sessions go, this session gets one (allauth.usersessions' own receiver, minus its
    one-by-one purge: accounts/receivers.py)."""
    sessions_forget_ended(user=request.user)
    UserSession.objects.create_from_request(request)


def sessions_forget_ended(*, user) -> None:
    """Forget the records of `user`'s sessions that have ended (deleted or expired): one DELETE,
    however many sessions the user has.

    allauth's own purge (`purge_and_list`) opens every session of the user, about three statements
    and 1.6 ms of CPU each, on every sign-in: a login used by a script or many devices got slower
    with each sign-in of the day. A session still alive but whose password hash went stale (a
    password set outside allauth's change/reset, which end the other sessions themselves) is no
    longer valid either: `session_list` (allauth's full check) drops its record when the user
    looks, and this drops it once the session expires."""
    from django.conf import settings
    from django.contrib.sessions.models import Session
    from django.db.models import Exists, OuterRef
    from django.utils import timezone

    if settings.SESSION_ENGINE not in (
        "django.contrib.sessions.backends.db",
        "django.contrib.sessions.backends.cached_db",  # writes every session to the table too
    ):
        UserSession.objects.purge_and_list(user)  # sessions elsewhere: ask the store, one by one
        return
    # timezone.now(), not identity.clock: the session store decides expiry with it.
    live = Session.objects.filter(session_key=OuterRef("session_key"), expire_date__gt=timezone.now())
    UserSession.objects.filter(user_id=user.pk).exclude(Exists(live)).delete()


def _announce(*, user, sid: str, reason: str) -> None:
    transaction.on_commit(lambda: session_ended.send(sender=UserSession, user=user, sid=sid, reason=reason))


@transaction.atomic
def session_end(*, user_session: UserSession, actor: Actor, reason: str) -> str:
    """End one session: its browser is signed out at its next request. Returns its `sid`."""
    sid = session_sid(user_session)
    user = user_session.user
    user_session.end()
    audit_record(
        action=AuditAction.SESSION_ENDED,
        actor=actor,
        target=user,
        details={
            "sid": sid,
            "reason": reason,
            "ip": user_session.ip,
            "user_agent": user_session.user_agent[:200],
        },
    )
    _announce(user=user, sid=sid, reason=reason)
    return sid


@transaction.atomic
def sessions_end_all(*, user, actor: Actor, reason: str, keep_session_key: str | None = None) -> int:
    """End every session of `user` (but the one `keep_session_key` names). Returns how many."""
    ended = 0
    for user_session in UserSession.objects.filter(user=user).exclude(session_key=keep_session_key or ""):
        session_end(user_session=user_session, actor=actor, reason=reason)
        ended += 1
    return ended


def session_signed_out(*, request: HttpRequest, user) -> None:
    """The person signed out (Django's user_logged_out, before the session is flushed): the
    record goes and the session's tokens with it."""
    key = request.session.session_key
    record = UserSession.objects.filter(session_key=key, user=user).first() if key else None
    if record is None:
        return
    sid = session_sid(record)
    record.delete()
    audit_record(
        action=AuditAction.SESSION_ENDED,
        actor=Actor.from_request(request).with_user(user),
        target=user,
        details={"sid": sid, "reason": "logout"},
    )
    _announce(user=user, sid=sid, reason="logout")


@transaction.atomic
def user_sign_out_everywhere(
    *, user, actor: Actor, reason: str = "everywhere", keep_session_key: str | None = None
) -> int:
    """End every session of `user` (but `keep_session_key`'s: the browser that changed its own
    password stays signed in) and revoke all their tokens. Returns how many sessions ended."""
    from accounts.signals import user_signed_out_everywhere

    ended = sessions_end_all(user=user, actor=actor, reason=reason, keep_session_key=keep_session_key)
    audit_record(
        action=AuditAction.USER_SIGNED_OUT_EVERYWHERE,
        actor=actor,
        target=user,
        details={"sessions_ended": ended, "reason": reason},
    )
    transaction.on_commit(
        lambda: user_signed_out_everywhere.send(sender=UserSession, user=user, reason=reason)
    )
    return ended


def session_limits(*, user) -> tuple[int | None, int | None]:
    """(idle seconds, absolute seconds) for `user`'s sessions: the strictest over the projects
    they are an active member of (None: no project limit)."""
    from django.db.models import Min

    from accounts.models import Project

    limits = Project.objects.filter(memberships__user=user, memberships__is_active=True).aggregate(
        idle=Min("session_idle_minutes"), absolute=Min("session_max_hours")
    )
    idle = limits["idle"] * 60 if limits["idle"] else None
    absolute = limits["absolute"] * 3600 if limits["absolute"] else None
    return idle, absolute


def session_expired(*, record: UserSession, idle: int | None, absolute: int | None, now) -> str:
    """ "idle" / "absolute" when the session outlived its project's limit, else ""."""
    if absolute is not None and (now - record.created_at).total_seconds() > absolute:
        return "absolute"
    if idle is not None and (now - record.last_seen_at).total_seconds() > idle:
        return "idle"
    return ""
