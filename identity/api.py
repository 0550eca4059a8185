"""REST API plumbing shared by every app: the error envelope and pagination.

Every error response has the shape::

    {"error": {"code": "validation_failed", "message": "…", "fields": {"role": ["…"]}}}

`code` is stable and machine-readable; `fields` maps input field names to messages.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from identity.errors import ApplicationError, ErrorCode, error_body

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


def _flatten(detail) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {
            str(key): [str(item) for item in (value if isinstance(value, list) else [value])]
            if not isinstance(value, dict)
            else [str(v) for v in _flatten(value).values()]
            for key, value in detail.items()
        }
    if isinstance(detail, list):
        return {"non_field_errors": [str(item) for item in detail]}
    return {"non_field_errors": [str(detail)]}


def exception_handler(exc, context):
    if isinstance(exc, ApplicationError):
        return Response(error_body(code=exc.code, message=exc.message, fields=exc.fields), status=exc.status)
    if isinstance(exc, DjangoValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
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
            code=ErrorCode.VALIDATION_FAILED, message="The input is not valid.", fields=_flatten(exc.detail)
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
