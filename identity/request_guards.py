"""Requests refused before any view reads them.

`RefuseNulBytesMiddleware`: a NUL character in the path or the query string (a name or a value). PostgreSQL
text cannot hold or compare it, so a search, filter or id carrying one reached the database and
was a 500 on every list page and API that filters (found by the hostile review, #12 item 6). It
is never meaningful in our URLs: 400, in the API's error envelope under /api/, else Django's 400
page. Form fields and JSON strings are refused by their fields already (Django's and DRF's
`ProhibitNullCharactersValidator`).
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse, JsonResponse

from identity.errors import ErrorCode, error_body

NUL = "\x00"


class RefuseNulBytesMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        bad = sorted(
            {name for name, values in request.GET.lists() if NUL in name or any(NUL in v for v in values)}
        )
        if NUL in request.path:  # e.g. /accounts/oidc/%00/login/ reached a provider lookup
            bad.append("path")
        if bad:
            message = "The address may not contain NUL characters."
            if request.path.startswith("/api/"):
                fields = {name.replace(NUL, "\\x00"): [message] for name in bad}
                return JsonResponse(
                    error_body(code=ErrorCode.VALIDATION_FAILED, message=message, fields=fields), status=400
                )
            raise SuspiciousOperation(message)
        return self.get_response(request)
