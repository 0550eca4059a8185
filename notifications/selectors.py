from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404

from notifications.models import OutboundMessage


def message_list(*, project, status: str = "", kind: str = "", query: str = "") -> QuerySet[OutboundMessage]:
    """Messages of one project (tenant-scoped), newest first."""
    qs = OutboundMessage.objects.filter(project=project).defer("body_text", "body_html")
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    if query.strip():
        qs = qs.filter(Q(to_email__icontains=query.strip()) | Q(subject__icontains=query.strip()))
    return qs.order_by("-created_at")


def message_get(*, project, message_id) -> OutboundMessage:
    try:
        return OutboundMessage.objects.get(project=project, pk=message_id)
    except (OutboundMessage.DoesNotExist, ValueError, ValidationError) as exc:
        raise Http404("No such message.") from exc
