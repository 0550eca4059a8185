"""Second factors (allauth mfa's authenticators) as an administrator sees them: resetting a
member's factors when they lost their device. Enrolment itself is allauth's (My account ->
Two-factor authentication); whether a project requires a factor is `Project.mfa_required`."""

from __future__ import annotations

from django.db import transaction

from accounts.models import Membership
from accounts.selectors import MemberAction, actor_may, user_belongs_to_project_alone
from accounts.services.sessions import user_sign_out_everywhere
from audit.context import Actor
from audit.models import AuditAction
from audit.services import audit_record
from identity.errors import ApplicationError, ErrorCode
from notifications.models import MessageKind
from notifications.services import message_enqueue


def membership_mfa_reset_refusal(*, membership: Membership, actor: Actor) -> ApplicationError | None:
    """Why `actor` may not reset the member's factors (None: they may): owners' factors are
    reset by owners only; a person who also belongs to other projects is an operator's to reset.
    The confirmation page shows it instead of the button; `membership_mfa_reset` raises it."""
    if not actor_may(actor=actor, action=MemberAction.MFA_RESET, membership=membership):
        return ApplicationError(
            "Only an owner can reset an owner's two-factor authentication.",
            code=ErrorCode.PERMISSION_DENIED,
            status=403,
        )
    if not user_belongs_to_project_alone(user=membership.user, project=membership.project):
        return ApplicationError(
            "This person also belongs to other projects, so their account is not this project's "
            "alone to change; ask an operator to reset their two-factor authentication.",
            code=ErrorCode.CONFLICT,
            status=409,
        )
    return None


@transaction.atomic
def membership_mfa_reset(*, membership: Membership, actor: Actor) -> int:
    """Remove every authenticator of the member (apps, passkeys, recovery codes), end their
    sessions and tokens, and email them. Returns how many authenticators went.

    Only for a person who belongs to this project alone: their account is also their way into
    other projects, whose admins did not agree (an operator resets those in the Django admin).
    Only owners reset an owner's factors. If the project requires a factor, the member enrols a
    new one at their next sign-in.
    """
    from allauth.mfa.models import Authenticator

    user = membership.user
    refusal = membership_mfa_reset_refusal(membership=membership, actor=actor)
    if refusal is not None:
        raise refusal
    authenticators = Authenticator.objects.filter(user_id=user.pk)
    kinds = sorted(set(authenticators.values_list("type", flat=True)))
    removed, _ = authenticators.delete()
    if not removed:
        raise ApplicationError(
            "This person has no two-factor authentication to reset.", code=ErrorCode.CONFLICT, status=409
        )
    audit_record(
        action=AuditAction.MEMBERSHIP_MFA_RESET,
        actor=actor,
        project=membership.project,
        target=membership,
        details={"user": str(user), "removed": kinds},
    )
    user_sign_out_everywhere(user=user, actor=actor, reason="mfa_reset")
    if user.email:
        project = membership.project
        message_enqueue(
            kind=MessageKind.ACCOUNT_NOTICE,
            to_email=user.email,
            user=user,
            project=project,
            context={
                "subject": "Your two-factor authentication was reset",
                "text": (
                    f"An administrator of {project.display_name or project.name} removed the "
                    "authenticator apps, passkeys and recovery codes of your account, and signed "
                    "you out everywhere.\n\nSign in again with your password"
                    + (" and set up a new second factor." if project.mfa_required else ".")
                    + "\n\nIf you did not ask for this, contact your administrator."
                ),
            },
        )
    return removed
