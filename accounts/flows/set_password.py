"""The set-password journey: open a link, choose a password, be signed in."""

from __future__ import annotations

from allauth.account.models import EmailAddress
from django.contrib.auth import login
from django.db import transaction
from django.http import HttpRequest

from accounts.models import SecurityRequest, SecurityRequestKind, User
from accounts.services import lockout
from accounts.services.security_links import LinkError, LinkProblem
from audit.context import Actor
from audit.models import AuditAction
from audit.services import audit_record
from identity.clock import clock
from notifications.models import MessageKind
from notifications.services import message_enqueue

LOGIN_BACKEND = "allauth.account.auth_backends.AuthenticationBackend"


def _mark_email_verified(user: User) -> None:
    """The person proved they read mail at this address by opening the link."""
    if not user.email:
        return
    address, _ = EmailAddress.objects.get_or_create(
        user=user, email__iexact=user.email, defaults={"email": user.email, "primary": True, "verified": True}
    )
    if not address.verified:
        address.verified = True
        address.save(update_fields=["verified"])


@transaction.atomic
def set_password_complete(*, request: HttpRequest, security_request: SecurityRequest, password: str) -> User:
    """Set the password, use up the link, accept the invitation, verify the email, sign in.

    Changing the password also invalidates every other session of the user (Django
    checks a hash of the password in each session) and every other outstanding link.
    """
    now = clock.now()
    # Use the link up first, with a conditional UPDATE: of two concurrent submissions of the
    # same link exactly one gets here; the other is told the link was used.
    claimed = SecurityRequest.objects.filter(
        pk=security_request.pk, used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
    ).update(used_at=now)
    if claimed != 1:
        raise LinkError(LinkProblem.USED, security_request)
    security_request = SecurityRequest.objects.select_related("user", "project", "membership").get(
        pk=security_request.pk
    )
    user = security_request.user
    had_password = user.has_usable_password()
    user.set_password(password)
    user.save(update_fields=["password"])
    # Whoever reads this address's mail may sign in again: the locks of the password and MFA
    # steps end (the lock email's link is a reset link; accounts/services/lockout.py). After an
    # MFA lock the old password was known to someone; it no longer works.
    for scope in lockout.ACCOUNT_LOCK_SCOPES:
        lockout.lock_clear(scope=scope, keys={lockout.ACCOUNT: lockout.account_key(user)})
    _mark_email_verified(user)
    actor = Actor.from_request(request).with_user(user)
    if security_request.kind == SecurityRequestKind.INVITE:
        audit_record(
            action=AuditAction.INVITATION_ACCEPTED,
            actor=actor,
            project=security_request.project,
            target=security_request.membership,
        )
    audit_record(
        action=AuditAction.USER_PASSWORD_CHANGED,
        actor=actor,
        target=user,
        details={"via": security_request.kind},
    )
    if had_password and user.email:
        message_enqueue(
            kind=MessageKind.PASSWORD_CHANGED,
            to_email=user.email,
            project=security_request.project,
            user=user,
            context={"changed_at": now, "ip": actor.ip_address},
            idempotency_key=f"password-changed:{security_request.pk}",
        )
    if had_password:
        # A reset: whoever may have had the old password is signed out everywhere, tokens too.
        from accounts.services.sessions import user_sign_out_everywhere

        user_sign_out_everywhere(user=user, actor=actor, reason="password")
    login(request, user, backend=LOGIN_BACKEND)
    return user
