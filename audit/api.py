"""REST API of the audit log: GET /api/v1/projects/{project_id}/audit-events/ (+ /export/ as CSV)."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from audit import selectors
from audit.exports import audit_csv_response
from audit.forms import AuditFilterForm
from identity.api import Pagination, ProjectAdminApi, paginated_response
from identity.api_schema import error_responses
from identity.errors import ApplicationError, error_fields

FILTER_PARAMETERS = [
    OpenApiParameter("action", str, description="An action, e.g. membership.deactivated."),
    OpenApiParameter("actor", str, description="Part of the actor's email, or a client id."),
    OpenApiParameter("target", str, description="Part of the target's name, or its id."),
    OpenApiParameter("outcome", str, enum=["success", "failure", "denied"]),
    OpenApiParameter("since", OpenApiTypes.DATETIME, description="Inclusive, ISO 8601."),
    OpenApiParameter("until", OpenApiTypes.DATETIME, description="Exclusive, ISO 8601."),
]


class AuditEventOutput(serializers.Serializer):
    id = serializers.UUIDField()
    created_at = serializers.DateTimeField()
    action = serializers.CharField()
    action_label = serializers.CharField(source="get_action_display")
    outcome = serializers.CharField()
    actor = serializers.CharField(source="actor_label", help_text="The admin's email, or client:<client_id>.")
    actor_client_id = serializers.CharField()
    target_type = serializers.CharField()
    target_id = serializers.CharField()
    target_label = serializers.CharField()
    ip_address = serializers.IPAddressField(allow_null=True)
    details = serializers.JSONField()


def _filters(request: Request) -> dict:
    form = AuditFilterForm(request.query_params)
    if not form.is_valid():
        raise ApplicationError("The filters are not valid.", fields=error_fields(form.errors))
    return form.filters()


class AuditEventListApi(ProjectAdminApi):
    pagination_class = Pagination

    @extend_schema(
        tags=["audit"],
        operation_id="audit_events_list",
        summary="The project's audit log, filtered, newest first",
        parameters=FILTER_PARAMETERS,
        responses={200: AuditEventOutput(many=True), **error_responses(400, 401, 403, 404)},
    )
    def get(self, request: Request, project_id) -> Response:
        events = selectors.audit_event_list(project=self.project, **_filters(request))
        return paginated_response(self, events, AuditEventOutput)


class AuditEventExportApi(ProjectAdminApi):
    @extend_schema(
        tags=["audit"],
        operation_id="audit_events_export",
        summary="The filtered audit log as CSV",
        parameters=FILTER_PARAMETERS,
        responses={(200, "text/csv"): OpenApiTypes.STR, **error_responses(400, 401, 403, 404)},
    )
    def get(self, request: Request, project_id) -> StreamingHttpResponse:
        events = selectors.audit_event_list(project=self.project, **_filters(request))
        return audit_csv_response(events, filename=f"audit-{self.project.slug}.csv")
