"""Small read helpers the REST API needs on top of `accounts.selectors`.

Kept apart from the selectors because they deal with API concerns: the
caller's own role next to each project and bearer tokens bound to the project of
the OAuth client that obtained them.
"""

from __future__ import annotations

from django.db.models import OuterRef, QuerySet, Subquery
from django.http import Http404
from rest_framework.request import Request

from accounts import selectors
from accounts.api_permissions import automation_client
from accounts.models import Membership, Project, User


def token_project_id(request: Request):
    """The project of the OAuth client whose bearer token authenticated `request`, else None.

    A token obtained through one project's client only opens that project: an
    application registered in project B must not administer project A just
    because its user happens to be an admin there too. Session requests are not
    bound (None).
    """
    application = getattr(request.auth, "application", None)
    return getattr(application, "project_id", None)


def project_list_for_caller(*, user: User | None, only_project_id=None, client=None) -> QuerySet[Project]:
    """Projects where `user` is an active member, each annotated with `my_role`.

    Without a user (a client-credentials token) it is the client's own project, with the
    role the client was given.
    """
    if user is None:
        from django.db.models import Value

        role = getattr(client, "role", "") or ""
        return Project.objects.filter(pk=only_project_id).annotate(my_role=Value(role))
    my_role = Membership.objects.filter(project=OuterRef("pk"), user=user, is_active=True).values("role")[:1]
    projects = selectors.project_list_for_user(user=user).annotate(my_role=Subquery(my_role))
    if only_project_id is not None:
        projects = projects.filter(pk=only_project_id)
    return projects


def project_get_for_caller(*, user: User | None, project_id, only_project_id=None, client=None) -> Project:
    """One of `project_list_for_caller`; anything else (other tenants included) is a 404."""
    project = (
        project_list_for_caller(user=user, only_project_id=only_project_id, client=client)
        .filter(pk=project_id)
        .first()
    )
    if project is None:
        raise Http404("No such project.")
    return project


def project_get_for_admin_caller(
    *, user: User | None, project_id, only_project_id=None, client=None
) -> tuple[Project, Membership | None]:
    """`selectors.project_get_for_admin`, refusing (404) projects a bound token does not open.

    An automation client (client-credentials token) opens only its own project, as admin
    when an admin gave it that role; with any other role it is refused (403).
    """
    if only_project_id is not None and str(only_project_id) != str(project_id):
        raise Http404("No such project.")
    if client is not None:
        if client.role != "admin":
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied("This client's role does not allow managing the project.")
        return client.project, None
    return selectors.project_get_for_admin(user=user, project_id=project_id)


def project_get_for_admin_request(*, request: Request, project_id) -> tuple[Project, Membership | None]:
    """`project_get_for_admin_caller` for the caller of `request` (identity.api.ProjectAdminApi's gate)."""
    return project_get_for_admin_caller(
        user=request.user,
        project_id=project_id,
        only_project_id=token_project_id(request),
        client=automation_client(request),
    )
