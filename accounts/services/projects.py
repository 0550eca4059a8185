from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from accounts.models import Membership, Project, Role, User
from accounts.selectors import actor_is_owner
from audit.context import Actor
from audit.models import AuditAction
from audit.services import audit_record
from identity.errors import ApplicationError, ErrorCode, error_fields

# Slugs that would collide with the portal's own paths (/portal/switch/, /portal/projects/new/).
RESERVED_SLUGS = frozenset({"switch", "projects"})


def _unique_slug(base: str) -> str:
    base = slugify(base)[:50] or "project"
    slug, n = base, 2
    while slug in RESERVED_SLUGS or Project.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


@transaction.atomic
def project_create(
    *, name: str, owner: User, actor: Actor | None = None, slug: str | None = None, **fields
) -> Project:
    """Create a project with `owner` as its first (owner) member."""
    name = name.strip()
    if not name:
        raise ApplicationError("A project needs a name.", fields={"name": ["This field is required."]})
    if slug in RESERVED_SLUGS:
        raise ApplicationError(
            f"The slug {slug!r} is reserved.", fields={"slug": ["Reserved by the portal; choose another."]}
        )
    if slug and Project.objects.filter(slug=slug).exists():
        raise ApplicationError(
            f"The slug {slug!r} is taken.",
            code=ErrorCode.CONFLICT,
            status=409,
            fields={"slug": ["Already taken."]},
        )
    project = Project(name=name, slug=slug or _unique_slug(name), **fields)
    project.full_clean()
    project.save()
    membership = Membership.objects.create(user=owner, project=project, role=Role.OWNER)
    audit_record(action=AuditAction.PROJECT_CREATED, actor=actor, project=project, target=project)
    audit_record(
        action=AuditAction.MEMBERSHIP_CREATED,
        actor=actor,
        project=project,
        target=membership,
        details={"role": Role.OWNER},
    )
    return project


# What an administrator may change on a project; the id and timestamps never change.
PROJECT_SETTINGS = (
    "name",
    "slug",
    "display_name",
    "logo_url",
    "support_email",
    "from_email",
    "brand_color",
    "allowed_sign_in_methods",
    "mfa_required",
    "default_role",
    "default_access_policy",
    "allow_self_signup",
    "fhir_base_url",
    "session_idle_minutes",
    "session_max_hours",
)


# Who may sign in and how strongly: an owner's decision, not an admin's (admins may change the
# rest: names, branding, defaults for new members' access, FHIR base URL).
SIGN_IN_POLICY_SETTINGS = (
    "allowed_sign_in_methods",
    "mfa_required",
    "allow_self_signup",
    "default_role",
    "session_idle_minutes",
    "session_max_hours",
)


def _snapshot(project: Project) -> dict[str, Any]:
    """The audited settings of a project, for before/after diffs."""
    values = {name: getattr(project, name) for name in PROJECT_SETTINGS if name != "default_access_policy"}
    values["default_access_policy"] = (
        str(project.default_access_policy_id) if project.default_access_policy_id else None
    )
    return values


@transaction.atomic
def project_update(*, project: Project, actor: Actor, **changes: Any) -> Project:
    """Change a project's settings (`PROJECT_SETTINGS`); only the fields passed change.

    Audited with a before/after diff (nothing is recorded when nothing changed). Rules: the
    slug stays unique (409 `conflict`); the default access policy is one of the project's own;
    the model's validation (e.g. at least one sign-in method) holds.
    """
    unknown = sorted(set(changes) - set(PROJECT_SETTINGS))
    if unknown:
        raise TypeError(f"project_update() cannot change {', '.join(unknown)}")
    project = Project.objects.select_for_update().get(pk=project.pk)
    before = _snapshot(project)
    policy_changes = sorted(
        name for name in SIGN_IN_POLICY_SETTINGS if name in changes and changes[name] != before[name]
    )
    operator = actor.user is not None and actor.user.is_staff  # the Django admin's operators
    if policy_changes and not (operator or actor_is_owner(project=project, actor=actor)):
        raise ApplicationError(
            "Only an owner can change the project's sign-in policy.",
            code=ErrorCode.PERMISSION_DENIED,
            status=403,
            fields={name: ["Only an owner can change this."] for name in policy_changes},
        )
    for name, value in changes.items():
        setattr(project, name, value.strip() if isinstance(value, str) else value)
    policy = project.default_access_policy
    if policy is not None and policy.project_id != project.pk:
        raise ApplicationError(
            "That access policy does not exist in this project.",
            fields={"default_access_policy": ["Choose a policy of this project."]},
        )
    if project.slug in RESERVED_SLUGS:
        raise ApplicationError(
            f"The slug {project.slug!r} is reserved.",
            fields={"slug": ["Reserved by the portal; choose another."]},
        )
    if Project.objects.filter(slug=project.slug).exclude(pk=project.pk).exists():
        raise ApplicationError(
            f"The slug {project.slug!r} is taken.",
            code=ErrorCode.CONFLICT,
            status=409,
            fields={"slug": ["Already taken."]},
        )
    try:
        project.full_clean(validate_unique=False)
    except ValidationError as exc:
        raise ApplicationError("The input is not valid.", fields=error_fields(exc)) from exc
    try:
        with transaction.atomic():
            project.save()
    except IntegrityError as exc:  # a concurrent request took the slug
        raise ApplicationError(
            f"The slug {project.slug!r} is taken.", code=ErrorCode.CONFLICT, status=409
        ) from exc
    after = _snapshot(project)
    diff = {name: [before[name], after[name]] for name in before if before[name] != after[name]}
    if diff:
        audit_record(
            action=AuditAction.PROJECT_UPDATED,
            actor=actor,
            project=project,
            target=project,
            details={"changes": diff},
        )
    return project
