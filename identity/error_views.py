"""Site-wide 404/500 handlers: the API answers in its JSON envelope, pages in HTML."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

from identity.errors import ErrorCode, error_body


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def not_found(request: HttpRequest, exception=None) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(error_body(code=ErrorCode.NOT_FOUND, message="Not found."), status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(
            error_body(code=ErrorCode.SERVER_ERROR, message="Something went wrong on our side."), status=500
        )
    return defaults.server_error(request)
