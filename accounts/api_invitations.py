"""REST API for invitations (single and bulk). Thin: parse, call a service, render."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import selectors
from accounts.models import BulkInvite, Role, SecurityRequest
from accounts.services.bulk_invites import bulk_invite_start, bulk_invite_summary
from accounts.services.invitations import InviteInput, invitation_create, invitation_resend, invitation_revoke
from identity.api import Pagination, ProjectAdminApi
from identity.api_schema import PROJECT_API_ERRORS


class InvitationOutput(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    email = serializers.CharField()
    user_id = serializers.UUIDField(source="user.id")
    membership_id = serializers.UUIDField(source="membership.id", allow_null=True)
    invited_by = serializers.UUIDField(source="invited_by_id", allow_null=True)
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    used_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    send_count = serializers.IntegerField()
    last_sent_at = serializers.DateTimeField(allow_null=True)


class InviteCreateApi(ProjectAdminApi):
    class InputSerializer(serializers.Serializer):
        email = serializers.EmailField(required=False, allow_blank=True, default="")
        external_id = serializers.CharField(required=False, allow_blank=True, default="", max_length=255)
        first_name = serializers.CharField(required=False, allow_blank=True, default="", max_length=150)
        last_name = serializers.CharField(required=False, allow_blank=True, default="", max_length=150)
        role = serializers.ChoiceField(choices=Role.choices, default=Role.MEMBER)
        access_policy = serializers.UUIDField(required=False, allow_null=True, default=None)
        access_parameters = serializers.DictField(
            child=serializers.CharField(allow_blank=True), required=False, default=dict
        )
        profile = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)
        send_email = serializers.BooleanField(default=True)
        upsert = serializers.BooleanField(default=False)

    class OutputSerializer(serializers.Serializer):
        outcome = serializers.ChoiceField(choices=["invited", "added", "updated"])
        membership_id = serializers.UUIDField(source="membership.id")
        user_id = serializers.UUIDField(source="membership.user_id")
        invitation = InvitationOutput(allow_null=True)

    @extend_schema(
        tags=["invitations"],
        operation_id="invites_list",
        parameters=[
            OpenApiParameter("status", str, enum=["pending", "accepted", "expired", "revoked"]),
            OpenApiParameter("q", str, description="Search by email or name"),
        ],
        responses={200: InvitationOutput(many=True), **PROJECT_API_ERRORS},
    )
    def get(self, request: Request, project_id) -> Response:
        invitations = selectors.invitation_list(
            project=self.project,
            status=request.query_params.get("status", ""),
            query=request.query_params.get("q", ""),
        )
        paginator = Pagination()
        page = paginator.paginate_queryset(invitations, request, view=self)
        return paginator.get_paginated_response(InvitationOutput(page, many=True).data)

    @extend_schema(
        tags=["invitations"],
        operation_id="invites_create",
        request=InputSerializer,
        responses={201: OutputSerializer, 200: OutputSerializer, **PROJECT_API_ERRORS},
        description="Invite one person. 201 when a membership was created; 200 when `upsert` updated an "
        "existing membership; 409 `already_member` for an existing member without `upsert`.",
    )
    def post(self, request: Request, project_id) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        policy = selectors.access_policy_from_input(project=self.project, policy_id=data.pop("access_policy"))
        result = invitation_create(
            project=self.project, actor=self.actor, data=InviteInput(**data, access_policy=policy)
        )
        code = status.HTTP_200_OK if result.outcome == "updated" else status.HTTP_201_CREATED
        return Response(self.OutputSerializer(result).data, status=code)


class InviteActionApi(ProjectAdminApi):
    action_name = "resend"

    @extend_schema(
        tags=["invitations"], request=None, responses={200: InvitationOutput, **PROJECT_API_ERRORS}
    )
    def post(self, request: Request, project_id, invitation_id) -> Response:
        invitation = selectors.invitation_get(project=self.project, invitation_id=invitation_id)
        service = invitation_resend if self.action_name == "resend" else invitation_revoke
        invitation = service(invitation=invitation, actor=self.actor)
        return Response(InvitationOutput(SecurityRequest.objects.get(pk=invitation.pk)).data)


class InviteResendApi(InviteActionApi):
    action_name = "resend"


class InviteRevokeApi(InviteActionApi):
    action_name = "revoke"


class BulkInviteOutput(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    total = serializers.IntegerField()
    processed = serializers.IntegerField()
    percent = serializers.IntegerField()
    summary = serializers.SerializerMethodField()
    invalid_rows = serializers.JSONField()
    results = serializers.JSONField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)

    def get_summary(self, job: BulkInvite) -> dict[str, int]:
        return bulk_invite_summary(job)


class BulkInviteCreateApi(ProjectAdminApi):
    class InputSerializer(serializers.Serializer):
        rows = serializers.ListField(
            child=serializers.DictField(),
            allow_empty=False,
            help_text="Objects with email, external_id, first_name, last_name, role, access_policy (name or id), "
            "parameters (object or 'a=1;b=2'), profile.",
        )
        send_email = serializers.BooleanField(default=True)

    @extend_schema(
        tags=["invitations"],
        request=InputSerializer,
        responses={202: BulkInviteOutput, 200: BulkInviteOutput, **PROJECT_API_ERRORS},
        description="Validate every row, then invite the valid rows in the background. 202 for a new job; "
        "200 with the existing job when the same rows were submitted before (idempotent).",
    )
    def post(self, request: Request, project_id) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        job, created = bulk_invite_start(
            project=self.project,
            actor=self.actor,
            rows=serializer.validated_data["rows"],
            source_name="api",
            send_email=serializer.validated_data["send_email"],
        )
        return Response(
            BulkInviteOutput(job).data, status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK
        )


class BulkInviteDetailApi(ProjectAdminApi):
    @extend_schema(tags=["invitations"], responses={200: BulkInviteOutput, **PROJECT_API_ERRORS})
    def get(self, request: Request, project_id, job_id) -> Response:
        return Response(BulkInviteOutput(selectors.bulk_invite_get(project=self.project, job_id=job_id)).data)


__all__ = [
    "BulkInviteCreateApi",
    "BulkInviteDetailApi",
    "InviteCreateApi",
    "InviteResendApi",
    "InviteRevokeApi",
]
