"""The receiving URL, `/webhooks/in/<token>/` (routed by webhooks/urls.py): thin on purpose.

Senders are servers, not browsers: no session, no CSRF token (csrf_exempt), never cached. The
order of checks and the answers are webhooks/receiving.py's.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from audit.context import client_ip
from webhooks.receiving import body_read, inbound_answer


@csrf_exempt
@never_cache
def receive(request: HttpRequest, token: str) -> HttpResponse:
    answer = inbound_answer(
        token=token,
        method=request.method or "",
        headers={name.lower(): value for name, value in request.headers.items()},
        read_body=lambda: body_read(request.read, request.META.get("CONTENT_LENGTH")),
        remote_addr=client_ip(request),
    )
    return JsonResponse(answer.body, status=answer.status, headers=answer.headers)
