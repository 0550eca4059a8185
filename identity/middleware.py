"""Response headers every page gets (clickjacking and referrer leaks, RFC 9700 §4.16, §4.2.4)."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # X-Frame-Options comes from Django; CSP frame-ancestors is the modern equivalent.
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' https: data:; style-src 'self'; "
            "script-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self' https: http:",
        )
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response
