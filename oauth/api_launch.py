"""REST API: EHR launch contexts (routed by oauth/api_urls.py; the logic: oauth/launch.py)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from identity.api import ProjectAdminApi, parse_input
from identity.api_schema import error_responses
from oauth.launch import LAUNCH_TTL_SECONDS, launch_context_create


class LaunchContextInput(serializers.Serializer):
    patient = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="FHIR Patient id."
    )
    encounter = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="FHIR Encounter id."
    )


class LaunchContextOutput(serializers.Serializer):
    launch = serializers.CharField(
        help_text="Opaque; give it to the app as `launch`. Shown once, single use."
    )
    expires_in = serializers.IntegerField()


class LaunchContextCreateApi(ProjectAdminApi):
    @extend_schema(
        tags=["smart"],
        operation_id="launch_contexts_create",
        summary="Register an EHR launch context (patient and/or encounter)",
        description=(
            "For the project's resource server (an admin client of the project with portal.write, "
            "or an admin): the returned `launch` is sent by the app to /o/authorize with the "
            "`launch` scope; the token response then carries `patient` / `encounter`. "
            f"Single use, valid for {LAUNCH_TTL_SECONDS} seconds."
        ),
        request=LaunchContextInput,
        responses={201: LaunchContextOutput, **error_responses(400, 401, 403, 404)},
    )
    def post(self, request: Request, project_id) -> Response:
        data = parse_input(LaunchContextInput, request.data)
        issued = launch_context_create(project=self.project, actor=self.actor, **data)
        return Response(
            LaunchContextOutput({"launch": issued.launch, "expires_in": LAUNCH_TTL_SECONDS}).data,
            status=status.HTTP_201_CREATED,
        )
