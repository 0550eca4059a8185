"""`okta_user_lifecycle`: Okta System Log events (from an event hook) applied to memberships.

- `user.lifecycle.deactivate`, `user.lifecycle.suspend` → the member's membership in the
  endpoint's project is deactivated (`accounts.services.membership_deactivate`; oauth revokes
  their tokens for the project's apps on `membership_deactivated`);
- `user.lifecycle.activate`, `user.lifecycle.unsuspend` → reactivated (`membership_reactivate`);
- `user.account.update_profile` → first and last name (from the target's `displayName`) and the
  email (its `alternateId`, the Okta login) refreshed (`accounts.services.user_profile_refresh`),
  within the limits below.

The person is each `target` of type `User`: the membership of the endpoint's project whose
external ID is the Okta user id (`target[].id`), else whose user's email is `alternateId`. Never a
membership of another project. Other event types are stored and left alone.

A user account is shared by every project it belongs to, so a project's webhook changes a
name or an email only on an account that is this project's alone (no membership elsewhere, not
staff), and the email only between addresses at domains this project has verified
(federation's domain claims): one tenant's sender never renames or re-addresses another
tenant's user. The webhook acts as `WebhookActor` (not an owner): an owner's membership is not
deactivated this way (the event is dead with the service's reason).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from accounts.models import Membership, normalize_email
from accounts.selectors import user_belongs_to_project_alone
from accounts.services import membership_deactivate, membership_reactivate, user_profile_refresh
from audit.context import Actor
from audit.models import AuditAction
from audit.services import audit_record
from federation.models import DomainClaim
from federation.selectors import email_domain
from webhooks.handlers import HandlerRefused, WebhookHandler

DEACTIVATE = frozenset({"user.lifecycle.deactivate", "user.lifecycle.suspend"})
REACTIVATE = frozenset({"user.lifecycle.activate", "user.lifecycle.unsuspend"})
PROFILE_UPDATE = "user.account.update_profile"


@dataclass(frozen=True)
class OktaUser:
    """A `target` of type User: Okta's user id, login (`alternateId`) and display name."""

    okta_id: str
    login: str
    display_name: str

    @property
    def email(self) -> str | None:
        return normalize_email(self.login) if "@" in self.login else None

    def __str__(self) -> str:
        return self.login or self.okta_id


def okta_users(event: dict[str, Any]) -> list[OktaUser]:
    targets = event.get("target")
    found = []
    for target in targets if isinstance(targets, list) else []:
        if not isinstance(target, dict) or target.get("type") != "User":
            continue
        values = [target.get(key) for key in ("id", "alternateId", "displayName")]
        okta_id, login, display_name = (value.strip() if isinstance(value, str) else "" for value in values)
        if okta_id or login:
            found.append(OktaUser(okta_id=okta_id[:255], login=login[:254], display_name=display_name[:300]))
    return found


def membership_for(project, person: OktaUser) -> Membership | None:
    """The project's membership of this Okta user: by external ID, else by email. Only this project's."""
    memberships = Membership.objects.select_related("user", "project").filter(project=project)
    if person.okta_id:
        membership = memberships.filter(external_id=person.okta_id).first()
        if membership is not None:
            return membership
    if person.email:
        return memberships.filter(user__email__iexact=person.email).first()
    return None


def _split_name(display_name: str) -> tuple[str, str]:
    first, _, last = display_name.strip().partition(" ")
    return first.strip(), last.strip()


def _domain_verified_by(project, email: str) -> bool:
    domain = email_domain(email)
    return (
        domain is not None
        and DomainClaim.objects.filter(project=project, domain=domain, verified_at__isnull=False).exists()
    )


def profile_refresh(membership: Membership, person: OktaUser, actor: Actor) -> str:
    user, project = membership.user, membership.project
    if not user_belongs_to_project_alone(user=membership.user, project=membership.project):
        return (
            f"{user}'s account is shared with other projects (or is staff): this project's webhooks "
            "do not change its name or email."
        )
    first_name, last_name = _split_name(person.display_name)
    email = person.email
    email_note = ""
    if email and normalize_email(user.email) != email:
        if not (
            _domain_verified_by(project, email)
            and (not user.email or _domain_verified_by(project, user.email))
        ):
            email_note = (
                " The email was not changed: both addresses must be at domains this project has verified."
            )
            email = None
    before = str(user)
    changed = user_profile_refresh(
        user=user, first_name=first_name, last_name=last_name, verified_email=email
    )
    if not changed:
        return f"{user}'s name and email are up to date.{email_note}"
    audit_record(
        action=AuditAction.USER_PROFILE_REFRESHED,
        actor=actor,
        project=project,
        target=user,
        details={"fields": changed, "source": "okta event hook", "okta_user": person.okta_id},
    )
    return f"Updated {before}'s {', '.join(field.replace('_', ' ') for field in changed)}.{email_note}"


class OktaUserLifecycleHandler(WebhookHandler):
    name = "okta_user_lifecycle"
    label = "Okta user lifecycle → memberships"
    description = (
        "Deactivate / suspend deactivates the member (their tokens are revoked), activate / unsuspend "
        "reactivates them, a profile update refreshes name and email."
    )
    schemes = ("okta",)

    def handle(self, *, event, payload: Any, actor: Actor) -> str:
        if not isinstance(payload, dict):
            raise HandlerRefused("The event is not a JSON object.")
        event_type = payload.get("eventType")
        if event_type not in DEACTIVATE | REACTIVATE | {PROFILE_UPDATE}:
            return f"Event type {str(event_type)[:100]!r} is not handled; nothing to do."
        people = okta_users(payload)
        if not people:
            return "The event names no user; nothing to do."
        project = event.endpoint.project
        said = []
        for person in people:
            membership = membership_for(project, person)
            if membership is None:
                said.append(f"No member of this project is Okta user {person}; nothing to do.")
            elif event_type == PROFILE_UPDATE:
                said.append(profile_refresh(membership, person, actor))
            elif event_type in DEACTIVATE:
                if membership.is_active:
                    membership_deactivate(membership=membership, actor=actor)
                    said.append(f"Deactivated {membership.user}'s membership; their tokens are revoked.")
                else:
                    said.append(f"{membership.user}'s membership was already inactive.")
            elif not membership.is_active:
                membership_reactivate(membership=membership, actor=actor)
                said.append(f"Reactivated {membership.user}'s membership.")
            else:
                said.append(f"{membership.user}'s membership was already active.")
        return " ".join(said)
