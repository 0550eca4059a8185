"""The project portal's shared parts: the base view, the section list, small view helpers.

Every app that has portal pages builds them on `ProjectAdminView`, routes them in its own
`portal_urls.py` (composed under `/portal/`, namespace `portal`, by identity/urls.py) and
declares its navigation entries as `portal_sections` on its AppConfig (identity/portal_sections.py).

identity imports no app at import time (docs/ARCHITECTURE.md, "Who may import whom"): the
tenancy gate (accounts) and the audit `Actor` are named by dotted path below and imported on
first use.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.module_loading import import_string
from django.views import View

from identity.errors import ApplicationError
from identity.portal_sections import PortalSection, portal_section, portal_sections

if TYPE_CHECKING:
    from django import forms

    from audit.context import Actor

# Who may administer which project (404 outside the user's projects, 403 for members), and the
# projects offered in the project switcher: the tenancy app's selectors.
PROJECT_GATE = "accounts.selectors.project_get_for_admin"
PROJECTS_ADMINISTERED = "accounts.selectors.project_list_administered"
ACTOR_CLASS = "audit.context.Actor"

__all__ = [
    "ComingSoonView",
    "ConfirmActionMixin",
    "Confirmation",
    "OverviewItem",
    "OverviewPanel",
    "PortalSection",
    "ProjectAdminView",
    "confirmation_page",
    "form_add_service_error",
    "overview_panels",
    "paginate",
    "portal_section",
    "portal_sections",
    "query_without_page",
    "shown_once_pop",
    "shown_once_put",
]

DEFAULT_PAGE_SIZE = 25


def paginate(request: HttpRequest, queryset, per_page: int | None = None) -> Page:
    """The page of `queryset` asked for by `?page=` (out-of-range pages give the last page)."""
    paginator = Paginator(queryset, per_page or int(getattr(settings, "PORTAL_PAGE_SIZE", DEFAULT_PAGE_SIZE)))
    return paginator.get_page(request.GET.get("page"))


def query_without_page(request: HttpRequest) -> str:
    """The current filters as a query string, for pagination links."""
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


_SHOWN_ONCE = "portal.shown_once"


def shown_once_put(request: HttpRequest, key: str, value: dict) -> None:
    """Keep something to be shown once (a new secret) in the server-side session for the page the
    POST redirects to (post/redirect/get: a reload never repeats the action, and the secret never
    appears in a URL). `shown_once_pop` takes it out on the first view."""
    stash = dict(request.session.get(_SHOWN_ONCE) or {})
    stash[key] = value
    request.session[_SHOWN_ONCE] = stash


def shown_once_pop(request: HttpRequest, key: str) -> dict | None:
    """What `shown_once_put` kept under `key`, removed from the session; None the second time."""
    stash = dict(request.session.get(_SHOWN_ONCE) or {})
    value = stash.pop(key, None)
    if value is not None:
        request.session[_SHOWN_ONCE] = stash
    return value


def form_add_service_error(form: forms.BaseForm, error: ApplicationError) -> None:
    """Show a service's field errors next to the form's fields; the message goes on top when
    some field is not on the form (or none was named), so nothing the service said is lost."""
    placed = False
    for field, field_messages in error.fields.items():
        if field in form.fields:
            for message in field_messages:
                form.add_error(field, message)
            placed = True
    if not placed or set(error.fields) - set(form.fields):
        form.add_error(None, error.message)


# The session key of the project the admin last worked in (the portal's home opens it).
LAST_PROJECT_KEY = "_portal_last_project"


def section_url_name(key: str) -> str | None:
    """The URL name of a declared portal section (`PortalSection.key`), or None."""
    return next((s.url_name for s in portal_sections() if s.key == key), None)


class ProjectAdminView(LoginRequiredMixin, View):
    """Base of every project page: `self.project` for an active owner/admin of the slug's project.

    Not signed in: the sign-in page. Not an active member (or no such project): 404, so a
    project's existence is never revealed. A member without an admin role: 403.
    """

    section = ""

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.project, self.my_membership = import_string(PROJECT_GATE)(
            user=request.user, slug=kwargs["project_slug"]
        )
        request.portal_project = self.project
        if request.session.get(LAST_PROJECT_KEY) != self.project.slug:
            request.session[LAST_PROJECT_KEY] = self.project.slug  # where /portal/ opens next time
        return super().dispatch(request, *args, **kwargs)

    def render(
        self, request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
    ) -> HttpResponse:
        context = {
            "project": self.project,
            "my_membership": self.my_membership,
            "section": self.section,
            "sections": [(s.key, s.title, s.url_name) for s in portal_sections()],
            "switchable_projects": import_string(PROJECTS_ADMINISTERED)(user=request.user),
            **context,
        }
        return render(request, template, context, status=status)

    @property
    def actor(self) -> Actor:
        return import_string(ACTOR_CLASS).from_request(self.request)


class ComingSoonView(ProjectAdminView):
    """A declared section whose pages have not landed yet says so instead of pretending."""

    def get(self, request: HttpRequest, project_slug: str) -> HttpResponse:
        return self.render(request, "portal/coming.html", {"title": portal_section(self.section).title})


# --- Safe actions: one confirmation page for every destructive or security action -----------------

CONFIRM_TEMPLATE = "confirm.html"


@dataclass(frozen=True)
class Confirmation:
    """What the confirmation page of a destructive or security action says (templates/confirm.html).

    Plain words, in this order: the question (`title`), who or what is affected (`affects`), what
    happens (`consequences`: tokens, sessions, emails, one sentence each), whether it can be
    undone (`undo`), then the danger button (`button`, a POST to `action_url`, default: the page's
    own URL) and Cancel (`cancel_url`). `blockers` instead of the button when it cannot be done
    now (a policy in use); `form` adds inputs posted with the button (a secret to set).
    """

    title: str
    button: str
    cancel_url: str
    affects: str = ""
    consequences: Sequence[str] = ()
    undo: str = ""
    blockers: Sequence[str] = ()
    blocked_advice: str = ""
    form: forms.BaseForm | None = None
    hidden: dict[str, str] | None = None
    action_url: str = ""
    danger: bool = True


def confirmation_page(
    request: HttpRequest,
    confirmation: Confirmation,
    *,
    view: ProjectAdminView | None = None,
    status: int = 200,
) -> HttpResponse:
    """The confirmation page: inside the project portal when `view` is a project page, else on
    the site's own layout (My account pages). Changes nothing."""
    context = {"confirm": confirmation}
    if view is not None:
        response = view.render(
            request, CONFIRM_TEMPLATE, {**context, "base_template": "portal/base.html"}, status
        )
    else:
        response = render(request, CONFIRM_TEMPLATE, {**context, "base_template": "base.html"}, status=status)
    response["Cache-Control"] = "no-store"
    return response


