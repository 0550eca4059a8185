"""Password reset through our single-use, 1-hour set-password links (called by the allauth adapter,
and by brute-force protection when it locks an account: accounts/services/lockout.py)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from accounts.models import Membership, Project, SecurityRequest, SecurityRequestKind, User
from accounts.services.security_links import IssuedLink, security_link_issue, security_link_message_key
from audit.models import AuditAction
from audit.services import audit_record
from identity.clock import clock
from notifications.models import MessageKind
from notifications.services import message_enqueue


def _reset_link_issue(*, user: User) -> tuple[IssuedLink, Project | None]:
    """A fresh reset link for `user` (earlier unused reset links die), and the project that
    brands its email (the user's first active membership's), if any."""
    now = clock.now()
    SecurityRequest.objects.filter(
        user=user, kind=SecurityRequestKind.RESET, used_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=now)
    membership = (
        Membership.objects.filter(user=user, is_active=True)
        .select_related("project")
        .order_by("created_at")
        .first()
    )
    project = membership.project if membership else None
    return security_link_issue(kind=SecurityRequestKind.RESET, user=user, project=project), project


@transaction.atomic
def password_reset_request(*, user: User, email: str) -> None:
    """Email a reset link to a known, active user. Earlier unused reset links die."""
    if not user.is_active:
        return
    link, project = _reset_link_issue(user=user)
    message_enqueue(
        kind=MessageKind.PASSWORD_RESET,
        # The stored address, never the typed one: a look-alike address that matched
        # case-insensitively must not receive the link (CVE-2019-19844).
        to_email=user.email or email,
        project=project,
        user=user,
        context={"link": link.url, "expires_at": link.request.expires_at},
        idempotency_key=f"security-request:{link.request.pk}:1",
    )
    audit_record(action=AuditAction.PASSWORD_RESET_REQUESTED, target=user, project=project)


@transaction.atomic
def account_locked_notify(*, user: User, locked_until: datetime, step: str = "password") -> None:
    """Tell the person their sign-in is locked, with a reset link: choosing a new password
    through it ends the lock at once (accounts/flows/set_password.py). Called once per lock.
    `step` is what failed: "password", or "mfa" (the password was right: someone knows it)."""
    if not user.is_active or not user.email:
        return
    link, project = _reset_link_issue(user=user)
    message_enqueue(
        kind=MessageKind.ACCOUNT_LOCKED,
        to_email=user.email,
        project=project,
        user=user,
        context={
            "link": link.url,
            "expires_at": link.request.expires_at,
            "locked_until": locked_until,
            "step": step,
        },
        idempotency_key=security_link_message_key(link.request, link.request.send_count),
    )
