"""Inviting people into a project: one at a time (portal/API) or in bulk (see bulk_invites.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower

from accounts.app_settings import app_settings
from accounts.models import (
    AccessPolicy,
    Membership,
    Project,
    Role,
    SecurityRequest,
    SecurityRequestKind,
    User,
    normalize_email,
)
from accounts.selectors import MemberAction, actor_may
from accounts.services.memberships import (
    membership_build,
    membership_create,
    membership_created_event,
    membership_update,
    memberships_create_many,
)
from accounts.services.security_links import (
    security_link_issue,
    security_link_message_key,
    security_link_rotate,
    security_links_issue_many,
)
from accounts.services.users import user_build, user_get_or_create, users_create_many
from audit.context import Actor
from audit.models import AuditAction
from audit.services import audit_record, audit_record_many
from identity.clock import clock
from identity.errors import ApplicationError, ErrorCode
from notifications.models import MessageKind
from notifications.services import message_enqueue, messages_enqueue

ALREADY_MEMBER = "already_member"


@dataclass
class InviteInput:
    email: str = ""
    external_id: str = ""
    first_name: str = ""
    last_name: str = ""
    role: str = Role.MEMBER
    access_policy: AccessPolicy | None = None
    access_parameters: dict = field(default_factory=dict)
    profile: str = ""
    send_email: bool = True
    upsert: bool = False


@dataclass(frozen=True)
class InviteResult:
    membership: Membership
    invitation: SecurityRequest | None
    # "invited": a new account, with a set-password link, or, known only by an external ID, an
    # invitation accepted at the first sign-in through an identity provider; "added": an
    # existing account, a member at once; "updated": an existing member changed (upsert).
    outcome: str
    email_sent: bool = False  # an email (set-password link or "added") was written to the outbox


def invite_input_errors(data: InviteInput) -> dict[str, list[str]]:
    """Field errors of an invite, without touching the database (used per CSV row too)."""
    errors: dict[str, list[str]] = {}
    email = normalize_email(data.email)
    if not email and not (data.external_id or "").strip():
        errors["email"] = ["Give an email address or an external ID."]
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors["email"] = ["Enter a valid email address."]
    if data.role not in Role.values:
        errors["role"] = [f"Choose one of {', '.join(Role.values)}."]
    for name in ("first_name", "last_name"):
        if len(getattr(data, name) or "") > 150:
            errors[name] = ["At most 150 characters."]
    return errors


def _inviter_name(actor: Actor) -> str:
    return (actor.user.get_full_name() or actor.user.email or "") if actor.user else ""


def _send_link_email(*, kind: str, invitation: SecurityRequest, url: str, actor: Actor) -> None:
    message_enqueue(**_link_email(kind=kind, invitation=invitation, url=url, actor=actor))


def _link_email(*, kind: str, invitation: SecurityRequest, url: str, actor: Actor) -> dict:
    """The email carrying a set-password link (`message_enqueue`'s arguments)."""
    user = invitation.user
    return {
        "kind": kind,
        "to_email": user.email,
        "project": invitation.project,
        "user": user,
        "context": {
            "link": url,
            "expires_at": invitation.expires_at,
            "first_name": user.first_name,
            "inviter_name": _inviter_name(actor),
        },
        "idempotency_key": security_link_message_key(invitation, invitation.send_count),
    }


def _links_unsent(invitations: list[SecurityRequest]) -> None:
    """Nothing was sent (`send_email` off): the links exist only to be replaced by a resend (which sends)."""
    for invitation in invitations:
        invitation.last_sent_at, invitation.send_count = None, 0
    SecurityRequest.objects.filter(pk__in=[i.pk for i in invitations]).update(last_sent_at=None, send_count=0)


def _invitation_created_event(
    *, project: Project, actor: Actor, membership: Membership, outcome: str, role: str, email_sent: bool
) -> dict:
    """The audit event of an invitation (`audit_record`'s arguments): what happened, not what was
    asked (no email is sent to a person without an address)."""
    return {
        "action": AuditAction.INVITATION_CREATED,
        "actor": actor,
        "project": project,
        "target": membership,
        "details": {"outcome": outcome, "role": role, "email_sent": email_sent},
    }


def _find_user(project: Project, data: InviteInput) -> User | None:
    email = normalize_email(data.email)
    by_email = User.objects.filter(email__iexact=email).first() if email else None
    external_id = (data.external_id or "").strip()
    by_external = None
    if external_id:
        by_external = (
            Membership.objects.filter(project=project, external_id=external_id).select_related("user").first()
        )
    if by_email and by_external and by_external.user_id != by_email.pk:
        raise ApplicationError(
            "That external ID belongs to another member of this project.",
            code=ErrorCode.CONFLICT,
            status=409,
            fields={"external_id": ["Already used by another member."]},
        )
    return by_email or (by_external.user if by_external else None)


@transaction.atomic
def invitation_create(*, project: Project, actor: Actor, data: InviteInput) -> InviteResult:
    """Invite one person. A new user gets a set-password link; an existing user is added.

    An existing member is a 409 (`already_member`) unless `upsert`, which updates the
    membership instead. The email is written to the outbox in this transaction.
    """
    errors = invite_input_errors(data)
    if errors:
        raise ApplicationError("The invitation is not valid.", fields=errors)
    user = _find_user(project, data)
    membership = Membership.objects.filter(project=project, user=user).first() if user else None
    if membership is not None:
        if not data.upsert:
            raise ApplicationError(
                "This person is already a member of the project.", code=ALREADY_MEMBER, status=409
            )
        membership = membership_update(
            membership=membership,
            actor=actor,
            role=data.role,
            is_active=True,
            access_policy=data.access_policy,
            access_parameters=data.access_parameters,
            external_id=data.external_id or membership.external_id,
            profile=data.profile or membership.profile,
        )
        return InviteResult(membership=membership, invitation=None, outcome="updated")

    if user is None:
        user, _ = user_get_or_create(email=data.email, first_name=data.first_name, last_name=data.last_name)
    membership = membership_create(
        project=project,
        user=user,
        actor=actor,
        role=data.role,
        access_policy=data.access_policy,
        access_parameters=data.access_parameters,
        external_id=data.external_id,
        profile=data.profile,
    )
    needs_password = not user.has_usable_password() and bool(user.email)
    email_sent = False
    if needs_password:
        link = security_link_issue(
            kind=SecurityRequestKind.INVITE,
            user=user,
            project=project,
            membership=membership,
            invited_by=actor.user,
        )
        invitation, outcome = link.request, "invited"
        if data.send_email:
            _send_link_email(
                kind=MessageKind.WELCOME_SET_PASSWORD, invitation=invitation, url=link.url, actor=actor
            )
            email_sent = True
        else:
            _links_unsent([invitation])
    elif not user.email:
        # A new account known only by an external ID: no link to send and nothing to send it to.
        # The invitation stays open until the person's first sign-in through an identity
        # provider accepts it (invitation_accept_pending), so the portal shows them as invited.
        invitation = SecurityRequest.objects.create(
            kind=SecurityRequestKind.INVITE,
            user=user,
            project=project,
            membership=membership,
            invited_by=actor.user,
            email="",
            expires_at=clock.now() + timedelta(seconds=app_settings.INVITE_LINK_TTL_SECONDS),
        )
        outcome = "invited"
    else:
        # An existing account: nothing to set, the membership is live.
        now = clock.now()
        invitation = SecurityRequest.objects.create(
            kind=SecurityRequestKind.INVITE,
            user=user,
            project=project,
            membership=membership,
            invited_by=actor.user,
            email=user.email or "",
            expires_at=now,
            used_at=now,
            last_sent_at=now if (data.send_email and user.email) else None,
            send_count=1 if (data.send_email and user.email) else 0,
        )
        outcome = "added"
        if data.send_email and user.email:
            message_enqueue(
                kind=MessageKind.ADDED_TO_PROJECT,
                to_email=user.email,
                project=project,
                user=user,
                context={
                    "link": f"{_base_url()}/accounts/login/",
                    "first_name": user.first_name,
                    "inviter_name": _inviter_name(actor),
                },
                idempotency_key=security_link_message_key(invitation, 1),
            )
            email_sent = True
    audit_record(
        **_invitation_created_event(
            project=project,
            actor=actor,
            membership=membership,
            outcome=outcome,
            role=data.role,
            email_sent=email_sent,
        )
    )
    return InviteResult(membership=membership, invitation=invitation, outcome=outcome, email_sent=email_sent)


@transaction.atomic
def invitations_create_many(
    *, project: Project, actor: Actor, invites: list[InviteInput]
) -> list[InviteResult | ApplicationError]:
    """`invitation_create` for each invite, in order, with the same outcome for each (its result,
    or the ApplicationError it raised, having written nothing for that one): a bulk invite's chunk.

    The common case, a new person with an email address, is written for all of them at once:
    the users, their allauth addresses, memberships, set-password links, outbox emails and audit
    events (with their webhook deliveries) each in one INSERT, built by the same rule functions
    as one invitation (`user_build`, `membership_build`, `security_link_new`, `_link_email`,
    `messages_enqueue`, `audit_record_many`). Every other invite (the address or the external ID
    belongs to someone already, invalid input, `upsert`) goes through `invitation_create` itself,
    in its place in the order, after the new people before it were written. A concurrent write
    that collides with the batch (a unique email or external ID taken meanwhile) makes the batch
    fall back to `invitation_create` one at a time, which reports the collision as it would.
    """
    outcomes: list[InviteResult | ApplicationError | None] = [None] * len(invites)
    taken_emails, taken_external_ids = _people_known(project, invites)
    pending: list[tuple[int, InviteInput, Membership]] = []
    for index, data in enumerate(invites):
        email = normalize_email(data.email)
        external_id = (data.external_id or "").strip()
        new_person = (
            bool(email)
            and email not in taken_emails
            and external_id not in taken_external_ids
            and not data.upsert
            and not invite_input_errors(data)
        )
        # Whatever this invite does, a later one with the same address or external ID must see it.
        taken_emails.add(email)
        if external_id:
            taken_external_ids.add(external_id)
        if not new_person:
            _invite_new_people(project, actor, pending, outcomes)
            outcomes[index] = _invite_one(project, actor, data)
            continue
        try:
            membership = membership_build(
                project=project,
                user=user_build(email=email, first_name=data.first_name, last_name=data.last_name),
                actor=actor,
                role=data.role,
                access_policy=data.access_policy,
                access_parameters=data.access_parameters,
                external_id=data.external_id,
                profile=data.profile,
            )
        except ApplicationError as error:  # as invitation_create: nothing written for this one
            outcomes[index] = error
            continue
        pending.append((index, data, membership))
    _invite_new_people(project, actor, pending, outcomes)
    return outcomes  # type: ignore[return-value]


def _people_known(project: Project, invites: list[InviteInput]) -> tuple[set, set]:
    """The invites' addresses that are some user's, and their external IDs that are some member's
    of the project: two queries, the lookups of `_find_user` for the whole chunk."""
    emails = {normalize_email(data.email) for data in invites} - {None}
    external_ids = {(data.external_id or "").strip() for data in invites} - {""}
    taken_emails = set(
        User.objects.annotate(email_ci=Lower("email"))
        .filter(email_ci__in=emails)
        .values_list("email_ci", flat=True)
        if emails
        else ()
    )
    taken_external_ids = set(
        Membership.objects.filter(project=project, external_id__in=external_ids).values_list(
            "external_id", flat=True
        )
        if external_ids
        else ()
    )
    return taken_emails, taken_external_ids


def _invite_one(project: Project, actor: Actor, data: InviteInput) -> InviteResult | ApplicationError:
    try:
        with transaction.atomic():
            return invitation_create(project=project, actor=actor, data=data)
    except ApplicationError as error:
        return error


def _invite_new_people(
    project: Project,
    actor: Actor,
    pending: list[tuple[int, InviteInput, Membership]],
    outcomes: list,
) -> None:
    """Write the pending new people (see invitations_create_many) and empty `pending`."""
    if not pending:
        return
    batch, pending[:] = list(pending), []
    try:
        with transaction.atomic():
            results = _write_new_people(project, actor, batch)
    except IntegrityError:
        # Someone took one of these addresses or external IDs since the lookup: one at a time,
        # each reported as invitation_create reports it.
        for index, data, _membership in batch:
            outcomes[index] = _invite_one(project, actor, data)
        return
    for (index, _data, _membership), result in zip(batch, results, strict=True):
        outcomes[index] = result


def _write_new_people(
    project: Project, actor: Actor, batch: list[tuple[int, InviteInput, Membership]]
) -> list[InviteResult]:
    """invitation_create's "new account with an email address" branch for each, in one INSERT per table."""
    memberships = [membership for _index, _data, membership in batch]
    users_create_many(users=[membership.user for membership in memberships])
    memberships_create_many(memberships=memberships)
    links = security_links_issue_many(
        links=[
            {
                "kind": SecurityRequestKind.INVITE,
                "user": membership.user,
                "project": project,
                "membership": membership,
                "invited_by": actor.user,
            }
            for membership in memberships
        ]
    )
    unsent = [link.request for (_i, data, _m), link in zip(batch, links, strict=True) if not data.send_email]
    if unsent:
        _links_unsent(unsent)
    messages_enqueue(
        messages=[
            _link_email(
                kind=MessageKind.WELCOME_SET_PASSWORD, invitation=link.request, url=link.url, actor=actor
            )
            for (_i, data, _m), link in zip(batch, links, strict=True)
            if data.send_email
        ]
    )
    events = []
    results = []
    for (_index, data, membership), link in zip(batch, links, strict=True):
        events.append(membership_created_event(membership=membership, actor=actor))
        events.append(
            _invitation_created_event(
                project=project,
                actor=actor,
                membership=membership,
                outcome="invited",
                role=data.role,
                email_sent=data.send_email,
            )
        )
        results.append(
            InviteResult(
                membership=membership, invitation=link.request, outcome="invited", email_sent=data.send_email
            )
        )
    audit_record_many(events=events)
    return results


def _base_url() -> str:
    return app_settings.APP_BASE_URL


@transaction.atomic
def invitation_resend(*, invitation: SecurityRequest, actor: Actor) -> SecurityRequest:
    """Send a pending or expired invitation again with a new link; the old link stops working."""
    invitation = (
        SecurityRequest.objects.select_for_update(of=("self",))
        .select_related("user", "project")
        .get(pk=invitation.pk)
    )
    status = invitation.status_at(clock.now())
    if invitation.kind == SecurityRequestKind.INVITE and not invitation.user.email:
        raise ApplicationError(
            "This person has no email address to send an invitation to; they join at their first "
            "sign-in through an identity provider.",
            code=ErrorCode.CONFLICT,
            status=409,
        )
    if (
        invitation.kind != SecurityRequestKind.INVITE
        or status not in ("pending", "expired")
        or not invitation.secret_hash
    ):
        raise ApplicationError(
            f"Only pending or expired invitations can be resent (this one is {status}).",
            code=ErrorCode.CONFLICT,
            status=409,
        )
    if not invitation.user.email:
        raise ApplicationError("This person has no email address to send to.", status=400)
    link = security_link_rotate(request=invitation)
    _send_link_email(
        kind=MessageKind.WELCOME_SET_PASSWORD, invitation=link.request, url=link.url, actor=actor
    )
    audit_record(
        action=AuditAction.INVITATION_RESENT,
        actor=actor,
        project=invitation.project,
        target=invitation.membership,
        details={"send_count": invitation.send_count},
    )
    return link.request


@transaction.atomic
def invitation_revoke(*, invitation: SecurityRequest, actor: Actor) -> SecurityRequest:
    """Withdraw a pending or expired invitation: the link dies and the membership is deactivated."""
    invitation = (
        SecurityRequest.objects.select_for_update(of=("self",))
        .select_related("user", "project")
        .get(pk=invitation.pk)
    )
    status = invitation.status_at(clock.now())
    if invitation.kind != SecurityRequestKind.INVITE or status not in ("pending", "expired"):
        raise ApplicationError(
            f"Only pending or expired invitations can be revoked (this one is {status}); "
            "deactivate the membership instead.",
            code=ErrorCode.CONFLICT,
            status=409,
        )
    membership = invitation.membership
    if membership is not None and not actor_may(
        actor=actor, action=MemberAction.REVOKE_INVITATION, membership=membership
    ):
        raise ApplicationError(
            "Only an owner can revoke an owner's invitation.", code=ErrorCode.PERMISSION_DENIED, status=403
        )
    invitation.revoked_at = clock.now()
    invitation.save(update_fields=["revoked_at"])
    if invitation.membership is not None and invitation.membership.is_active:
        membership_update(membership=invitation.membership, actor=actor, is_active=False)
    if invitation.user.email:
        message_enqueue(
            kind=MessageKind.INVITATION_REVOKED,
            to_email=invitation.user.email,
            project=invitation.project,
            user=invitation.user,
            context={"first_name": invitation.user.first_name},
            idempotency_key=security_link_message_key(invitation, "revoked"),
        )
    audit_record(
        action=AuditAction.INVITATION_REVOKED,
        actor=actor,
        project=invitation.project,
        target=invitation.membership,
    )
    return invitation


@transaction.atomic
def invitation_accept_pending(*, membership: Membership, actor: Actor, via: str) -> int:
    """Mark the membership's open invitations accepted (the person arrived another way, e.g. a
    federated sign-in); their links stop working. An expired one too: the person is here, so it
    is not waiting any more (the membership was live all along). Returns how many were open."""
    now = clock.now()
    open_invitations = list(
        SecurityRequest.objects.select_for_update().filter(
            membership=membership,
            kind=SecurityRequestKind.INVITE,
            used_at__isnull=True,
            revoked_at__isnull=True,
        )
    )
    for invitation in open_invitations:
        invitation.used_at = now
        invitation.save(update_fields=["used_at"])
        audit_record(
            action=AuditAction.INVITATION_ACCEPTED,
            actor=actor,
            project=membership.project,
            target=membership,
            details={"via": via},
        )
    return len(open_invitations)
