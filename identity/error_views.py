"""Site-wide 404/500 handlers: the API answers in its JSON envelope, pages in HTML.

An unhandled exception because Redis is unreachable (restarting, failing over) is answered
`503 Service Unavailable` with `Retry-After` instead of a 500: Redis holds what every node must
agree on (rate limits, lockout counters, replay caches), so a request that needs it cannot be
answered correctly and must not guess (failing open would switch brute-force protection off),
but it is no bug either; the client or the load balancer tries again a moment later.
"""

from __future__ import annotations

import sys

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

from identity.errors import ErrorCode, error_body

RETRY_AFTER_SECONDS = 2
UNAVAILABLE_MESSAGE = "A service this request needs is briefly unavailable. Try again in a moment."


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def not_found(request: HttpRequest, exception=None) -> HttpResponse:
    if _is_api(request):
        return api_not_found(request)
    return defaults.page_not_found(request, exception)


def api_not_found(request: HttpRequest, *args, **kwargs) -> HttpResponse:
    """The API's 404: its JSON error envelope, code `not_found`."""
    return JsonResponse(error_body(code=ErrorCode.NOT_FOUND, message="Not found."), status=404)


class NotFoundMiddleware:
    """A view's Http404 is answered with the product's own page (the API: its JSON envelope),
    with DEBUG on too: Django's debug 404 page is for a URL that matches nothing, not for a
    deactivated member or a project that is not yours. A 404 under /api/ is always JSON."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code == 404
            and _is_api(request)
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            return api_not_found(request)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, Http404):
            return not_found(request, exception)
        return None


def _outage_exceptions() -> tuple[type[BaseException], ...]:
    import redis.exceptions

    return (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


def server_error(request: HttpRequest) -> HttpResponse:
    # Django calls the handler while handling the exception: sys.exc_info() is the one raised.
    if isinstance(sys.exc_info()[1], _outage_exceptions()):
        return service_unavailable(request)
    if _is_api(request):
        return JsonResponse(
            error_body(code=ErrorCode.SERVER_ERROR, message="Something went wrong on our side."), status=500
        )
    return defaults.server_error(request)


def service_unavailable(request: HttpRequest) -> HttpResponse:
    response: HttpResponse
    if request.path.startswith(("/api/", "/o/")):
        response = JsonResponse(
            error_body(code=ErrorCode.SERVICE_UNAVAILABLE, message=UNAVAILABLE_MESSAGE), status=503
        )
    else:
        response = HttpResponse(
            '<!doctype html><html lang="en"><title>Try again</title><h1>Try again in a moment</h1>'
            f"<p>{UNAVAILABLE_MESSAGE}</p></html>",
            status=503,
        )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response
