"""An administrator's changes to a member's account itself: name and email (the new address
must be verified again before apps get tokens), and a password-reset email on their behalf."""

from __future__ import annotations

from django.db import transaction

from accounts.flows.password_reset import password_reset_request
from accounts.models import Membership, User, normalize_email
from accounts.selectors import MemberAction, actor_may, user_belongs_to_project_alone
from audit.context import Actor
from audit.models import AuditAction
from audit.services import audit_record
from identity.errors import ApplicationError, ErrorCode
from notifications.models import MessageKind
from notifications.services import message_enqueue


def membership_profile_refusal(*, membership: Membership, actor: Actor) -> ApplicationError | None:
    """Why `actor` may not change the member's name or email (None: they may)."""
    if not actor_may(actor=actor, action=MemberAction.EDIT_PROFILE, membership=membership):
        return ApplicationError(
            "Only an owner can change an owner's name or email.", code=ErrorCode.PERMISSION_DENIED, status=403
        )
    if not user_belongs_to_project_alone(user=membership.user, project=membership.project):
        return ApplicationError(
            "This person also belongs to other projects (or is an operator), so their account is not "
            "this project's alone to change; they change it in My account, or an operator does.",
            code=ErrorCode.CONFLICT,
            status=409,
        )
    return None


@transaction.atomic
def membership_profile_update(
    *, membership: Membership, actor: Actor, first_name: str, last_name: str, email: str
) -> list[str]:
    """Set the member's name and email; returns the changed fields (nothing changed: nothing
    recorded). A new email is unverified: the person is sent a confirmation link, apps get no
    tokens for them until they follow it (oauth.rules), and the old address is told."""
    from allauth.account.models import EmailAddress

    refusal = membership_profile_refusal(membership=membership, actor=actor)
    if refusal is not None:
        raise refusal
    user = User.objects.select_for_update().get(pk=membership.user_id)
    new_email = normalize_email(email)
    if not new_email and user.email:
        raise ApplicationError("The input is not valid.", fields={"email": ["An email address is required."]})
    changed: dict[str, list[str]] = {}
    for field, value in (("first_name", first_name), ("last_name", last_name)):
        value = (value or "").strip()[:150]
        if getattr(user, field) != value:
            changed[field] = [getattr(user, field), value]
            setattr(user, field, value)
    old_email = user.email
    if new_email and new_email != old_email:
        if User.objects.filter(email__iexact=new_email).exclude(pk=user.pk).exists():
            raise ApplicationError(
                "Another account uses this email address.",
                code=ErrorCode.CONFLICT,
                status=409,
                fields={"email": ["Another account uses this email address."]},
            )
        user.email = new_email
        changed["email"] = [old_email or "", new_email]
    if not changed:
        return []
    user.save(update_fields=[*changed])
    if "email" in changed:
        EmailAddress.objects.filter(user=user).delete()
        address = EmailAddress.objects.create(user=user, email=new_email, primary=True, verified=False)
        address.send_confirmation(request=None, signup=False)
        if old_email:
            message_enqueue(
                kind=MessageKind.ACCOUNT_NOTICE,
                to_email=old_email,
                user=user,
                project=membership.project,
                context={
                    "subject": "The email address of your account was changed",
                    "text": (
                        f"An administrator of {membership.project.brand_name} changed the email "
                        f"address of your account from {old_email} to {new_email}.\n\n"
                        "If this is not what you expected, contact your administrator."
                    ),
                },
            )
    audit_record(
        action=AuditAction.MEMBERSHIP_PROFILE_UPDATED,
        actor=actor,
        project=membership.project,
        target=membership,
        details={"changes": changed},
    )
    return list(changed)


@transaction.atomic
def membership_password_reset_send(*, membership: Membership, actor: Actor) -> None:
    """Email the member a password-reset link (the same single-use link as "Forgot your
    password?"); the admin never sees it. Earlier unused reset links die."""
    user = membership.user
    if not user.email or not user.is_active:
        raise ApplicationError(
            "This person has no email address to send a reset link to.", code=ErrorCode.CONFLICT, status=409
        )
    password_reset_request(user=user, email=user.email)
    audit_record(
        action=AuditAction.MEMBERSHIP_PASSWORD_RESET_SENT,
        actor=actor,
        project=membership.project,
        target=membership,
        details={"user": str(user)},
    )
