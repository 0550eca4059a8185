"""A project's overview (`portal:project`, the project's home in the portal): what needs an
admin's attention, with links to the pages that list it. A fixed number of queries whatever the
project's size; every count is tenant-scoped through the apps' selectors."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from accounts import selectors
from accounts.models import Role
from audit import selectors as audit_selectors
from audit.models import AuditAction
from identity.clock import clock
from identity.portal import ProjectAdminView, overview_panels
from notifications import selectors as outbox_selectors
from notifications.models import MessageStatus

SIGN_IN_FAILURES_WINDOW = timedelta(hours=24)
RECENT_FAILURES_SHOWN = 5
OUTBOX_PROBLEMS = (MessageStatus.FAILED, MessageStatus.DEAD, MessageStatus.BOUNCED, MessageStatus.COMPLAINED)


class ProjectOverviewView(ProjectAdminView):
    section = "overview"

    def url(self, name: str, **query: str) -> str:
        url = reverse(f"portal:{name}", kwargs={"project_slug": self.project.slug})
        return f"{url}?{urlencode(query)}" if query else url

    def get(self, request: HttpRequest, project_slug: str) -> HttpResponse:
        project = self.project
        members = selectors.membership_counts(project=project)
        since = clock.now() - SIGN_IN_FAILURES_WINDOW
        failures = audit_selectors.audit_event_list(
            project=project, action=AuditAction.USER_SIGN_IN_FAILED, since=since
        )
        outbox = dict(
            outbox_selectors.message_list(project=project)
            .filter(status__in=OUTBOX_PROBLEMS)
            .order_by()
            .values_list("status")
            .annotate(count=Count("pk"))
        )
        roles = [
            {
                "label": label,
                "counts": members[role],
                "urls": {
                    status: self.url("users", role=role, status=status)
                    for status in ("active", "invited", "inactive")
                },
            }
            for role, label in Role.choices
        ]
        context = {
            "roles": roles,
            "members": members["all"],
            "member_urls": {
                status: self.url("users", status=status) for status in ("active", "invited", "inactive")
            },
            "pending_invitations": selectors.invitation_list(project=project, status="pending").count(),
            "failures_count": failures.count(),
            "failures": list(failures[:RECENT_FAILURES_SHOWN]),
            "failures_url": self.url(
                "audit", action=AuditAction.USER_SIGN_IN_FAILED, since=since.strftime("%Y-%m-%dT%H:%M:%SZ")
            ),
            "outbox": [
                {
                    "label": MessageStatus(status).label,
                    "count": outbox.get(status, 0),
                    "url": self.url("outbox", status=status),
                }
                for status in OUTBOX_PROBLEMS
            ],
            "outbox_problems": sum(outbox.values()),
            "panels": overview_panels(project=project),
        }
        return self.render(request, "portal/overview.html", context)
