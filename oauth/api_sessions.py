"""REST API: the caller's own browser sessions (GET /api/v1/me/sessions/, DELETE …/{session_id}/)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.services.sessions import session_end
from audit.context import Actor
from identity.api_schema import error_responses
from oauth.views_sessions import session_by_sid, sessions_for


class SessionOutput(serializers.Serializer):
    id = serializers.CharField(help_text="The session's id (its OIDC `sid`).")
    user_agent = serializers.CharField(source="record.user_agent")
    ip = serializers.CharField(source="record.ip")
    created_at = serializers.DateTimeField(source="record.created_at")
    last_seen_at = serializers.DateTimeField(source="record.last_seen_at")
    current = serializers.BooleanField(help_text="The session this request was made in.")
    clients = serializers.ListField(child=serializers.CharField(), help_text="Apps that got tokens in it.")


class _MeApi(APIView):
    def initial(self, request: Request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        # A client-credentials token has no user (hence no sessions); the portal permission
        # may have let it in for its client's role.
        if not (request.user and request.user.is_authenticated):
            raise PermissionDenied("Only a signed-in user (or a user's token) has sessions.")


class MySessionsApi(_MeApi):
    @extend_schema(
        tags=["me"],
        operation_id="me_sessions_list",
        summary="Your browser sessions",
        responses={200: SessionOutput(many=True), **error_responses(401, 403)},
    )
    def get(self, request: Request) -> Response:
        return Response(SessionOutput(sessions_for(request._request), many=True).data)


class MySessionApi(_MeApi):
    @extend_schema(
        tags=["me"],
        operation_id="me_sessions_destroy",
        summary="End one of your sessions (its tokens are revoked, its apps told)",
        responses={204: None, **error_responses(401, 403, 404)},
    )
    def delete(self, request: Request, session_id: str) -> Response:
        record = session_by_sid(request._request, session_id)
        session_end(user_session=record, actor=Actor.from_request(request), reason="ended")
        return Response(status=status.HTTP_204_NO_CONTENT)
