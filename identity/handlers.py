"""The WSGI application: the OAuth protocol endpoints get a short middleware stack.

/o/token/, /o/introspect/ and /o/revoke/ are called by programs, authenticate with a client's
credentials (header or body, never a cookie) and are CSRF-exempt. The browser middleware
(sessions, CSRF, authentication from the session, messages, allauth's, our session limits and MFA
enrolment, user-session records) does nothing useful there but costs time on the hottest paths, so
requests to exactly these paths run through settings.MIDDLEWARE without BROWSER_MIDDLEWARE; every
other path (the portal, /o/authorize/, /o/userinfo/, /o/logout/, the API) gets the whole stack.
Everything that answers for the response (SecurityMiddleware, CommonMiddleware, X-Frame-Options,
our security headers) runs on both. tests/oauth/test_hot_paths.py checks the choice and that the
answers carry the same headers.

The short handler also keeps the URL resolution of its three exact paths: Django's resolver walks
the URL patterns on every request (about a tenth of an introspection's CPU), and these paths always
resolve to the same view. `resolve_request` is BaseHandler's method; tests/oauth/test_library_seams.py
fails if Django changes what it does.
"""

from __future__ import annotations

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.urls import ResolverMatch, reverse

# The middleware that serves browsers only (cookies, sessions, signed-in users, pages).
BROWSER_MIDDLEWARE = frozenset(
    {
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "allauth.account.middleware.AccountMiddleware",
        "accounts.middleware.SessionTimeoutMiddleware",
        "accounts.middleware.MfaEnrolmentMiddleware",
        "allauth.usersessions.middleware.UserSessionsMiddleware",
        "whitenoise.middleware.WhiteNoiseMiddleware",  # /static/ only
    }
)
# The URL names of the endpoints that get the short stack.
PROTOCOL_ENDPOINTS = ("oauth:token", "oauth:introspect", "oauth:revoke")


class _ProtocolHandler(WSGIHandler):
    """Django's WSGI handler over settings.MIDDLEWARE minus BROWSER_MIDDLEWARE, remembering the
    resolution of each path it serves (only PROTOCOL_ENDPOINTS reach it)."""

    def __init__(self) -> None:
        super().__init__()
        self._resolved: dict[str, ResolverMatch] = {}

    def resolve_request(self, request):
        if hasattr(request, "urlconf"):  # a per-request URLconf: resolve as Django does
            return super().resolve_request(request)
        match = self._resolved.get(request.path_info)
        if match is None:
            match = self._resolved[request.path_info] = super().resolve_request(request)
        request.resolver_match = match
        return match

    def load_middleware(self, is_async=False):
        full = settings.MIDDLEWARE
        settings.MIDDLEWARE = [name for name in full if name not in BROWSER_MIDDLEWARE]
        try:  # at start-up, before any request: nothing else reads the setting meanwhile
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full


class Application:
    """Routes each request to the full handler or, for PROTOCOL_ENDPOINTS, the short one."""

    def __init__(self) -> None:
        self.full = WSGIHandler()
        self.protocol = _ProtocolHandler()
        self._paths: frozenset[str] | None = None

    def protocol_paths(self) -> frozenset[str]:
        if self._paths is None:
            self._paths = frozenset(reverse(name) for name in PROTOCOL_ENDPOINTS)
        return self._paths

    def __call__(self, environ, start_response):
        handler = self.protocol if environ.get("PATH_INFO", "") in self.protocol_paths() else self.full
        return handler(environ, start_response)
