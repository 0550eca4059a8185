"""Self sign-up: a new account joins a project that allows it, or gets a project of its own."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest

from accounts.app_settings import app_settings
from accounts.models import Project, User
from accounts.services.memberships import membership_create
from accounts.services.projects import project_create
from audit.context import Actor
from audit.models import AuditAction
from audit.services import audit_record


def signup_target_project(slug: str | None) -> Project | None:
    """The project a sign-up may join: only one that allows self sign-up."""
    if not slug:
        return None
    return Project.objects.filter(slug=slug, allow_self_signup=True).first()


def signup_allowed(*, project_slug: str | None) -> bool:
    return app_settings.SIGNUP_OPEN or signup_target_project(project_slug) is not None


@transaction.atomic
def signup_complete(
    *, request: HttpRequest, user: User, project_slug: str | None, project_name: str = ""
) -> None:
    actor = Actor.from_request(request).with_user(user)
    target = signup_target_project(project_slug)
    if target is not None:
        membership_create(project=target, user=user, actor=actor)  # the project's default role
        project = target
    elif app_settings.SIGNUP_OPEN and app_settings.SIGNUP_CREATES_PROJECT:
        name = project_name.strip() or f"{user.email.split('@')[0]}'s project"
        project = project_create(name=name, owner=user, actor=actor)
    else:
        project = None
    audit_record(action=AuditAction.USER_SIGNED_UP, actor=actor, project=project, target=user)