class ConfirmActionMixin:
    """A destructive or security action at one URL: GET asks (the confirmation page, nothing
    changes, works without JavaScript), POST does it. The detail page links to the URL instead of
    posting to it. Subclasses say what the page says in `confirmation(**url kwargs)`; their
    `post()` does the action. Used by every such action of the portal and My account."""

    # What the page says: `confirmation(**the URL's keyword arguments but project_slug)`.
    confirmation: Callable[..., Confirmation]

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        kwargs.pop("project_slug", None)
        confirmation = self.confirmation(**kwargs)
        return confirmation_page(
            request, confirmation, view=self if isinstance(self, ProjectAdminView) else None
        )


# --- A project's overview: panels contributed by apps ---------------------------------------------


@dataclass(frozen=True)
class OverviewItem:
    """One line of an overview panel: a count with the page that lists those things."""

    label: str
    value: int
    url: str = ""
    attention: bool = False  # a problem when non-zero (failed messages, failed sign-ins)


@dataclass(frozen=True)
class OverviewPanel:
    """A box on a project's overview page (`portal:project`), with a link to its section."""

    key: str
    title: str
    items: Sequence[OverviewItem] = ()
    link_text: str = ""
    link_url: str = ""
    order: int = 100


def overview_panels(*, project: Any) -> list[OverviewPanel]:
    """The panels other apps add to a project's overview: each AppConfig may list
    `portal_overview = ("app.module.function", …)`, functions `(*, project) -> OverviewPanel`
    that answer with a fixed number of queries, tenant-scoped through their app's selectors."""
    from django.apps import apps

    panels = [
        import_string(path)(project=project)
        for config in apps.get_app_configs()
        for path in getattr(config, "portal_overview", ())
    ]
    return sorted(panels, key=lambda panel: (panel.order, panel.key))
