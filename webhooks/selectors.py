"""Reads of the webhooks app: always scoped to a project, except the lookup of a receiving URL."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet
from django.http import Http404

from oauth.tokens import token_checksum
from webhooks.models import InboundEvent, InboundEventStatus, WebhookEndpoint


def endpoint_list(*, project, query: str = "") -> QuerySet[WebhookEndpoint]:
    """The project's endpoints with their count of events that failed or died."""
    qs = WebhookEndpoint.objects.filter(project=project).select_related("client")
    if query.strip():
        qs = qs.filter(name__icontains=query.strip())
    return qs.annotate(
        event_count=Count("events"),
        problem_count=Count(
            "events", filter=Q(events__status__in=[InboundEventStatus.FAILED, InboundEventStatus.DEAD])
        ),
    ).order_by("name")


def endpoint_get(*, project, endpoint_id) -> WebhookEndpoint:
    """One endpoint of `project`; another project's id (or a malformed one) is a 404."""
    try:
        return WebhookEndpoint.objects.select_related("client", "project").get(
            project=project, pk=endpoint_id
        )
    except (WebhookEndpoint.DoesNotExist, ValueError, ValidationError) as exc:
        raise Http404("No such webhook endpoint.") from exc


def endpoint_for_token(token: str) -> WebhookEndpoint | None:
    """The active endpoint a receiving URL's token opens, or None (unknown, deleted or disabled)."""
    if not token or len(token) > 200:
        return None
    return (
        WebhookEndpoint.objects.select_related("client", "project")
        .filter(token_checksum=token_checksum(token), is_active=True)
        .first()
    )


def event_list(*, endpoint: WebhookEndpoint, status: str = "") -> QuerySet[InboundEvent]:
    """The endpoint's events, newest first, optionally of one status."""
    qs = InboundEvent.objects.filter(endpoint=endpoint)
    if status in InboundEventStatus.values:
        qs = qs.filter(status=status)
    return qs.defer("body").order_by("-created_at")


def event_get(*, endpoint: WebhookEndpoint, event_pk) -> InboundEvent:
    """One event of `endpoint` (so of its project); anything else is a 404."""
    try:
        return InboundEvent.objects.select_related("endpoint__project").get(endpoint=endpoint, pk=event_pk)
    except (InboundEvent.DoesNotExist, ValueError, ValidationError) as exc:
        raise Http404("No such event.") from exc
