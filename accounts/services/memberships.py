from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts import selectors, signals
from accounts.models import AccessPolicy, Membership, Project, Role, User
from audit.context import Actor
from audit.models import AuditAction
from audit.services import audit_record
from identity.clock import clock
from identity.errors import ApplicationError, ErrorCode, error_fields

UNSET: Any = object()


def _actor_is_owner(project: Project, actor: Actor) -> bool:
    """The owner rule lives in accounts.selectors (`actor_is_owner`, `actor_may`): the portal
    offers only what it allows, the services refuse with it."""
    return selectors.actor_is_owner(project=project, actor=actor)


def _other_active_owners(membership: Membership) -> bool:
    return (
        Membership.objects.filter(project_id=membership.project_id, role=Role.OWNER, is_active=True)
        .exclude(pk=membership.pk)
        .exists()
    )


def _snapshot(membership: Membership) -> dict[str, Any]:
    """The audited fields of a membership, for before/after diffs."""
    return {
        "role": membership.role,
        "is_active": membership.is_active,
        "access_policy": str(membership.access_policy_id) if membership.access_policy_id else None,
        "access_parameters": membership.access_parameters,
        "external_id": membership.external_id,
        "profile": membership.profile,
    }


def _validate_parameters(policy: AccessPolicy | None, parameters: dict) -> dict[str, str]:
    if not isinstance(parameters, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in parameters.items()
    ):
        raise ApplicationError(
            "Access parameters must map names to text values.",
            fields={"access_parameters": ["Use an object of name → text value."]},
        )
    if policy is None:
        return parameters
    needed = (
        set().union(*(rule.parameter_names for rule in policy.rules.all()))
        if policy.rules.exists()
        else set()
    )
    missing = sorted(name for name in needed if not parameters.get(name))
    if missing:
        raise ApplicationError(
            f"The policy {policy.name!r} needs values for: {', '.join(missing)}.",
            fields={"access_parameters": [f"Missing value for %{name}." for name in missing]},
        )
    return parameters


@transaction.atomic
def membership_create(
    *,
    project: Project,
    user: User,
    actor: Actor,
    role: str | None = None,
    access_policy: AccessPolicy | None = None,
    access_parameters: dict | None = None,
    external_id: str = "",
    profile: str = "",
) -> Membership:
    """A membership; without `role` or `access_policy`, the project's defaults
    (Project.default_role, Project.default_access_policy)."""
    if Membership.objects.filter(project=project, user=user).exists():
        raise ApplicationError(
            "This user is already a member of the project.", code=ErrorCode.CONFLICT, status=409
        )
    membership = _membership_new(
        project=project,
        user=user,
        actor=actor,
        role=role,
        access_policy=access_policy,
        access_parameters=access_parameters,
        external_id=external_id,
        profile=profile,
    )
    _check_and_save(membership)
    audit_record(**membership_created_event(membership=membership, actor=actor))
    return membership


def membership_build(
    *,
    project: Project,
    user: User,
    actor: Actor,
    role: str | None = None,
    access_policy: AccessPolicy | None = None,
    access_parameters: dict | None = None,
    external_id: str = "",
    profile: str = "",
) -> Membership:
    """`membership_create`'s membership, unsaved, after every one of its rules but the two that
    look at other memberships: the person is not a member yet, and nobody in the project has
    the external ID. The caller has made sure of those two (a bulk invite: its users are new,
    and it looked the chunk's external IDs up) and saves the chunk's memberships in one INSERT
    (`memberships_create_many`), recording `membership_created_event` for each."""
    membership = _membership_new(
        project=project,
        user=user,
        actor=actor,
        role=role,
        access_policy=access_policy,
        access_parameters=access_parameters,
        external_id=external_id,
        profile=profile,
    )
    _check(membership, external_id_checked=True)
    return membership


def memberships_create_many(*, memberships: list[Membership]) -> list[Membership]:
    """Insert memberships made by `membership_build` in one statement (no audit record: the caller
    records `membership_created_event` for each with its own events, in one INSERT too)."""
    return Membership.objects.bulk_create(memberships)


def membership_created_event(*, membership: Membership, actor: Actor) -> dict[str, Any]:
    """The audit event of a new membership (`audit_record`'s arguments)."""
    return {
        "action": AuditAction.MEMBERSHIP_CREATED,
        "actor": actor,
        "project": membership.project,
        "target": membership,
        "details": {"role": membership.role, "user": str(membership.user)},
    }


def _membership_new(
    *,
    project: Project,
    user: User,
    actor: Actor,
    role: str | None,
    access_policy: AccessPolicy | None,
    access_parameters: dict | None,
    external_id: str,
    profile: str,
) -> Membership:
    role = role or project.default_role
    if role == Role.OWNER and not _actor_is_owner(project, actor):
        raise ApplicationError(
            "Only an owner can make someone an owner.", code=ErrorCode.PERMISSION_DENIED, status=403
        )
    return Membership(
        project=project,
        user=user,
        role=role,
        access_policy=access_policy or project.default_access_policy,
        access_parameters=access_parameters or {},
        external_id=external_id.strip(),
        profile=profile.strip(),
        invited_by=actor.user,
    )


