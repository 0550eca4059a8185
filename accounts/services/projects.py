from __future__ import annotations

from django.db import transaction
from django.utils.text import slugify

from accounts.models import Membership, Project, Role, User
from audit.context import Actor
from audit.models import AuditAction
from audit.services import audit_record
from identity.errors import ApplicationError, ErrorCode


def _unique_slug(base: str) -> str:
    base = slugify(base)[:50] or "project"
    slug, n = base, 2
    while Project.objects.filter(slug=slug).exists():
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
