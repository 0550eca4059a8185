"""REST API for the outbox of a project (here until notifications has an API of its own)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from identity.api import Pagination, ProjectAdminApi
from identity.api_schema import PROJECT_API_ERRORS
from notifications import selectors
from notifications.models import MessageKind, MessageStatus
from notifications.services import message_resend


class MessageOutput(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=MessageKind.choices)
    to_email = serializers.EmailField()
    subject = serializers.CharField()
    status = serializers.ChoiceField(choices=MessageStatus.choices)
    attempts = serializers.IntegerField()
    last_error = serializers.CharField()
    next_attempt_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    sent_at = serializers.DateTimeField(allow_null=True)
    esp_message_id = serializers.CharField()


class OutboxListApi(ProjectAdminApi):
    @extend_schema(
        tags=["outbox"],
        parameters=[
            OpenApiParameter("status", str, enum=MessageStatus.values),
            OpenApiParameter("kind", str, enum=MessageKind.values),
            OpenApiParameter("q", str, description="Recipient or subject"),
        ],
        responses={200: MessageOutput(many=True), **PROJECT_API_ERRORS},
    )
    def get(self, request: Request, project_id) -> Response:
        messages = selectors.message_list(
            project=self.project,
            status=request.query_params.get("status", ""),
            kind=request.query_params.get("kind", ""),
            query=request.query_params.get("q", ""),
        ).only(*MessageOutput().fields.keys())
        paginator = Pagination()
        page = paginator.paginate_queryset(messages, request, view=self)
        return paginator.get_paginated_response(MessageOutput(page, many=True).data)


class OutboxResendApi(ProjectAdminApi):
    @extend_schema(tags=["outbox"], request=None, responses={200: MessageOutput, **PROJECT_API_ERRORS})
    def post(self, request: Request, project_id, message_id) -> Response:
        message = selectors.message_get(project=self.project, message_id=message_id)
        return Response(MessageOutput(message_resend(message=message, actor=self.actor)).data)