def _check(membership: Membership, *, external_id_checked: bool = False) -> None:
    if membership.access_policy is not None and membership.access_policy.project_id != membership.project_id:
        raise ApplicationError(
            "That access policy does not exist in this project.",
            fields={"access_policy": ["Choose a policy of this project."]},
        )
    membership.access_parameters = _validate_parameters(
        membership.access_policy, membership.access_parameters
    )
    if (
        not external_id_checked
        and membership.external_id
        and Membership.objects.filter(project_id=membership.project_id, external_id=membership.external_id)
        .exclude(pk=membership.pk)
        .exists()
    ):
        raise ApplicationError(
            "Another member of this project already has that external ID.",
            code=ErrorCode.CONFLICT,
            status=409,
            fields={"external_id": ["Already used in this project."]},
        )
    try:
        membership.full_clean(exclude=["user", "project", "invited_by"], validate_unique=False)
    except ValidationError as exc:
        raise ApplicationError("The input is not valid.", fields=error_fields(exc)) from exc


def _check_and_save(membership: Membership) -> None:
    _check(membership)
    try:
        with transaction.atomic():
            membership.save()
    except IntegrityError as exc:  # a concurrent request took the same external ID or membership
        raise ApplicationError(
            "Another member of this project already has that external ID, or the membership exists.",
            code=ErrorCode.CONFLICT,
            status=409,
        ) from exc


@transaction.atomic
def membership_update(
    *,
    membership: Membership,
    actor: Actor,
    role: str = UNSET,
    is_active: bool = UNSET,
    access_policy: AccessPolicy | None = UNSET,
    access_parameters: dict = UNSET,
    external_id: str = UNSET,
    profile: str = UNSET,
) -> Membership:
    """Change a membership; only the fields passed change. Audited with a before/after diff.

    Rules: only owners grant or take away the owner role; a project always keeps
    at least one active owner.
    """
    membership = Membership.objects.select_for_update().select_related("project").get(pk=membership.pk)
    before = _snapshot(membership)
    if role is not UNSET and role != membership.role:
        if role not in Role.values:
            raise ApplicationError(
                "Unknown role.", fields={"role": [f"Choose one of {', '.join(Role.values)}."]}
            )
        if (
            role == Role.OWNER
            and not selectors.actor_may_grant_owner(project=membership.project, actor=actor)
        ) or (
            not selectors.actor_may(
                actor=actor, action=selectors.MemberAction.CHANGE_ROLE, membership=membership
            )
        ):
            raise ApplicationError(
                "Only an owner can grant or remove the owner role.",
                code=ErrorCode.PERMISSION_DENIED,
                status=403,
            )
        if membership.role == Role.OWNER and not _other_active_owners(membership):
            raise ApplicationError(
                "A project needs at least one active owner; make someone else owner first.",
                code=ErrorCode.LAST_OWNER,
                status=409,
                fields={"role": ["This is the last owner."]},
            )
        membership.role = role
    if is_active is not UNSET and is_active != membership.is_active:
        member_action = selectors.MemberAction.REACTIVATE if is_active else selectors.MemberAction.DEACTIVATE
        if not selectors.actor_may(actor=actor, action=member_action, membership=membership):
            raise ApplicationError(
                "Only an owner can deactivate or reactivate an owner.",
                code=ErrorCode.PERMISSION_DENIED,
                status=403,
            )
        if not is_active and membership.role == Role.OWNER and not _other_active_owners(membership):
            raise ApplicationError(
                "The last active owner cannot be deactivated.", code=ErrorCode.LAST_OWNER, status=409
            )
        membership.is_active = is_active
        membership.deactivated_at = None if is_active else clock.now()
    if access_policy is not UNSET:
        membership.access_policy = access_policy
    if access_parameters is not UNSET:
        membership.access_parameters = access_parameters or {}
    if external_id is not UNSET:
        membership.external_id = (external_id or "").strip()
    if profile is not UNSET:
        membership.profile = (profile or "").strip()
    _check_and_save(membership)

    after = _snapshot(membership)
    changes = {key: [before[key], after[key]] for key in before if before[key] != after[key]}
    if changes:
        action = AuditAction.MEMBERSHIP_UPDATED
        if list(changes) == ["is_active"]:
            action = (
                AuditAction.MEMBERSHIP_REACTIVATED
                if membership.is_active
                else AuditAction.MEMBERSHIP_DEACTIVATED
            )
        audit_record(
            action=action,
            actor=actor,
            project=membership.project,
            target=membership,
            details={"changes": changes},
        )
        if "is_active" in changes:
            signal = (
                signals.membership_reactivated if membership.is_active else signals.membership_deactivated
            )
            transaction.on_commit(
                lambda: signal.send(sender=Membership, membership=membership, actor=actor), robust=False
            )
    return membership


def membership_deactivate(*, membership: Membership, actor: Actor) -> Membership:
    """Cut a member's access to the project at once (other apps revoke sessions/tokens on the signal)."""
    return membership_update(membership=membership, actor=actor, is_active=False)


def membership_reactivate(*, membership: Membership, actor: Actor) -> Membership:
    return membership_update(membership=membership, actor=actor, is_active=True)


@transaction.atomic
def membership_sign_out(*, membership: Membership, actor: Actor) -> None:
    """A project admin signs a member out of the project: every token the project's apps hold
    for them, and their consents to those apps, go (other apps do it on the signal); the
    membership stays active, so they can sign in again."""
    from accounts.signals import membership_signed_out

    audit_record(
        action=AuditAction.MEMBERSHIP_SIGNED_OUT,
        actor=actor,
        project=membership.project,
        target=membership,
        details={"user": str(membership.user)},
    )
    transaction.on_commit(
        lambda: membership_signed_out.send(sender=Membership, membership=membership, actor=actor)
    )
