"""REST API plumbing shared by every app: the error envelope, pagination, input parsing and
the base of the project-scoped APIs.

Every error response has the shape::

    {"error": {"code": "validation_failed", "message": "…", "fields": {"role": ["…"]}}}

`code` is stable and machine-readable; `fields` maps input field names to messages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.module_loading import import_string
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from identity.errors import ApplicationError, ErrorCode, error_body, error_fields
from identity.portal import ACTOR_CLASS

if TYPE_CHECKING:
    from accounts.models import Membership, Project
    from audit.context import Actor

# The tenancy app's gate for API callers (sessions, user tokens bound to their client's project,
# automation clients); named by dotted path so identity imports no app at import time.
API_PROJECT_GATE = "accounts.api_helpers.project_get_for_admin_request"

_CODE_BY_EXCEPTION = {
    exceptions.NotAuthenticated: (
        ErrorCode.NOT_AUTHENTICATED,
        "Authentication credentials were not provided.",
    ),
    exceptions.AuthenticationFailed: (ErrorCode.NOT_AUTHENTICATED, "Authentication failed."),
    exceptions.PermissionDenied: (ErrorCode.PERMISSION_DENIED, "You do not have permission to do this."),
    exceptions.NotFound: (ErrorCode.NOT_FOUND, "Not found."),
    exceptions.MethodNotAllowed: (ErrorCode.METHOD_NOT_ALLOWED, "Method not allowed."),
    exceptions.Throttled: (ErrorCode.THROTTLED, "Too many requests."),
}


def exception_handler(exc, context):
    if isinstance(exc, ApplicationError):
        return Response(error_body(code=exc.code, message=exc.message, fields=exc.fields), status=exc.status)
    if isinstance(exc, DjangoValidationError):
        fields = error_fields(exc)
        return Response(
            error_body(code=ErrorCode.VALIDATION_FAILED, message="The input is not valid.", fields=fields),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = error_body(
            code=ErrorCode.VALIDATION_FAILED,
            message="The input is not valid.",
            fields=error_fields(exc.detail),
        )
        return response
    code, message = ErrorCode.SERVER_ERROR, str(getattr(exc, "detail", "Error"))
    for klass, (known_code, default_message) in _CODE_BY_EXCEPTION.items():
        if isinstance(exc, klass):
            code = known_code
            message = str(exc.detail) if getattr(exc, "detail", None) else default_message
            break
    response.data = error_body(code=code, message=message)
    return response


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


def parse_input(serializer_class: type[serializers.Serializer], data, *, partial: bool = False) -> dict:
    """Validate `data`; a 400 `validation_failed` with dotted `fields` when it is not valid."""
    serializer = serializer_class(data=data, partial=partial)
    if not serializer.is_valid():
        raise ApplicationError("The input is not valid.", fields=error_fields(serializer.errors))
    return dict(serializer.validated_data)


def paginated_response(view: APIView, queryset, serializer_class: type[serializers.Serializer]) -> Response:
    """One page of `queryset` in the pagination envelope (`count`, `next`, `previous`, `results`)."""
    paginator = (getattr(view, "pagination_class", None) or Pagination)()
    page = paginator.paginate_queryset(queryset, view.request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)


class ProjectAdminApi(APIView):
    # Base of the project-scoped APIs: `self.project` for an active owner/admin of `project_id`.
    # Not a member (or another tenant, or a bearer token of another project's client): 404.
    # A member without an admin role: 403 `permission_denied`.
    # (Comments, not a docstring: drf-spectacular would copy a docstring into every operation.)

    # Every list of a project is paginated (`paginated_response`); drf-spectacular documents a
    # `many=True` 200 as the pagination envelope only when the view names its paginator.
    pagination_class = Pagination

    # Set by initial() before any handler runs.
    project: Project
    my_membership: Membership

    def initial(self, request: Request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)  # authentication and permissions first (401 before 404)
        self.project, self.my_membership = import_string(API_PROJECT_GATE)(
            request=request, project_id=kwargs["project_id"]
        )

    @property
    def actor(self) -> Actor:
        return import_string(ACTOR_CLASS).from_request(self.request)
