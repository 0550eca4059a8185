"""Session timeouts of the projects (idle and absolute), checked before the session is seen."""

from __future__ import annotations

import time

from allauth.usersessions.models import UserSession
from django.contrib.auth import logout
from django.http import HttpRequest

from accounts.services.sessions import session_expired, session_limits
from identity import flash
from identity.clock import clock

LIMITS_KEY = "_accounts_session_limits"
LIMITS_REFRESH_SECONDS = 300  # a changed project setting applies within 5 minutes


class SessionTimeoutMiddleware:
    """Signs the browser out when its session outlived the strictest idle or absolute limit of
    the user's projects. Runs before allauth's UserSessionsMiddleware updates `last_seen_at`;
    signing out goes through Django's logout, so the session's tokens are revoked as usual."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and request.session.session_key:
            idle, absolute = self._limits(request, user)
            if idle or absolute:
                record = UserSession.objects.filter(session_key=request.session.session_key).first()
                if record is not None and session_expired(
                    record=record, idle=idle, absolute=absolute, now=clock.now()
                ):
                    logout(request)
                    flash.flash(request, flash.SESSION_TIMED_OUT)
        return self.get_response(request)

    @staticmethod
    def _limits(request: HttpRequest, user) -> tuple[int | None, int | None]:
        cached = request.session.get(LIMITS_KEY)
        if cached and time.time() - cached[2] < LIMITS_REFRESH_SECONDS and cached[3] == str(user.pk):
            return cached[0], cached[1]
        idle, absolute = session_limits(user=user)
        request.session[LIMITS_KEY] = (idle, absolute, time.time(), str(user.pk))
        return idle, absolute


class MfaEnrolmentMiddleware:
    """While a project the user signed in to requires a second factor they have not set up
    (flagged at sign-in by accounts.receivers), every page but enrolment, sign-out and the
    endpoints that answer for themselves (/o/, /api/, webhooks) sends them to set one up.

    One session read per request; the flag goes when allauth reports an authenticator added.
    """

    EXEMPT_PREFIXES = (
        "/accounts/2fa/",
        "/account/two-factor/",
        "/accounts/logout/",
        "/accounts/reauthenticate/",
        "/o/",
        "/api/",
        "/webhooks/",
        "/static/",
        "/healthz",
        "/readyz",
        "/favicon.ico",
    )

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        from accounts.views_mfa import ENROLMENT_REQUIRED_KEY

        session = getattr(request, "session", None)
        if (
            session is not None
            and session.get(ENROLMENT_REQUIRED_KEY)
            and request.user.is_authenticated
            and request.method in ("GET", "HEAD")
            and not request.path.startswith(self.EXEMPT_PREFIXES)
        ):
            from django.shortcuts import redirect

            return redirect("mfa_enrolment_required")
        return self.get_response(request)
