"""Response headers every page gets (docs/SECURITY.md, "Browser security headers").

- `Content-Security-Policy`: only our own scripts and styles, never inline ones (no
  'unsafe-inline', no nonces needed: every page, the API docs included, loads its scripts and
  styles from /static/); no framing (`frame-ancestors 'none'`, with Django's X-Frame-Options);
- `Permissions-Policy`: the powerful browser features the portal never uses are off, for us and for
  anything embedded; passkeys (WebAuthn) stay allowed for our own origin only;
- `Cross-Origin-Resource-Policy`: other sites cannot load our responses as images, scripts or
  frames (no-cors); CORS fetches (discovery, JWKS, the token endpoint) are not affected;
- `Referrer-Policy` (also Django's `SECURE_REFERRER_POLICY`); `Cross-Origin-Opener-Policy` comes
  from Django's SecurityMiddleware (`SECURE_CROSS_ORIGIN_OPENER_POLICY`).

A view that sets one of these headers itself keeps its own value (`setdefault`).
tests/identity/test_security_headers.py fetches every page and checks them; the browser test
tests/e2e/test_csp.py fails on any CSP violation.
"""

import base64
import hashlib
import html
import re
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' https: data:; style-src 'self'; "
    "script-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self' https: http:"
)

# Features a browser may grant a page; () = nobody, (self) = this origin only. Only features that
# current browsers recognise (an unknown name is reported in the console).
PERMISSIONS_POLICY = ", ".join(
    [
        "accelerometer=()",
        "autoplay=()",
        "camera=()",
        "display-capture=()",
        "encrypted-media=()",
        "fullscreen=()",
        "geolocation=()",
        "gyroscope=()",
        "hid=()",
        "idle-detection=()",
        "magnetometer=()",
        "microphone=()",
        "midi=()",
        "payment=()",
        "picture-in-picture=()",
        "publickey-credentials-create=(self)",
        "publickey-credentials-get=(self)",
        "screen-wake-lock=()",
        "serial=()",
        "usb=()",
        "xr-spatial-tracking=()",
    ]
)


_STYLE_ATTRIBUTE = re.compile(r"""\sstyle\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)
_STYLE_ELEMENT = re.compile(r"<style[^>]*>(.*?)</style\s*>", re.IGNORECASE | re.DOTALL)


def inline_style_sources(document: str) -> str:
    """CSP sources allowing exactly the inline styles of `document` (an email's HTML, whose
    styles must be inline): one 'sha256-…' per distinct style attribute and <style> element, with
    'unsafe-hashes' so the hashes also cover attributes. Never 'unsafe-inline'."""
    values = {html.unescape(a if a is not None else b) for a, b in _STYLE_ATTRIBUTE.findall(document)}
    hashes = sorted(
        "'sha256-" + base64.b64encode(hashlib.sha256(value.encode()).digest()).decode() + "'"
        for value in values | set(_STYLE_ELEMENT.findall(document))
    )
    return " ".join(["'unsafe-hashes'", *hashes]) if hashes else "'none'"


def security_headers() -> dict[str, str]:
    """The headers and their values under the current settings."""
    return {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "Permissions-Policy": getattr(settings, "PERMISSIONS_POLICY", PERMISSIONS_POLICY),
        "Cross-Origin-Resource-Policy": getattr(settings, "CROSS_ORIGIN_RESOURCE_POLICY", "same-origin"),
        "Referrer-Policy": getattr(settings, "SECURE_REFERRER_POLICY", None) or "same-origin",
    }


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        for name, value in security_headers().items():
            response.headers.setdefault(name, value)
        return response


def static_file_headers(headers, path: str, url: str) -> None:
    """WhiteNoise's hook (WHITENOISE_ADD_HEADERS_FUNCTION): static files answer before any
    middleware, so they get the same headers here."""
    for name, value in security_headers().items():
        headers.setdefault(name, value)
