"""Password reset through our single-use, 1-hour set-password links (called by the allauth adapter)."""

from __future__ import annotations

from django.db import transaction

from accounts.models import Membership, SecurityRequest, SecurityRequestKind, User
from accounts.services.security_links import security_link_issue
from audit.models import AuditAction
from audit.services import audit_record
from identity.clock import clock
from notifications.models import MessageKind
from notifications.services import message_enqueue


@transaction.atomic
def password_reset_request(*, user: User, email: str) -> None:
    """Email a reset link to a known, active user. Earlier unused reset links die."""
    if not user.is_active:
        return
    now = clock.now()
    SecurityRequest.objects.filter(
        user=user, kind=SecurityRequestKind.RESET, used_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=now)
    # Brand the email with the user's (first active) project, if any.
    membership = (
        Membership.objects.filter(user=user, is_active=True)
        .select_related("project")
        .order_by("created_at")
        .first()
    )
    project = membership.project if membership else None
    link = security_link_issue(kind=SecurityRequestKind.RESET, user=user, project=project)
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
